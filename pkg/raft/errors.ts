/**
 * Expected failures of the raft API, returned as values. Exceptions from pkg/raft mean a broken
 * invariant (a bug or corrupted storage), never a condition the caller should handle.
 */
export type RaftErrorReason =
  /** No leader, leadership transfer in progress, uncommitted-size cap hit, or this leader was removed. */
  | 'proposal-dropped'
  /** Read request could not be routed (no leader known). */
  | 'read-dropped'
  /** The conf change is not valid against the current configuration, or one is already pending. */
  | 'invalid-conf-change'
  /** A response from a node that is not in the configuration. */
  | 'peer-not-found'
  /** step() was given a kind that only the node itself produces. */
  | 'step-local-msg';

export type StepResult = { readonly ok: true } | { readonly ok: false; readonly reason: RaftErrorReason; readonly detail: string };

export const OK: StepResult = { ok: true };

export function fail(reason: RaftErrorReason, detail: string): StepResult {
  return { ok: false, reason, detail };
}
