/**
 * Joining a running cluster (--initial-cluster-state existing): ask the other members listed in
 * --initial-cluster for the cluster ID and member list over the peer port (etcd asks GET
 * <peer>/members), check that --initial-cluster names exactly the members the cluster has (etcd's
 * ValidateClusterAndAssignIDs: same count, each member's peer URLs match one remote member), and take
 * this member's ID from the remote record with our peer URLs (it was created by MemberAdd).
 * https peer URLs are dialled with the member's peer TLS material (`credentials`); when no member
 * answers in time the error names the last failure (e.g. a certificate the peer refused).
 */
import type { Config } from '../../config/index.js';
import type { Member } from '../../membership/members.js';
import { fetchMembers, type PeerCredentials } from './peer-service.js';

export type JoinInfo = { ok: true; clusterId: bigint; memberId: bigint; members: Member[] } | { ok: false; message: string };

/** An error text on one line (grpc-js details may span several). */
const oneLine = (s: string): string => s.replace(/\s*\n\s*/g, ' ').trim();

const sameUrls = (a: readonly string[], b: readonly string[]): boolean => {
  const x = [...a].sort();
  const y = [...b].sort();
  return x.length === y.length && x.every((u, i) => u === y[i]);
};

/** Tries every other member's peer URLs in rounds until one answers or `timeoutMs` passes. */
export async function discoverCluster(
  cfg: Pick<Config, 'name' | 'initialCluster'>,
  opts: { timeoutMs: number; retryMs: number; credentials?: PeerCredentials },
): Promise<JoinInfo> {
  const own = new Set(cfg.initialCluster.find((m) => m.name === cfg.name)?.peerUrls ?? []);
  const urls = cfg.initialCluster.flatMap((m) => m.peerUrls).filter((u) => !own.has(u));
  if (urls.length === 0) return { ok: false, message: 'cannot join an existing cluster: --initial-cluster lists no other member' };
  const deadline = Date.now() + opts.timeoutMs;
  let remote: { clusterId: bigint; members: Member[] } | undefined;
  let lastError = '';
  while (remote === undefined) {
    for (const u of urls) {
      const r = await fetchMembers(u, Math.min(2000, Math.max(1, deadline - Date.now())), opts.credentials);
      if (r.ok) {
        remote = r;
        break;
      }
      // A call cut short by the overall deadline says less than the failure before it (e.g. TLS).
      if (lastError === '' || !r.error.startsWith('Deadline exceeded')) lastError = `${u}: ${r.error}`;
    }
    if (remote !== undefined) break;
    if (Date.now() >= deadline) {
      const why = oneLine(lastError);
      return { ok: false, message: `cannot fetch cluster info from peer urls: could not retrieve cluster information from the given URLs (${urls.join(',')})${why === '' ? '' : `; last error: ${why}`}` };
    }
    await new Promise((r) => setTimeout(r, opts.retryMs));
  }
  const local = cfg.initialCluster;
  if (local.length !== remote.members.length) {
    return { ok: false, message: `error validating peerURLs: member count is unequal (--initial-cluster has ${local.length}, the cluster has ${remote.members.length})` };
  }
  let self: Member | undefined;
  for (const l of local) {
    const match = remote.members.find((r) => sameUrls(r.peerUrls, l.peerUrls));
    if (match === undefined) return { ok: false, message: `error validating peerURLs: unmatched member while checking PeerURLs (${l.name}=${l.peerUrls.join(',')})` };
    if (l.name === cfg.name) self = match;
  }
  if (self === undefined) return { ok: false, message: `--initial-cluster has no member named ${JSON.stringify(cfg.name)}` };
  return { ok: true, clusterId: remote.clusterId, memberId: self.id, members: remote.members };
}
