/**
 * Turns a client request into a replicated command and waits for its apply result.
 * Fails fast with etcd's errors: 'requestTooLarge' above --max-request-bytes, 'noLeader' when raft
 * drops the proposal, 'timeout' when the command is not applied within the request timeout,
 * 'stopped' at shutdown.
 */
import { Command, type RequestHeader } from '../proto/gen/berthpb/command.js';
import { encodeMessage } from '../proto/encode.js';
import { berthError } from '../errors/index.js';
import type { IdGenerator } from './ids.js';
import type { RaftNode } from './raft-node.js';
import type { Outcome, WaitRegistry } from './wait.js';
import { proposalError } from './errors.js';

export type CommandRequest = NonNullable<Command['request']>;

export interface ProposerOptions {
  readonly node: RaftNode;
  readonly waits: WaitRegistry;
  readonly ids: IdGenerator;
  readonly maxRequestBytes: number;
  readonly timeoutMs: number;
  /** Pending proposals above which new ones fail with 'tooManyRequests' (etcd: 5000 unapplied). */
  readonly maxPending: number;
}

export class Proposer {
  readonly #o: ProposerOptions;

  constructor(opts: ProposerOptions) {
    this.#o = opts;
  }

  async propose<T>(request: CommandRequest, header?: RequestHeader): Promise<Outcome<T>> {
    const o = this.#o;
    if (o.waits.size >= o.maxPending) return { ok: false, error: berthError('tooManyRequests') };
    const id = o.ids.next();
    const data = encodeMessage(Command, { id, header, request });
    if (data.byteLength > o.maxRequestBytes) return { ok: false, error: berthError('requestTooLarge') };
    const result = o.waits.register<T>(id, o.timeoutMs);
    const r = o.node.propose(data);
    if (!r.ok) o.waits.trigger(id, { ok: false, error: proposalError(r) });
    return result;
  }
}
