/**
 * Publishing a member's attributes (etcd's publish): once a leader is known, the member proposes a
 * memberAttributesSet command with its name and advertised client URLs, retrying until it is applied
 * or the member stops. The apply handler updates the member record in the entry's batch.
 */
import { berthError } from '../../errors/index.js';
import type { MemberStore } from '../../membership/members.js';
import type { CommandHandler } from '../apply/applier.js';
import type { MemberContext } from '../context.js';
import { componentLogger } from '../../log/index.js';

/** Applies memberAttributesSet: updates name and client URLs of a known member; unknown IDs are ignored. */
export function memberAttributesHandler(members: MemberStore): CommandHandler {
  return async (cmd) => {
    if (cmd.request?.$case !== 'memberAttributesSet') return { outcome: { ok: false, error: berthError('internal', 'not memberAttributesSet') } };
    const a = cmd.request.value;
    const m = members.get(a.memberId);
    if (m === undefined) return { outcome: { ok: true, value: undefined } };
    const op = members.upsert({ ...m, name: a.name, clientUrls: [...a.clientUrls] });
    return { outcome: { ok: true, value: undefined }, ops: [op] };
  };
}

/** Starts publishing in the background; stops retrying at shutdown. */
export function publishAttributes(ctx: MemberContext): void {
  const name = ctx.config.name;
  const clientUrls = ctx.config.advertiseClientUrls.map((u) => u.url);
  let done = false;
  let running = false;
  let timer: NodeJS.Timeout | undefined;
  const log = componentLogger(ctx.logger, 'publish');
  const published = (): boolean => {
    const m = ctx.members.get(ctx.memberId);
    return m !== undefined && m.name === name && m.clientUrls.length === clientUrls.length && m.clientUrls.every((u, i) => u === clientUrls[i]);
  };
  const attempt = (): void => {
    if (done || running || ctx.leader() === 0n) return;
    running = true;
    void ctx
      .propose({ $case: 'memberAttributesSet', value: { memberId: ctx.memberId, name, clientUrls } })
      .then((o) => {
        running = false;
        if (done) return;
        if (o.ok) {
          done = true;
          log.info({ name, clientUrls }, 'published local member to cluster');
          return;
        }
        log.warn({ error: o.error.kind }, 'failed to publish local member; retrying');
        timer = setTimeout(attempt, ctx.config.electionTimeoutMs);
      });
  };
  // Deferred: leader changes are reported from inside the raft node's Ready handling.
  ctx.onLeaderChange((leader) => {
    if (leader !== 0n && !published()) setImmediate(attempt);
  });
  ctx.onStop(() => {
    done = true;
    if (timer !== undefined) clearTimeout(timer);
  });
}
