/**
 * URL lists and the `--initial-cluster` map, parsed with etcd's rules: http/https need `host:port`
 * and no path; unix/unixs name a socket. Canonical strings have no trailing slash, like Go's
 * url.URL.String(), so they compare equal to what etcd members advertise.
 */
import { isIP } from 'node:net';
import type { Parsed } from './go-values.js';

export type UrlScheme = 'http' | 'https' | 'unix' | 'unixs';

export interface EndpointUrl {
  /** Canonical form, e.g. `http://127.0.0.1:2379` or `unix://localhost:2379`. */
  readonly url: string;
  readonly scheme: UrlScheme;
  /** Host without brackets (`::1`), or for unix URLs the socket path as etcd uses it (host + path). */
  readonly host: string;
  /** The TCP port; 0 for unix sockets. */
  readonly port: number;
  /** true for https and unixs. */
  readonly secure: boolean;
}

export interface ClusterMember {
  readonly name: string;
  readonly peerUrls: readonly string[];
}

const SHAPE = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)([^?#]*)(?:\?[^#]*)?(?:#.*)?$/;

/** Parses one URL. Fails with etcd's reasons (scheme, host:port, path). */
export function parseEndpointUrl(input: string): Parsed<EndpointUrl> {
  const raw = input.trim();
  const m = SHAPE.exec(raw);
  if (m === null) return { ok: false, reason: `URL scheme must be http, https, unix, or unixs: ${raw}` };
  const scheme = (m[1] ?? '').toLowerCase();
  const authority = m[2] ?? '';
  const path = m[3] ?? '';
  if (scheme === 'unix' || scheme === 'unixs') {
    const host = authority + path;
    if (host === '') return { ok: false, reason: `unix URL has no socket path: ${raw}` };
    return {
      ok: true,
      value: { url: `${scheme}://${host}`, scheme, host, port: 0, secure: scheme === 'unixs' },
    };
  }
  if (scheme !== 'http' && scheme !== 'https') {
    return { ok: false, reason: `URL scheme must be http, https, unix, or unixs: ${raw}` };
  }
  const hp = splitHostPort(authority);
  if (hp === undefined) return { ok: false, reason: `URL address does not have the form "host:port": ${raw}` };
  if (path !== '') return { ok: false, reason: `URL must not contain a path: ${raw}` };
  const hostPart = hp.host.includes(':') ? `[${hp.host}]` : hp.host;
  return {
    ok: true,
    value: { url: `${scheme}://${hostPart}:${hp.port}`, scheme, host: hp.host, port: hp.port, secure: scheme === 'https' },
  };
}

function splitHostPort(authority: string): { host: string; port: number } | undefined {
  if (authority.includes('@')) return undefined;
  let host: string;
  let port: string;
  if (authority.startsWith('[')) {
    const end = authority.indexOf(']');
    if (end < 0 || authority[end + 1] !== ':') return undefined;
    host = authority.slice(1, end);
    port = authority.slice(end + 2);
  } else {
    const colon = authority.lastIndexOf(':');
    if (colon < 0) return undefined;
    host = authority.slice(0, colon);
    port = authority.slice(colon + 1);
    if (host.includes(':')) return undefined;
  }
  if (!/^[0-9]{1,5}$/.test(port) || Number(port) > 65535) return undefined;
  return { host, port: Number(port) };
}

/** A comma-separated list of URLs, deduplicated in order. An empty list is an error, as in etcd. */
export function parseUrlList(value: string): Parsed<readonly EndpointUrl[]> {
  const parts = value.split(',');
  if (value.trim() === '') return { ok: false, reason: 'no valid URLs given' };
  const out: EndpointUrl[] = [];
  const seen = new Set<string>();
  for (const part of parts) {
    const r = parseEndpointUrl(part);
    if (!r.ok) return r;
    if (seen.has(r.value.url)) continue;
    seen.add(r.value.url);
    out.push(r.value);
  }
  return { ok: true, value: out };
}

/** Listen URLs must bind to an IP literal or `localhost` (a hostname could resolve anywhere). */
export function checkBindable(urls: readonly EndpointUrl[]): string | undefined {
  for (const u of urls) {
    if (u.scheme === 'unix' || u.scheme === 'unixs') continue;
    if (u.host === 'localhost') continue;
    if (isIP(u.host) === 0) return `expected IP in URL for binding (${u.url})`;
  }
  return undefined;
}

/** Advertised URLs must name a host. */
export function checkAdvertisable(urls: readonly EndpointUrl[]): string | undefined {
  for (const u of urls) {
    if (u.scheme !== 'unix' && u.scheme !== 'unixs' && u.host === '') return `unexpected empty host (${u.url})`;
  }
  return undefined;
}

/**
 * `name1=url1,name1=url2,name2=url3` into members in first-seen order; a name may repeat to list
 * several URLs. Fails on an entry without `=`, an empty name, or an invalid URL.
 */
export function parseInitialCluster(value: string): Parsed<readonly ClusterMember[]> {
  const byName = new Map<string, string[]>();
  for (const entry of value.split(',')) {
    if (entry === '') continue;
    const eq = entry.indexOf('=');
    if (eq <= 0) return { ok: false, reason: `expected name=url, got ${JSON.stringify(entry)}` };
    const name = entry.slice(0, eq);
    const u = parseEndpointUrl(entry.slice(eq + 1));
    if (!u.ok) return u;
    const list = byName.get(name) ?? [];
    if (!list.includes(u.value.url)) list.push(u.value.url);
    byName.set(name, list);
  }
  const members = [...byName].map(([name, peerUrls]) => ({ name, peerUrls: [...peerUrls].sort() }));
  return { ok: true, value: members };
}

/** Renders members back to the flag syntax (sorted URLs per member, members in order). */
export function formatInitialCluster(members: readonly ClusterMember[]): string {
  return members.flatMap((m) => m.peerUrls.map((u) => `${m.name}=${u}`)).join(',');
}
