/**
 * A member's advertised peer URL (etcd style, "http://10.0.0.1:2380") as the transport dials it: a
 * grpc-js target, or host and port for a raft stream socket. Fails as a value on anything that is
 * not an http(s) URL with a host.
 */
export type PeerAddress =
  | { readonly ok: true; readonly secure: boolean; readonly host: string; readonly port: number; readonly target: string }
  | { readonly ok: false; readonly message: string };

export function peerAddress(url: string): PeerAddress {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { ok: false, message: `transport: invalid peer URL ${JSON.stringify(url)}` };
  }
  if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.hostname === '') {
    return { ok: false, message: `transport: peer URL ${JSON.stringify(url)} is not http(s)://host:port` };
  }
  const secure = u.protocol === 'https:';
  const port = u.port !== '' ? u.port : secure ? '443' : '80';
  // URL keeps IPv6 brackets in hostname: right for a grpc-js target, not for a socket's host.
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  return { ok: true, secure, host, port: Number(port), target: `${u.hostname}:${port}` };
}
