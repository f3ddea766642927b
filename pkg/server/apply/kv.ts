/**
 * Apply handlers of the KV commands. Each prepares the MVCC write (validation included: a request
 * that fails does so identically on every member) and publishes its watch events once durable.
 */
import type { MvccError, MvccStore, Event } from '../../storage/mvcc/index.js';
import { deleteRangeFromPb, putFromPb, txnFromPb } from '../convert.js';
import { mvccError } from '../errors.js';
import type { CommandEffect, CommandHandler } from './applier.js';
import { countTxn, type OpCounter } from './op-counts.js';

export type EventSink = (events: readonly Event[], revision: bigint) => void;

function failed(e: MvccError): CommandEffect {
  return { outcome: { ok: false, error: mvccError(e) } };
}

function prepared<R>(p: { response: R; events: readonly Event[]; revision: bigint }, sink: EventSink): Omit<CommandEffect, 'mvcc'> {
  return {
    outcome: { ok: true, value: p.response },
    after: () => {
      if (p.events.length > 0) sink(p.events, p.revision);
    },
  };
}

/** `count` (optional) is told the storage calls of each applied write (etcd_mvcc_*_total, see op-counts.ts). */
export function kvHandlers(mvcc: MvccStore, sink: EventSink, count?: OpCounter): {
  put: CommandHandler;
  deleteRange: CommandHandler;
  txn: CommandHandler;
  compaction: CommandHandler;
} {
  return {
    put: async (cmd) => {
      if (cmd.request?.$case !== 'put') throw new Error('apply: put handler got another command');
      const r = await mvcc.preparePut(putFromPb(cmd.request.value));
      if (!r.ok) return failed(r.error);
      count?.(0, 1, 0);
      return { ...prepared(r.value, sink), mvcc: r.value };
    },
    deleteRange: async (cmd) => {
      if (cmd.request?.$case !== 'deleteRange') throw new Error('apply: deleteRange handler got another command');
      const r = await mvcc.prepareDeleteRange(deleteRangeFromPb(cmd.request.value));
      if (!r.ok) return failed(r.error);
      count?.(0, 0, 1);
      return { ...prepared(r.value, sink), mvcc: r.value };
    },
    txn: async (cmd) => {
      if (cmd.request?.$case !== 'txn') throw new Error('apply: txn handler got another command');
      const t = txnFromPb(cmd.request.value);
      // The proposer validated the enums already; a mismatch here means a proposer bug.
      if (!t.ok) return { outcome: { ok: false, error: { kind: 'internal', detail: t.reason } } };
      const r = await mvcc.prepareTxn(t.value);
      if (!r.ok) return failed(r.error);
      if (count !== undefined) countTxn(t.value, r.value.response, count);
      return { ...prepared(r.value, sink), mvcc: r.value };
    },
    compaction: async (cmd) => {
      if (cmd.request?.$case !== 'compaction') throw new Error('apply: compaction handler got another command');
      const r = await mvcc.prepareCompact({ revision: cmd.request.value.revision, physical: cmd.request.value.physical });
      return r.ok ? { outcome: { ok: true, value: r.value.response }, mvcc: r.value } : failed(r.error);
    },
  };
}
