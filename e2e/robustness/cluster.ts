/**
 * The members under test: real berth processes (or the test-only broken-berth), each with its own
 * data dir under the run dir and its peer traffic routed through a PeerProxy. Members can be killed,
 * paused, restarted (optionally with failpoints armed) and partitioned.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, rmSync, createWriteStream, type WriteStream } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../compat/support/servers.js';
import { PeerProxy, type LinkRules } from './proxy.js';
import type { Defect } from './defects.js';
import { NODE_FLAGS } from '../../cmd/berth/node-flags.js';

export interface MemberSlot {
  readonly index: number;
  readonly name: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly endpoint: string;
  readonly dataDir: string;
  readonly logPath: string;
  child: ChildProcess | undefined;
  exited: Promise<void> | undefined;
  paused: boolean;
  starts: number;
  /** The power-loss model's last report on stderr ("power loss: dropping N unsynced batch(es) ..."). */
  powerLossReport: string | undefined;
  /** Joins a running cluster (`--initial-cluster-state existing`): set when the slot was re-added. */
  joinExisting: boolean;
}

/** Members take a raft snapshot every SNAPSHOT_COUNT applied entries and keep CATCHUP_ENTRIES of log. */
export const SNAPSHOT_COUNT = 300;
export const CATCHUP_ENTRIES = 100;

/** cmd/berth, or the test entry point when there are defects or the power-loss model is wanted. */
function entry(broken: readonly Defect[], powerLoss: boolean): { cmd: string; args: string[] } {
  const here = dirname(fileURLToPath(import.meta.url));
  const test = broken.length > 0 || powerLoss;
  const base = test ? join(here, 'broken-berth') : resolve(here, '../../cmd/berth/main');
  const extra = [...(broken.length > 0 ? [`--broken=${broken.join(',')}`] : []), ...(powerLoss ? ['--power-loss-model'] : [])];
  if (existsSync(`${base}.js`)) return { cmd: process.execPath, args: [...NODE_FLAGS, `${base}.js`, ...extra] };
  return { cmd: process.execPath, args: [...NODE_FLAGS, '--import', 'tsx', `${base}.ts`, ...extra] };
}

export class Cluster implements LinkRules {
  readonly members: MemberSlot[];
  readonly #proxies: PeerProxy[] = [];
  readonly #proxyPorts: number[];
  readonly #broken: readonly Defect[];
  readonly #logs = new Map<number, WriteStream>();
  #drops = new Set<string>();
  #delay = 0;

  private constructor(members: MemberSlot[], proxyPorts: number[], broken: readonly Defect[]) {
    this.members = members;
    this.#proxyPorts = proxyPorts;
    this.#broken = broken;
  }

  static async create(runDir: string, n: number, broken: readonly Defect[]): Promise<Cluster> {
    const members: MemberSlot[] = [];
    const proxyPorts: number[] = [];
    for (let i = 0; i < n; i++) {
      const clientPort = await freePort();
      const dataDir = join(runDir, `m${i}`);
      mkdirSync(dataDir, { recursive: true });
      members.push({ index: i, name: `m${i}`, clientPort, peerPort: await freePort(), endpoint: `127.0.0.1:${clientPort}`, dataDir, logPath: join(runDir, `m${i}.log`), child: undefined, exited: undefined, paused: false, starts: 0, joinExisting: false, powerLossReport: undefined });
      proxyPorts.push(await freePort());
    }
    const c = new Cluster(members, proxyPorts, broken);
    for (let i = 0; i < n; i++) {
      c.#proxies.push(await PeerProxy.start(i, proxyPorts[i] as number, () => (members[i] as MemberSlot).peerPort, c, () => members.map((m) => m.child?.pid)));
    }
    return c;
  }

  // LinkRules
  dropped(from: number, to: number): boolean {
    return this.#drops.has(`${from}>${to}`);
  }
  delayMs(): number {
    return this.#delay;
  }

  /** Drops traffic on the given directed links (replacing earlier drops). */
  setDrops(links: readonly [number, number][]): void {
    this.#drops = new Set(links.map(([a, b]) => `${a}>${b}`));
    for (const p of this.#proxies) p.enforce();
  }
  setDelay(ms: number): void {
    this.#delay = ms;
  }
  heal(): void {
    this.setDrops([]);
    this.#delay = 0;
  }

  /** The peer URL member i advertises (its proxy). */
  peerUrl(i: number): string {
    return `http://127.0.0.1:${this.#proxyPorts[i]}`;
  }

  /**
   * Member i (stopped) becomes a new member with an empty data dir that joins the running cluster
   * on its next start (after a MemberAdd for peerUrl(i)).
   */
  wipeForRejoin(i: number): void {
    const m = this.members[i] as MemberSlot;
    if (m.child !== undefined) throw new Error(`${m.name} is running`);
    rmSync(m.dataDir, { recursive: true, force: true });
    mkdirSync(m.dataDir, { recursive: true });
    m.joinExisting = true;
  }

  /**
   * Starts member i (not waiting for health); `env` e.g. BERTH_FAILPOINTS; `powerLoss` runs it with
   * the storage power-loss model (test entry point), which the `powerloss` failpoint action needs.
   */
  start(i: number, env: Record<string, string> = {}, opts: { readonly powerLoss?: boolean } = {}): void {
    const m = this.members[i] as MemberSlot;
    if (m.child !== undefined) throw new Error(`${m.name} is already running`);
    const initialCluster = this.members.map((x, j) => `${x.name}=http://127.0.0.1:${this.#proxyPorts[j]}`).join(',');
    const clientUrl = `http://127.0.0.1:${m.clientPort}`;
    const flags = [
      '--name', m.name,
      '--data-dir', m.dataDir,
      '--listen-client-urls', clientUrl,
      '--advertise-client-urls', clientUrl,
      '--listen-peer-urls', `http://127.0.0.1:${m.peerPort}`,
      '--initial-advertise-peer-urls', `http://127.0.0.1:${this.#proxyPorts[i]}`,
      '--initial-cluster', initialCluster,
      '--initial-cluster-token', 'robustness',
      ...(m.joinExisting ? ['--initial-cluster-state', 'existing'] : []),
      // Frequent raft snapshots and a short catch-up tail: a member down for a few seconds is
      // brought back by a snapshot, so snapshot send/receive/install runs under faults too.
      '--snapshot-count', String(SNAPSHOT_COUNT),
      '--experimental-snapshot-catchup-entries', String(CATCHUP_ENTRIES),
      '--log-level', 'warn',
    ];
    const { cmd, args } = entry(this.#broken, opts.powerLoss === true);
    const childEnv: NodeJS.ProcessEnv = { ...process.env };
    for (const k of Object.keys(childEnv)) if (k.startsWith('ETCD_') || k.startsWith('BERTH_')) delete childEnv[k];
    Object.assign(childEnv, env);
    let log = this.#logs.get(i);
    if (log === undefined) {
      log = createWriteStream(m.logPath, { flags: 'a' });
      this.#logs.set(i, log);
    }
    log.write(`\n=== start #${m.starts + 1} ${JSON.stringify(env)}${opts.powerLoss === true ? ' power-loss model' : ''} ===\n`);
    const child = spawn(cmd, [...args, ...flags], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    const w = log;
    child.stdout?.on('data', (d: Buffer) => w.write(d));
    child.stderr?.on('data', (d: Buffer) => {
      w.write(d);
      const report = /power loss: [^\n]*/.exec(d.toString('utf8'));
      if (report !== null) m.powerLossReport = report[0];
    });
    m.child = child;
    m.paused = false;
    m.starts++;
    m.powerLossReport = undefined;
    // 'close', not 'exit': by then everything the process wrote to stderr has been read.
    m.exited = once(child, 'close').then(() => {
      if (m.child === child) m.child = undefined;
    });
  }

  running(i: number): boolean {
    return this.members[i]?.child !== undefined;
  }

  /** SIGKILL and wait for the exit. */
  async kill(i: number): Promise<void> {
    const m = this.members[i] as MemberSlot;
    const c = m.child;
    if (c === undefined) return;
    if (m.paused) c.kill('SIGCONT');
    c.kill('SIGKILL');
    await m.exited;
    m.paused = false;
  }

  pause(i: number): void {
    const m = this.members[i] as MemberSlot;
    if (m.child === undefined || m.paused) return;
    m.child.kill('SIGSTOP');
    m.paused = true;
  }

  resume(i: number): void {
    const m = this.members[i] as MemberSlot;
    if (m.child === undefined || !m.paused) return;
    m.child.kill('SIGCONT');
    m.paused = false;
  }

  /** Waits (bounded) until member i answers /health with true; false on timeout or exit. */
  async healthy(i: number, timeoutMs: number): Promise<boolean> {
    const m = this.members[i] as MemberSlot;
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (m.child === undefined) return false;
      const ok = await fetch(`http://${m.endpoint}/health`, { signal: AbortSignal.timeout(1000) }).then(
        async (r) => r.status === 200 && ((await r.json()) as { health?: string }).health === 'true',
        () => false,
      );
      if (ok) return true;
      await new Promise((r) => setTimeout(r, 100));
    }
    return false;
  }

  async stopAll(): Promise<void> {
    this.heal();
    await Promise.all(this.members.map((_, i) => this.kill(i)));
    for (const p of this.#proxies) await p.close();
    for (const l of this.#logs.values()) l.end();
  }

  proxyStats(): { connections: number; refused: number } {
    return { connections: this.#proxies.reduce((n, p) => n + p.connections, 0), refused: this.#proxies.reduce((n, p) => n + p.refused, 0) };
  }
}
