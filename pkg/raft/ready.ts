/** What the caller must do after driving a RawNode: persist, send, apply; then call advance(). */
import type { Message } from './message.js';
import type { ReadState } from './read-only.js';
import type { SoftState } from './status.js';
import type { Entry, HardState, Snapshot } from './types.js';

export interface Ready {
  /** Leader/role, only when changed since the previous Ready (not persisted). */
  readonly softState: SoftState | undefined;
  /** Persist before sending messagesAfterPersist; only when changed since the previous Ready. */
  readonly hardState: HardState | undefined;
  /** Append to storage (replacing any conflicting suffix) before sending messagesAfterPersist. */
  readonly entries: readonly Entry[];
  /** Install (storage + state machine) before applying anything else. */
  readonly snapshot: Snapshot | undefined;
  /** Apply in order, after persisting this Ready's entries; conf-change entries via applyConfChange(). */
  readonly committedEntries: readonly Entry[];
  /**
   * May be sent at once, even before this Ready is persisted (e.g. the leader's appends, vote requests).
   * Never before the previous Ready was persisted, which the one-outstanding-Ready rule guarantees: a
   * node therefore acts as leader only in a term whose hard state is already durable.
   */
  readonly messages: readonly Message[];
  /** Must be sent only after this Ready's entries, hard state and snapshot are durable. */
  readonly messagesAfterPersist: readonly Message[];
  /** Linearizable reads whose index is now known; serve each once applied >= index. */
  readonly readStates: readonly ReadState[];
  /** Whether entries/term/vote changed, so the write must be fsynced (commit-only changes need not). */
  readonly mustSync: boolean;
}
