/**
 * etcd's membership rules, as pure functions over the applied member records.
 *
 * - validateChange: whether a change fits the records (etcd's ValidateConfigurationChange). Checked
 *   on the proposing member before proposing and again, authoritatively, when the entry is applied.
 * - the strict-reconfig quorum rules (etcd's IsReadyToAdd/Remove/PromoteVotingMember), where a
 *   member counts as "started" once it has published its name.
 */
import type { ErrorKind } from '../errors/index.js';
import type { Member, MemberStore } from './members.js';

/** etcd's default --experimental-max-learners. */
export const MAX_LEARNERS = 1;

/** A learner is ready to be promoted when its match index is at least this fraction of the leader's. */
export const LEARNER_READY_PERCENT = 0.9;

export type MemberChange =
  | { readonly kind: 'add'; readonly member: Member }
  | { readonly kind: 'remove'; readonly id: bigint }
  | { readonly kind: 'update'; readonly id: bigint; readonly peerUrls: readonly string[] }
  | { readonly kind: 'promote'; readonly id: bigint };

export function changeId(c: MemberChange): bigint {
  return c.kind === 'add' ? c.member.id : c.id;
}

type StoreView = Pick<MemberStore, 'list' | 'get' | 'isRemoved'>;

/** The error kind etcd answers for a change that does not fit the records, or undefined. */
export function validateChange(store: StoreView, c: MemberChange): ErrorKind | undefined {
  const id = changeId(c);
  // etcd maps both "ID removed" and "ID not found" to "member not found" on the gRPC API.
  if (store.isRemoved(id)) return 'memberNotFound';
  const existing = store.get(id);
  switch (c.kind) {
    case 'add': {
      if (existing !== undefined) return 'memberExists';
      const taken = new Set(store.list().flatMap((m) => m.peerUrls));
      if (c.member.peerUrls.some((u) => taken.has(u))) return 'peerUrlExists';
      if (c.member.isLearner && store.list().filter((m) => m.isLearner).length + 1 > MAX_LEARNERS) return 'tooManyLearners';
      return undefined;
    }
    case 'remove':
      return existing === undefined ? 'memberNotFound' : undefined;
    case 'update': {
      if (existing === undefined) return 'memberNotFound';
      const taken = new Set(store.list().filter((m) => m.id !== id).flatMap((m) => m.peerUrls));
      return c.peerUrls.some((u) => taken.has(u)) ? 'peerUrlExists' : undefined;
    }
    case 'promote':
      if (existing === undefined) return 'memberNotFound';
      return existing.isLearner ? undefined : 'memberNotLearner';
  }
}

/** The member records after an accepted change (what the apply batch persists). */
export function appliedRecord(store: StoreView, c: MemberChange): Member | undefined {
  switch (c.kind) {
    case 'add':
      return c.member;
    case 'remove':
      return undefined;
    case 'update': {
      const m = store.get(c.id);
      return m === undefined ? undefined : { ...m, peerUrls: [...c.peerUrls] };
    }
    case 'promote': {
      const m = store.get(c.id);
      return m === undefined ? undefined : { ...m, isLearner: false };
    }
  }
}

const isStarted = (m: Member): boolean => m.name !== '';
const voters = (store: StoreView): Member[] => store.list().filter((m) => !m.isLearner);

/** Adding a voter keeps a quorum of started voters (the 1 → 2 restore case is allowed, as in etcd). */
export function readyToAddVoter(store: StoreView): boolean {
  const v = voters(store);
  const members = v.length + 1;
  const started = v.filter(isStarted).length;
  if (started === 1 && members === 2) return true;
  return started >= Math.floor(members / 2) + 1;
}

/** Removing voter `id` leaves a quorum of started voters among the rest. */
export function readyToRemoveVoter(store: StoreView, id: bigint): boolean {
  const rest = voters(store).filter((m) => m.id !== id);
  return rest.filter(isStarted).length >= Math.floor(rest.length / 2) + 1;
}

/** Promoting a learner (counted as started) keeps a quorum of started voters. */
export function readyToPromote(store: StoreView): boolean {
  const v = voters(store);
  return v.filter(isStarted).length + 1 >= Math.floor((v.length + 1) / 2) + 1;
}

/** Whether a learner whose match index is `learnerMatch` has caught up with the leader's `leaderMatch`. */
export function learnerInSync(learnerMatch: number, leaderMatch: number): boolean {
  return learnerMatch >= leaderMatch * LEARNER_READY_PERCENT;
}

/** etcd's URL rule for member peer URLs: http(s)://host:port with no path, query or fragment. */
export function validPeerUrls(urls: readonly string[]): boolean {
  if (urls.length === 0) return false;
  return urls.every((raw) => {
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      return false;
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:' && u.protocol !== 'unix:' && u.protocol !== 'unixs:') return false;
    if (u.protocol.startsWith('http') && (u.port === '' || !/:\d+$/.test(u.host))) return false;
    return (u.pathname === '' || u.pathname === '/') && u.search === '' && u.hash === '';
  });
}
