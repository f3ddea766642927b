/**
 * Apply handlers of the lease commands. Each asks the lessor to prepare its change (validation
 * included, so a refused command fails identically on every member); the applier writes the ops —
 * and for a revoke the MVCC deletion of the attached keys — in the entry's batch with the applied
 * index, then `after` updates the lessor's memory and publishes the DELETE events.
 */
import { deleteKeysTxn, type Lessor } from '../../lease/index.js';
import type { MvccStore } from '../../storage/mvcc/index.js';
import type { Logger } from '../../log/index.js';
import { berthError } from '../../errors/index.js';
import { mvccError } from '../errors.js';
import type { CommandEffect, CommandHandler } from './applier.js';
import type { EventSink } from './kv.js';
import { leaseError } from './lease-errors.js';

/** Apply result of LeaseGrant. */
export interface GrantResult {
  readonly id: bigint;
  readonly ttl: bigint;
  readonly revision: bigint;
}

/** Apply result of LeaseRevoke and LeaseCheckpoint: the store revision after the command. */
export interface RevisionResult {
  readonly revision: bigint;
}

export interface LeaseHandlerDeps {
  readonly lessor: Lessor;
  readonly mvcc: MvccStore;
  readonly sink: EventSink;
  readonly maxTxnOps: number;
  readonly logger: Logger;
  /** A grant was applied with this TTL (etcd_debugging_lease_granted_total, etcd_debugging_lease_ttl_total). */
  readonly onGranted?: (ttl: bigint) => void;
  /** A revoke was applied, deleting `keys` attached keys (etcd_debugging_lease_revoked_total, etcd_mvcc_delete_total). */
  readonly onRevoked?: (keys: number) => void;
}

function failed(e: Parameters<typeof leaseError>[0]): CommandEffect {
  return { outcome: { ok: false, error: leaseError(e) } };
}

export function leaseHandlers(d: LeaseHandlerDeps): {
  leaseGrant: CommandHandler;
  leaseRevoke: CommandHandler;
  leaseCheckpoint: CommandHandler;
} {
  return {
    leaseGrant: async (cmd) => {
      if (cmd.request?.$case !== 'leaseGrant') throw new Error('apply: leaseGrant handler got another command');
      const g = d.lessor.prepareGrant(cmd.request.value.ID, cmd.request.value.TTL);
      if (!g.ok) return failed(g.error);
      const value: GrantResult = { id: g.value.id, ttl: g.value.ttl, revision: d.mvcc.currentRevision };
      const commit = g.value.commit;
      const after = d.onGranted === undefined ? commit : (): void => {
        commit();
        d.onGranted?.(value.ttl);
      };
      return { outcome: { ok: true, value }, ops: g.value.ops, after };
    },

    leaseRevoke: async (cmd, ctx) => {
      if (cmd.request?.$case !== 'leaseRevoke') throw new Error('apply: leaseRevoke handler got another command');
      const r = d.lessor.prepareRevoke(cmd.request.value.ID);
      if (!r.ok) return failed(r.error);
      const { keys, ops, commit } = r.value;
      if (keys.length === 0) {
        const value: RevisionResult = { revision: d.mvcc.currentRevision };
        const after = (): void => {
          commit();
          d.onRevoked?.(0);
        };
        return { outcome: { ok: true, value }, ops, after };
      }
      const t = await d.mvcc.prepareTxn(deleteKeysTxn(keys, d.maxTxnOps));
      if (!t.ok) {
        // Deterministic on every member; the lease stays so nothing is half-revoked.
        d.logger.error({ index: ctx.index, lease: cmd.request.value.ID.toString(16), keys: keys.length, error: t.error.kind }, 'lease revoke failed');
        return { outcome: { ok: false, error: t.error.kind === 'too-many-ops' ? berthError('internal', 'lease has too many keys for --max-txn-ops') : mvccError(t.error) } };
      }
      const p = t.value;
      const value: RevisionResult = { revision: p.revision };
      return {
        outcome: { ok: true, value },
        mvcc: p,
        ops,
        after: () => {
          commit();
          d.onRevoked?.(keys.length);
          if (p.events.length > 0) d.sink(p.events, p.revision);
        },
      };
    },

    leaseCheckpoint: async (cmd) => {
      if (cmd.request?.$case !== 'leaseCheckpoint') throw new Error('apply: leaseCheckpoint handler got another command');
      const c = d.lessor.prepareCheckpoint(
        cmd.request.value.checkpoints.map((cp) => ({ id: cp.ID, remainingTtl: cp.remainingTTL })),
      );
      const value: RevisionResult = { revision: d.mvcc.currentRevision };
      return { outcome: { ok: true, value }, ops: c.ops, after: c.commit };
    },
  };
}
