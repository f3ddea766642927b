/**
 * Starts real server processes for compatibility tests: berth (the built CLI) and etcd (Debian
 * `etcd-server`), with the same etcd flags, on loopback ports, each in its own temp data dir.
 * Readiness is awaited by polling /health (bounded); stop() sends SIGTERM and waits for exit (the 'close' event: all output read).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { https1, type TlsClientOptions } from './https.js';
import { NODE_FLAGS } from '../../../cmd/berth/node-flags.js';

export type Flavor = 'berth' | 'etcd';

export interface ServerProcess {
  readonly flavor: Flavor;
  readonly clientUrl: string;
  /** host:port for etcdctl --endpoints */
  readonly endpoint: string;
  readonly dataDir: string;
  /** Everything the process printed, for diagnostics. */
  output(): string;
  /** SIGTERM, wait, remove the data dir (unless it was given by the caller). */
  stop(): Promise<void>;
  /** Sends the signal and waits for exit; the data dir stays (crash tests restart on it). */
  kill(signal: NodeJS.Signals): Promise<void>;
  /** Resolves when the process has exited (by itself or killed). */
  readonly exited: Promise<void>;
  /** The OS process id (e.g. to SIGSTOP/SIGCONT it). */
  readonly pid: number | undefined;
}

/** Ports freePort() gave out in this process. */
const handedOut = new Set<number>();

/**
 * A free loopback port (bound and released; the tiny race with other processes is acceptable on a
 * test machine). Never the same port twice in one process: the kernel can give a just-released port
 * to the next bind(0), and two calls for one server's client and peer ports then collided (CI,
 * EADDRINUSE at start-up).
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const srv = createServer();
    srv.listen(0, '127.0.0.1');
    await once(srv, 'listening');
    const addr = srv.address();
    const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
    await new Promise<void>((r) => srv.close(() => r()));
    if (port !== 0 && !handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error('freePort: no new port in 100 attempts');
}

/** The berth entry point and how to run it: compiled JS under dist/, or TypeScript through tsx. */
function berthCommand(): { cmd: string; args: string[] } {
  const here = dirname(fileURLToPath(import.meta.url));
  const js = resolve(here, '../../../cmd/berth/main.js');
  if (existsSync(js)) return { cmd: process.execPath, args: [...NODE_FLAGS, js] };
  const ts = resolve(here, '../../../cmd/berth/main.ts');
  return { cmd: process.execPath, args: [...NODE_FLAGS, '--import', 'tsx', ts] };
}

export interface StartOptions {
  readonly clientPort: number;
  readonly peerPort: number;
  readonly name?: string;
  readonly extraArgs?: readonly string[];
  /** Bound on start-up. Default 20 s. */
  readonly readyTimeoutMs?: number;
  /** Reuse this data dir (a restart); it is then never removed by stop(). */
  readonly dataDir?: string;
  /** --initial-cluster; default: this member alone. */
  readonly initialCluster?: string;
  /** Extra environment (e.g. BERTH_FAILPOINTS); ETCD_* and BERTH_* of the parent are never inherited. */
  readonly env?: Readonly<Record<string, string>>;
  /** Scheme of the client / peer URLs (TLS flags go in extraArgs). Default http. */
  readonly clientScheme?: 'http' | 'https';
  readonly peerScheme?: 'http' | 'https';
  /** CA / client certificate for the /health readiness probe of an https client URL. */
  readonly probeTls?: TlsClientOptions;
}

/** GET /health; true when it answers 200 with health "true". Never throws. */
async function healthy(clientUrl: string, tls: TlsClientOptions | undefined): Promise<boolean> {
  try {
    if (clientUrl.startsWith('https://')) {
      const r = await https1(`${clientUrl}/health`, tls ?? {}, { timeoutMs: 2000 });
      return r.status === 200 && (JSON.parse(r.body) as { health?: string }).health === 'true';
    }
    // Bounded per probe: a starting member may hold connections until it has joined (as etcd does).
    const r = await fetch(`${clientUrl}/health`, { signal: AbortSignal.timeout(2000) });
    return r.status === 200 && ((await r.json()) as { health?: string }).health === 'true';
  } catch {
    return false;
  }
}

export async function startServer(flavor: Flavor, o: StartOptions): Promise<ServerProcess> {
  const name = o.name ?? 'default';
  const ownDir = o.dataDir === undefined;
  const dataDir = o.dataDir ?? mkdtempSync(join(tmpdir(), `compat-${flavor}-`));
  const clientUrl = `${o.clientScheme ?? 'http'}://127.0.0.1:${o.clientPort}`;
  const peerUrl = `${o.peerScheme ?? 'http'}://127.0.0.1:${o.peerPort}`;
  const flags = [
    '--name', name,
    '--data-dir', dataDir,
    '--listen-client-urls', clientUrl,
    '--advertise-client-urls', clientUrl,
    '--listen-peer-urls', peerUrl,
    '--initial-advertise-peer-urls', peerUrl,
    '--initial-cluster', o.initialCluster ?? `${name}=${peerUrl}`,
    ...(o.extraArgs ?? []),
  ];
  const { cmd, args } = flavor === 'berth' ? berthCommand() : { cmd: process.env['ETCD_BIN'] ?? 'etcd', args: [] };
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('ETCD_') || k.startsWith('BERTH_')) delete env[k];
  Object.assign(env, o.env ?? {});
  const child: ChildProcess = spawn(cmd, [...args, ...flags], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (out += d));
  let exited = false;
  let exitCode: number | null = null;
  const exit = once(child, 'close').then(([code]) => {
    exited = true;
    exitCode = code as number | null;
  });

  const deadline = Date.now() + (o.readyTimeoutMs ?? 20_000);
  for (;;) {
    if (exited) {
      if (ownDir) rmSync(dataDir, { recursive: true, force: true });
      throw new Error(`${flavor} exited during start-up (exit code ${String(exitCode)}):\n${out}`);
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${flavor} not healthy within the start-up bound:\n${out}`);
    }
    if (await healthy(clientUrl, o.probeTls)) break;
    await new Promise((r) => setTimeout(r, 50));
  }

  return {
    flavor,
    clientUrl,
    endpoint: `127.0.0.1:${o.clientPort}`,
    dataDir,
    output: () => out,
    exited: exit,
    pid: child.pid,
    stop: async () => {
      if (!exited) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exit;
        clearTimeout(killer);
      }
      if (ownDir) rmSync(dataDir, { recursive: true, force: true });
    },
    kill: async (signal) => {
      if (!exited) {
        child.kill(signal);
        await exit;
      }
    },
  };
}

export interface Cluster {
  readonly members: ServerProcess[];
  readonly endpoints: string[];
  stop(): Promise<void>;
}

/** Starts an n-member cluster (names m0..m{n-1}) and waits until every member reports a leader. */
export async function startCluster(
  flavor: Flavor,
  n: number,
  extraArgs: readonly string[] = [],
  fixedPorts?: readonly { client: number; peer: number }[],
  tls: Pick<StartOptions, 'clientScheme' | 'peerScheme' | 'probeTls'> = {},
): Promise<Cluster> {
  const ports: { client: number; peer: number }[] = [...(fixedPorts ?? [])];
  for (let i = ports.length; i < n; i++) ports.push({ client: await freePort(), peer: await freePort() });
  const initialCluster = ports.map((p, i) => `m${i}=${tls.peerScheme ?? 'http'}://127.0.0.1:${p.peer}`).join(',');
  const started = await Promise.allSettled(
    ports.map((p, i) =>
      startServer(flavor, { clientPort: p.client, peerPort: p.peer, name: `m${i}`, initialCluster, extraArgs, ...tls }),
    ),
  );
  const members = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) {
    await Promise.all(members.map((m) => m.stop()));
    throw failed.reason;
  }
  return {
    members,
    endpoints: members.map((m) => m.endpoint),
    stop: async () => {
      await Promise.all(members.map((m) => m.stop()));
    },
  };
}
