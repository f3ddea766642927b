/**
 * A 3-member store cluster (berth or etcd) whose members can be killed and restarted on the same ports and
 * data dirs, plus the few etcdctl look-ups the kube scenarios need (leader, a key at a revision).
 * With `tls`, the client URLs are https with a server certificate and --client-cert-auth (peers stay plain
 * http), and every etcdctl call presents the client certificate.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, startServer, type Flavor, type ServerProcess } from '../../compat/support/servers.js';
import type { StoreTls } from './certs.js';

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
  readonly tls: StoreTls | undefined;
  readonly #slots: Slot[];
  readonly #initialCluster: string;
  readonly #root: string;

  private constructor(flavor: Flavor, slots: Slot[], root: string, tls: StoreTls | undefined) {
    this.flavor = flavor;
    this.tls = tls;
    this.#slots = slots;
    this.#root = root;
    this.#initialCluster = slots.map((s) => `${s.name}=http://127.0.0.1:${s.peer}`).join(',');
  }

  /**
   * Starts the cluster; when a member cannot bind its port (freePort releases the port before the member
   * binds it, and on a shared machine another process can take it in between), retries on fresh ports.
   */
  static async start(flavor: Flavor, n = 3, tls?: StoreTls): Promise<StoreCluster> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await StoreCluster.#startOnce(flavor, n, tls);
      } catch (e) {
        if (attempt >= 3 || !String(e).includes('address already in use')) throw e;
      }
    }
  }

  static async #startOnce(flavor: Flavor, n: number, tls: StoreTls | undefined): Promise<StoreCluster> {
    const root = mkdtempSync(join(tmpdir(), `kube-${flavor}-`));
    const slots: Slot[] = [];
    for (let i = 0; i < n; i++) {
      slots.push({ name: `m${i}`, client: await freePort(), peer: await freePort(), dataDir: join(root, `m${i}`), proc: undefined });
    }
    const c = new StoreCluster(flavor, slots, root, tls);
    const started = await Promise.allSettled(slots.map((_, i) => c.startMember(i)));
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) {
      await c.stop();
      throw failed.reason;
    }
    return c;
  }

  get #scheme(): 'http' | 'https' {
    return this.tls === undefined ? 'http' : 'https';
  }

  /** Client URLs of every member (kube-apiserver's --etcd-servers; etcdctl's --endpoints). */
  get clientUrls(): string[] {
    return this.#slots.map((s) => `${this.#scheme}://127.0.0.1:${s.client}`);
  }

  /** The client URLs of the members that are running now. */
  get liveClientUrls(): string[] {
    return this.#slots.filter((s) => s.proc !== undefined).map((s) => `${this.#scheme}://127.0.0.1:${s.client}`);
  }

  /** etcdctl against every member (with the client certificate over TLS). */
  etcdctl(args: readonly string[], timeoutMs = 15_000): Promise<string> {
    return etcdctl(this.clientUrls, [...this.#ctlTlsArgs(), ...args], timeoutMs);
  }

  /** etcdctl with exactly these TLS arguments (none: a plain-text client), e.g. to check refusals. */
  etcdctlWith(tlsArgs: readonly string[], args: readonly string[], timeoutMs = 15_000): Promise<string> {
    return etcdctl(this.clientUrls, [...tlsArgs, ...args], timeoutMs);
  }

  #ctlTlsArgs(): string[] {
    const t = this.tls;
    return t === undefined ? [] : [`--cacert=${t.ca}`, `--cert=${t.clientCert}`, `--key=${t.clientKey}`];
  }

  /** Whether reading `key` at `revision` fails because the revision was compacted. */
  async isCompacted(key: string, revision: number): Promise<boolean> {
    try {
      await this.etcdctl(['get', key, `--rev=${revision}`]);
      return false;
    } catch (e) {
      const msg = e instanceof Error ? `${e.message} ${(e as { stderr?: string }).stderr ?? ''}` : String(e);
      if (msg.includes('required revision has been compacted')) return true;
      throw e;
    }
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
      ...(this.tls === undefined ? {} : {
        clientScheme: 'https' as const,
        extraArgs: [
          `--cert-file=${this.tls.serverCert}`,
          `--key-file=${this.tls.serverKey}`,
          `--trusted-ca-file=${this.tls.ca}`,
          '--client-cert-auth',
        ],
        probeTls: {
          ca: readFileSync(this.tls.ca),
          cert: readFileSync(this.tls.clientCert),
          key: readFileSync(this.tls.clientKey),
        },
      }),
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
        const statuses = await endpointStatus(await this.etcdctlLive(['endpoint', 'status', '-w', 'json']));
        const leaders = new Set(statuses.map((st) => st.leader));
        const [leader] = leaders;
        if (leaders.size === 1 && leader !== undefined && leader !== '0') {
          const own = statuses.find((st) => st.memberId === leader);
          const idx = own === undefined ? -1 : this.clientUrls.indexOf(own.endpoint);
          if (idx >= 0) return idx;
        }
      } catch {
        // a member is still electing or unreachable: poll again
      }
      if (Date.now() > deadline) throw new Error(`no agreed leader within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** etcdctl against the running members only. */
  etcdctlLive(args: readonly string[]): Promise<string> {
    return etcdctl(this.liveClientUrls, [...this.#ctlTlsArgs(), ...args]);
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

function endpointStatus(out: string): EndpointStatus[] {
  // etcdctl prints 64-bit IDs as JSON numbers: keep them exact by quoting them before parsing.
  const quoted = out.replace(/"(member_id|leader|cluster_id)":(\d+)/g, '"$1":"$2"');
  const rows = JSON.parse(quoted) as { Endpoint: string; Status: { header: { member_id: string }; leader: string } }[];
  return rows.map((r) => ({ endpoint: r.Endpoint, memberId: r.Status.header.member_id, leader: r.Status.leader }));
}
