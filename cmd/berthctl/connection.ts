/**
 * The global connection flags → pkg/client options, by etcdctl 3.4's rules (ctlv3/command/global.go):
 * - TLS is configured when `--cacert`, `--cert` or `--key` is given or `--insecure-transport=false`;
 *   `--insecure-skip-tls-verify` applies only then. Bare `host:port` endpoints use TLS exactly when it is
 *   configured, `https://` ones always, `http://` ones never. An explicitly empty file flag is
 *   `empty string is passed to --cacert option` (exit 128), like a missing file or a lone `--cert`.
 * - `--user name:password`, or `--user name --password pw` (the user name is then taken whole), or
 *   `--user name` alone: the password is asked for (`Password: `, see prompt.ts). An empty password
 *   means no authentication, as in etcd's client.
 */
import { errorMessage, loadTls, type ClientOptions, type TlsOptions } from '../../pkg/client/index.js';
import type { Flags } from './flags.js';
import { CommandError, Exit, type Io } from './io.js';
import { askPassword } from './prompt.js';

export const CONNECTION_FLAGS = [
  { name: 'cacert', kind: 'string', env: 'ETCDCTL_CACERT', def: '', help: 'verify certificates of TLS-enabled secure servers using this CA bundle' },
  { name: 'cert', kind: 'string', env: 'ETCDCTL_CERT', def: '', help: 'identify secure client using this TLS certificate file' },
  { name: 'key', kind: 'string', env: 'ETCDCTL_KEY', def: '', help: 'identify secure client using this TLS key file' },
  { name: 'insecure-transport', kind: 'bool', env: 'ETCDCTL_INSECURE_TRANSPORT', def: 'true', help: 'disable transport security for client connections' },
  {
    name: 'insecure-skip-tls-verify', kind: 'bool', env: 'ETCDCTL_INSECURE_SKIP_TLS_VERIFY', def: 'false',
    help: 'skip server certificate verification (CAUTION: this option should be enabled only for testing purposes)',
  },
  { name: 'user', kind: 'string', env: 'ETCDCTL_USER', def: '', help: 'username[:password] for authentication (prompt if password is not supplied)' },
  { name: 'password', kind: 'string', env: 'ETCDCTL_PASSWORD', def: '', help: 'password for authentication (if this option is used, --user option shouldn\'t include password)' },
] as const;

/** The TLS options the flags ask for, or undefined for plain text (bare endpoints). */
export function tlsFromFlags(flags: Flags): TlsOptions | undefined {
  const file = (name: 'cacert' | 'cert' | 'key'): string | undefined => {
    const v = flags.str(name);
    if (v === '' && flags.isSet(name)) throw new CommandError(`empty string is passed to --${name} option`, Exit.badArgs);
    return v === '' ? undefined : v;
  };
  const caFile = file('cacert');
  const certFile = file('cert');
  const keyFile = file('key');
  if (caFile === undefined && certFile === undefined && keyFile === undefined && flags.bool('insecure-transport')) return undefined;
  const tls: TlsOptions = {
    ...(caFile !== undefined ? { caFile } : {}),
    ...(certFile !== undefined ? { certFile } : {}),
    ...(keyFile !== undefined ? { keyFile } : {}),
    insecureSkipVerify: flags.bool('insecure-skip-tls-verify'),
  };
  try {
    loadTls(tls); // unreadable files and a certificate without its key are bad arguments
  } catch (err) {
    throw new CommandError(errorMessage(err), Exit.badArgs);
  }
  return tls;
}

/** The user to authenticate as (asking for the password if needed), or undefined. */
export async function userFromFlags(flags: Flags, io: Io): Promise<{ name: string; password: string } | undefined> {
  const user = flags.str('user');
  const password = flags.str('password');
  if (user === '') return undefined;
  if (password !== '') return { name: user, password };
  const colon = user.indexOf(':');
  if (colon >= 0) return { name: user.slice(0, colon), password: user.slice(colon + 1) };
  const asked = await askPassword(io, 'Password: ');
  if (asked === undefined) throw new CommandError('interrupted', Exit.error);
  return { name: user, password: asked };
}

/** Client options for `endpoints` with the global timeouts, TLS and user. */
export function clientOptions(flags: Flags, endpoints: readonly string[], user: { name: string; password: string } | undefined): ClientOptions {
  const tls = tlsFromFlags(flags);
  return {
    endpoints,
    dialTimeoutMs: flags.ms('dial-timeout'),
    commandTimeoutMs: flags.ms('command-timeout'),
    ...(tls !== undefined ? { tls } : {}),
    ...(user !== undefined ? { user } : {}),
  };
}
