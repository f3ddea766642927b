/**
 * Turns a member's advertised peer URL (etcd style, "http://10.0.0.1:2380") into a grpc-js target.
 * Fails as a value on anything that is not an http(s) URL with a host.
 */
export type PeerTarget = { readonly ok: true; readonly target: string } | { readonly ok: false; readonly message: string };

export function peerTarget(url: string): PeerTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { ok: false, message: `transport: invalid peer URL ${JSON.stringify(url)}` };
  }
  if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.hostname === '') {
    return { ok: false, message: `transport: peer URL ${JSON.stringify(url)} is not http(s)://host:port` };
  }
  const port = u.port !== '' ? u.port : u.protocol === 'https:' ? '443' : '80';
  return { ok: true, target: `${u.hostname}:${port}` };
}
