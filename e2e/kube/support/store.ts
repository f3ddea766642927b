/**
 * A 3-member store cluster (berth or etcd) whose members can be killed and restarted on the same ports and
 * data dirs, plus the few etcdctl look-ups the kube scenarios need (leader, a key at a revision).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, startServer, type Flavor, type ServerProcess } from '../../compat/support/servers.js';

const execFileP = promisify(execFile);

interface Slot {
  readonly name: string;
  readonly client: number;
  readonly peer: number;
  readonly dataDir: string;
  proc: ServerProcess | undefined;
}

export class StoreCluster {
  readonly flavor: Flavor;
  readonly #slots: Slot[];
  readonly #initialCluster: string;
  readonly #root: string;

  private constructor(flavor: Flavor, slots: Slot[], root: string) {
    this.flavor = flavor;
    this.#slots = slots;
    this.#root = root;
    this.#initialCluster = slots.map((s) => `${s.name}=http://127.0.0.1:${s.peer}`).join(',');
  }

  static async start(flavor: Flavor, n = 3): Promise<StoreCluster> {
    const root = mkdtempSync(join(tmpdir(), `kube-${flavor}-`));
    const slots: Slot[] = [];
    for (let i = 0; i < n; i++) {
      slots.push({ name: `m${i}`, client: await freePort(), peer: await freePort(), dataDir: join(root, `m${i}`), proc: undefined });
    }
    const c = new StoreCluster(flavor, slots, root);
    const started = await Promise.allSettled(slots.map((_, i) => c.startMember(i)));
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) {
      await c.stop();
      throw failed.reason;
    }
    return c;
  }

  /** Client URLs of every member (kube-apiserver's --etcd-servers). */
  get clientUrls(): string[] {
    return this.#slots.map((s) => `http://127.0.0.1:${s.client}`);
  }

  get endpoints(): string[] {
    return this.#slots.map((s) => `127.0.0.1:${s.client}`);
  }

  /** The endpoints of the members that are running now. */
  get liveEndpoints(): string[] {
    return this.#slots.filter((s) => s.proc !== undefined).map((s) => `127.0.0.1:${s.client}`);
  }

  /** Everything every member printed (for diagnostics on failure). */
  output(): string {
    return this.#slots.map((s) => `--- ${s.name}\n${s.proc?.output() ?? '(not running)'}`).join('\n');
  }

  async startMember(i: number): Promise<void> {
    const s = this.#slots[i];
    if (s === undefined) throw new Error(`no member ${i}`);
    s.proc = await startServer(this.flavor, {
      name: s.name,
      clientPort: s.client,
      peerPort: s.peer,
      dataDir: s.dataDir,
      initialCluster: this.#initialCluster,
      readyTimeoutMs: 30_000,
    });
  }

  /** SIGKILL one member (a crash); its data dir stays for a restart. */
  async killMember(i: number): Promise<void> {
    const s = this.#slots[i];
    if (s?.proc === undefined) return;
    await s.proc.kill('SIGKILL');
    s.proc = undefined;
  }

  /** Index of the member the live members agree is leader (bounded poll). */
  async leaderIndex(timeoutMs = 15_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const statuses = await endpointStatus(this.liveEndpoints);
        const leaders = new Set(statuses.map((st) => st.leader));
        const [leader] = leaders;
        if (leaders.size === 1 && leader !== undefined && leader !== '0') {
          const own = statuses.find((st) => st.memberId === leader);
          const idx = own === undefined ? -1 : this.endpoints.indexOf(own.endpoint);
          if (idx >= 0) return idx;
        }
      } catch {
        // a member is still electing or unreachable: poll again
      }
      if (Date.now() > deadline) throw new Error(`no agreed leader within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.#slots.map(async (s) => s.proc?.stop()));
    for (const s of this.#slots) s.proc = undefined;
    rmSync(this.#root, { recursive: true, force: true });
  }
}

export async function etcdctl(endpoints: readonly string[], args: readonly string[], timeoutMs = 15_000): Promise<string> {
  const { stdout } = await execFileP('etcdctl', [`--endpoints=${endpoints.join(',')}`, '--command-timeout=10s', ...args], {
    timeout: timeoutMs,
    env: { ...process.env, ETCDCTL_API: '3' },
    maxBuffer: 64 << 20,
  });
  return stdout;
}

interface EndpointStatus {
  readonly endpoint: string;
  readonly memberId: string;
  readonly leader: string;
}

async function endpointStatus(endpoints: readonly string[]): Promise<EndpointStatus[]> {
  const out = await etcdctl(endpoints, ['endpoint', 'status', '-w', 'json']);
  // etcdctl prints 64-bit IDs as JSON numbers: keep them exact by quoting them before parsing.
  const quoted = out.replace(/"(member_id|leader|cluster_id)":(\d+)/g, '"$1":"$2"');
  const rows = JSON.parse(quoted) as { Endpoint: string; Status: { header: { member_id: string }; leader: string } }[];
  return rows.map((r) => ({ endpoint: r.Endpoint, memberId: r.Status.header.member_id, leader: r.Status.leader }));
}

/** Whether reading `key` at `revision` fails because the revision was compacted. */
export async function isCompacted(endpoints: readonly string[], key: string, revision: number): Promise<boolean> {
  try {
    await etcdctl(endpoints, ['get', key, `--rev=${revision}`]);
    return false;
  } catch (e) {
    const msg = e instanceof Error ? `${e.message} ${(e as { stderr?: string }).stderr ?? ''}` : String(e);
    if (msg.includes('required revision has been compacted')) return true;
    throw e;
  }
}
