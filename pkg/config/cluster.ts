/**
 * The `--initial-cluster` rules etcd applies at bootstrap: the default follows `--name`, and the
 * member list must contain this member, list no URL twice and, for a new cluster, agree with the
 * advertised peer URLs.
 */
import { flagSpec } from './flags.js';
import type { Settings } from './settings.js';
import { invalidValue, type ConfigError } from './source.js';
import { formatInitialCluster, parseInitialCluster, type ClusterMember, type EndpointUrl } from './urls.js';

const DEFAULT_NAME = 'default';

/**
 * etcd's rule: an initial cluster left at (or set to) its default value follows a non-default `--name`
 * (`name=<each advertised peer URL>`); otherwise it is parsed as given.
 */
export function resolveInitialCluster(
  s: Settings,
  name: string,
  advertisePeerUrls: readonly EndpointUrl[],
): { readonly members: readonly ClusterMember[] } | ConfigError {
  let raw = s.str('initial-cluster');
  const atDefault = !s.isSet('initial-cluster') || raw === flagSpec('initial-cluster')?.def;
  if (atDefault && name !== DEFAULT_NAME) {
    raw = formatInitialCluster([{ name, peerUrls: advertisePeerUrls.map((u) => u.url) }]);
  }
  const parsed = parseInitialCluster(raw);
  if (!parsed.ok) return invalidValue('initial-cluster', raw, s.source('initial-cluster'), parsed.reason);
  return { members: parsed.value };
}

/** etcd's bootstrap checks: local member present, no URL twice, advertised URLs match (new cluster). */
export function checkCluster(
  name: string,
  members: readonly ClusterMember[],
  advertise: readonly EndpointUrl[],
  state: 'new' | 'existing',
): string | undefined {
  if (members.length === 0) return 'initial cluster is empty';
  const self = members.find((m) => m.name === name);
  if (self === undefined) return `couldn't find local name ${JSON.stringify(name)} in the initial cluster configuration`;
  const all = members.flatMap((m) => m.peerUrls);
  const dup = all.find((u, i) => all.indexOf(u) !== i);
  if (dup !== undefined) return `initial cluster has duplicate url ${dup}`;
  if (state === 'new') {
    const adv = advertise.map((u) => u.url).sort();
    const missing = self.peerUrls.filter((u) => !adv.includes(u));
    if (missing.length > 0) {
      return `has ${missing.map((u) => `${name}=${u}`).join(',')} but missing from --initial-advertise-peer-urls=${adv.join(',')}`;
    }
    const extra = adv.filter((u) => !self.peerUrls.includes(u));
    if (extra.length > 0) {
      return `--initial-advertise-peer-urls has ${extra.join(',')} but missing from --initial-cluster=${formatInitialCluster([{ name, peerUrls: adv }])}`;
    }
  }
  return undefined;
}
