/**
 * Runs kube-apiserver (and kube-controller-manager) from the cached binaries against a store cluster, and
 * talks to it: kubectl through a kubeconfig the harness writes, and the raw HTTPS API with the admin
 * client certificate (for what kubectl hides: watch error events, metrics, /readyz details).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../compat/support/servers.js';
import type { KubePki, StoreTls } from './certs.js';

export const KUBE_VERSION = process.env['KUBE_VERSION'] ?? 'v1.37.2';

/** Where build.sh caches the binaries for this version. */
export function kubeBinDir(): string {
  const root = process.env['BERTH_KUBE_CACHE'] ?? join(homedir(), '.cache', 'berth', 'kube');
  return join(root, KUBE_VERSION);
}

/** kubectl: $KUBECTL, else the newest versioned binary of the Cloud SDK (no dispatcher hop), else PATH. */
export function kubectlPath(): string {
  const fromEnv = process.env['KUBECTL'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  for (const minor of [36, 35, 34, 33, 32]) {
    const p = `/usr/lib/google-cloud-sdk/bin/kubectl.1.${minor}`;
    if (existsSync(p)) return p;
  }
  return 'kubectl';
}

interface Proc {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  isExited(): boolean;
}

function launch(bin: string, args: readonly string[], logFile: string): Proc {
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  let exited = false;
  const done = once(child, 'exit').then(() => {
    exited = true;
  });
  return { child, exited: done, isExited: () => exited };
}

async function terminate(p: Proc): Promise<void> {
  if (p.isExited()) return;
  p.child.kill('SIGTERM');
  const killer = setTimeout(() => p.child.kill('SIGKILL'), 15_000);
  await p.exited;
  clearTimeout(killer);
}

export interface ApiResponse {
  readonly status: number;
  readonly body: string;
}

export interface KubeOptions {
  readonly etcdServers: readonly string[];
  /** https --etcd-servers: the store CA and the client certificate kube presents (--etcd-cafile/certfile/keyfile). */
  readonly etcdTls?: StoreTls | undefined;
  readonly workDir: string;
  readonly pki: KubePki;
  /** kube's compaction period (--etcd-compaction-interval). */
  readonly compactionInterval: string;
  /** --event-ttl */
  readonly eventTtl: string;
}

export class KubeApiserver {
  readonly port: number;
  readonly kubeconfig: string;
  readonly logFile: string;
  readonly #pki: KubePki;
  readonly #proc: Proc;
  #kcm: Proc | undefined;
  /** When /readyz first answered 200. */
  readyAt = new Date(0);

  private constructor(port: number, kubeconfig: string, logFile: string, pki: KubePki, proc: Proc) {
    this.port = port;
    this.kubeconfig = kubeconfig;
    this.logFile = logFile;
    this.#pki = pki;
    this.#proc = proc;
  }

  static async start(o: KubeOptions): Promise<KubeApiserver> {
    const port = await freePort();
    const logFile = join(o.workDir, 'kube-apiserver.log');
    const args = [
      `--etcd-servers=${o.etcdServers.join(',')}`,
      '--storage-backend=etcd3',
      ...(o.etcdTls === undefined ? [] : [
        `--etcd-cafile=${o.etcdTls.ca}`,
        `--etcd-certfile=${o.etcdTls.clientCert}`,
        `--etcd-keyfile=${o.etcdTls.clientKey}`,
      ]),
      `--etcd-compaction-interval=${o.compactionInterval}`,
      // configmaps bypass the watch cache, so their lists, pages and watches reach the store itself
      // (compaction then shows as 410 Gone straight from the store's compacted-revision answer).
      '--watch-cache-sizes=configmaps#0',
      `--event-ttl=${o.eventTtl}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      // no kubelet, no node: the endpoint reconciler would refuse a loopback advertise address
      '--endpoint-reconciler-type=none',
      `--secure-port=${port}`,
      `--tls-cert-file=${o.pki.serverCert}`,
      `--tls-private-key-file=${o.pki.serverKey}`,
      `--client-ca-file=${o.pki.caCert}`,
      `--service-account-key-file=${o.pki.saPub}`,
      `--service-account-signing-key-file=${o.pki.saKey}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      '--service-cluster-ip-range=10.96.0.0/16',
      '--authorization-mode=RBAC',
      '--profiling=false',
      '--v=2',
      // compaction and the etcd feature checks log at V(4); everything else stays at V(2)
      '--vmodule=compact=4,feature_support_checker=4',
    ];
    const proc = launch(join(kubeBinDir(), 'kube-apiserver'), args, logFile);
    const kubeconfig = join(o.workDir, 'kubeconfig');
    writeFileSync(kubeconfig, kubeconfigYaml(port, o.pki));
    const k = new KubeApiserver(port, kubeconfig, logFile, o.pki, proc);
    try {
      await k.waitReady(120_000);
    } catch (e) {
      await terminate(proc);
      throw e;
    }
    return k;
  }

  /** Polls /readyz until it answers 200 (bounded). */
  async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      if (this.#proc.isExited()) throw new Error(`kube-apiserver exited during start-up:\n${this.logTail(60)}`);
      const r = await this.api('GET', '/readyz').catch((e: unknown) => ({ status: 0, body: String(e) }));
      if (r.status === 200) {
        this.readyAt = new Date();
        return;
      }
      last = r.body;
      if (Date.now() > deadline) throw new Error(`kube-apiserver not ready within ${timeoutMs} ms: ${last}\n${this.logTail(60)}`);
      await new Promise((res) => setTimeout(res, 500));
    }
  }

  log(): string {
    return readFileSync(this.logFile, 'utf8');
  }

  logTail(lines: number): string {
    return this.log().split('\n').slice(-lines).join('\n');
  }

  get exited(): boolean {
    return this.#proc.isExited();
  }

  /** One raw API call with the admin client certificate. */
  api(method: string, path: string, body?: unknown, timeoutMs = 30_000, contentType = 'application/json'): Promise<ApiResponse> {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
      const req = request(
        {
          host: '127.0.0.1',
          port: this.port,
          method,
          path,
          ca: readFileSync(this.#pki.caCert),
          cert: readFileSync(this.#pki.adminCert),
          key: readFileSync(this.#pki.adminKey),
          headers: payload === undefined ? {} : { 'content-type': contentType, 'content-length': Buffer.byteLength(payload) },
          timeout: timeoutMs,
        },
        (res) => {
          let data = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (data += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within ${timeoutMs} ms`)));
      req.on('error', reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  /**
   * Opens a raw watch and returns the first `n` JSON lines it streams (or fewer when the server closes
   * the stream or `timeoutMs` passes), then closes it. Also returns the HTTP status.
   */
  watchLines(path: string, n: number, timeoutMs: number): Promise<{ status: number; lines: string[] }> {
    return new Promise((resolve, reject) => {
      const lines: string[] = [];
      let status = 0;
      let buf = '';
      const req = request(
        {
          host: '127.0.0.1',
          port: this.port,
          method: 'GET',
          path,
          ca: readFileSync(this.#pki.caCert),
          cert: readFileSync(this.#pki.adminCert),
          key: readFileSync(this.#pki.adminKey),
        },
        (res) => {
          status = res.statusCode ?? 0;
          res.setEncoding('utf8');
          res.on('data', (d: string) => {
            buf += d;
            let nl: number;
            while ((nl = buf.indexOf('\n')) >= 0) {
              lines.push(buf.slice(0, nl));
              buf = buf.slice(nl + 1);
            }
            if (lines.length >= n) finish();
          });
          res.on('end', () => {
            if (buf.trim() !== '') lines.push(buf);
            finish();
          });
          res.on('error', () => finish());
        },
      );
      const timer = setTimeout(() => finish(), timeoutMs);
      let finished = false;
      function finish(): void {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        req.destroy();
        resolve({ status, lines: lines.slice(0, n) });
      }
      req.on('error', (e) => {
        if (!finished) {
          finished = true;
          clearTimeout(timer);
          reject(e);
        }
      });
      req.end();
    });
  }

  /** Runs kubectl with this apiserver's kubeconfig; rejects with stderr on a non-zero exit. */
  kubectl(args: readonly string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = execFile(
        kubectlPath(),
        [`--kubeconfig=${this.kubeconfig}`, ...args],
        { timeout: opts.timeoutMs ?? 60_000, maxBuffer: 256 << 20, env: { ...process.env, KUBECONFIG: this.kubeconfig } },
        (err, stdout, stderr) => {
          if (err !== null) reject(new Error(`kubectl ${args.join(' ')} failed: ${err.message}\n${stderr}`));
          else resolve(stdout);
        },
      );
      if (opts.input !== undefined) child.stdin?.end(opts.input);
    });
  }

  /** Starts `kubectl <args>` as a long-running process (e.g. `get -w`), collecting its stdout lines. */
  kubectlStream(args: readonly string[]): { lines: string[]; stop(): Promise<void>; stderr(): string } {
    const child = spawn(kubectlPath(), [`--kubeconfig=${this.kubeconfig}`, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    let buf = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        lines.push(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const exited = once(child, 'exit');
    return {
      lines,
      stderr: () => err,
      stop: async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          await exited;
        }
      },
    };
  }

  /** Starts kube-controller-manager against this apiserver (admin credentials, no leader election). */
  async startControllerManager(workDir: string): Promise<void> {
    const port = await freePort();
    const args = [
      `--kubeconfig=${this.kubeconfig}`,
      `--authentication-kubeconfig=${this.kubeconfig}`,
      `--authorization-kubeconfig=${this.kubeconfig}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${port}`,
      '--leader-elect=false',
      `--service-account-private-key-file=${this.#pki.saKey}`,
      `--root-ca-file=${this.#pki.caCert}`,
      '--use-service-account-credentials=false',
      '--v=2',
    ];
    this.#kcm = launch(join(kubeBinDir(), 'kube-controller-manager'), args, join(workDir, 'kube-controller-manager.log'));
  }

  async stop(): Promise<void> {
    if (this.#kcm !== undefined) await terminate(this.#kcm);
    await terminate(this.#proc);
  }
}

function kubeconfigYaml(port: number, pki: KubePki): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: e2e',
    '  cluster:',
    `    server: https://127.0.0.1:${port}`,
    `    certificate-authority: ${pki.caCert}`,
    'users:',
    '- name: admin',
    '  user:',
    `    client-certificate: ${pki.adminCert}`,
    `    client-key: ${pki.adminKey}`,
    'contexts:',
    '- name: e2e',
    '  context:',
    '    cluster: e2e',
    '    user: admin',
    'current-context: e2e',
    '',
  ].join('\n');
}
