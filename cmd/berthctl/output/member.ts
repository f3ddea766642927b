/** etcdctl's renderings of cluster members: Go's encoding/json of etcdserverpb.Member (omitempty). */
import type { Member } from '../../../pkg/proto/gen/etcdserverpb/rpc.js';
import type { JsonValue } from './json.js';

export function jsonMember(m: Member): JsonValue {
  return {
    ID: m.ID === 0n ? undefined : m.ID,
    name: m.name === '' ? undefined : m.name,
    peerURLs: m.peerURLs.length === 0 ? undefined : m.peerURLs,
    clientURLs: m.clientURLs.length === 0 ? undefined : m.clientURLs,
    isLearner: m.isLearner ? true : undefined,
  };
}

export function jsonMembers(ms: readonly Member[]): JsonValue | undefined {
  return ms.length === 0 ? undefined : ms.map(jsonMember);
}
