/**
 * A TCP proxy in front of each member's peer port. Members advertise the proxy's port, so every
 * raft message and snapshot between members crosses a proxy the harness controls. The proxy of
 * member `to` learns which member opened a connection from the kernel's socket table (the source
 * port's socket inode, found among the member processes' file descriptors; Linux /proc), so rules
 * are per directed link: drop (cut existing connections, refuse new ones) and delay.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

export interface LinkRules {
  /** Whether traffic from member `from` to member `to` is dropped. */
  dropped(from: number, to: number): boolean;
  /** Added one-way latency in ms. */
  delayMs(from: number, to: number): number;
}

interface Conn {
  readonly from: number | undefined;
  readonly client: Socket;
  readonly upstream: Socket;
}

export class PeerProxy {
  readonly to: number;
  readonly port: number;
  readonly #server: Server;
  readonly #conns = new Set<Conn>();
  readonly #rules: LinkRules;
  readonly #pids: () => readonly (number | undefined)[];
  connections = 0;
  refused = 0;

  private constructor(to: number, port: number, server: Server, rules: LinkRules, pids: () => readonly (number | undefined)[]) {
    this.to = to;
    this.port = port;
    this.#server = server;
    this.#rules = rules;
    this.#pids = pids;
  }

  static async start(to: number, listenPort: number, targetPort: () => number, rules: LinkRules, pids: () => readonly (number | undefined)[]): Promise<PeerProxy> {
    const server = createServer();
    server.listen(listenPort, '127.0.0.1');
    await once(server, 'listening');
    const p = new PeerProxy(to, listenPort, server, rules, pids);
    server.on('connection', (s) => p.#accept(s, targetPort()));
    return p;
  }

  #accept(client: Socket, target: number): void {
    client.on('error', () => undefined);
    const from = sourceMember(client.remotePort, this.#pids());
    if (from !== undefined && this.#rules.dropped(from, this.to)) {
      this.refused++;
      client.destroy();
      return;
    }
    this.connections++;
    const upstream = connect(target, '127.0.0.1');
    upstream.on('error', () => undefined);
    const c: Conn = { from, client, upstream };
    this.#conns.add(c);
    const close = (): void => {
      client.destroy();
      upstream.destroy();
      this.#conns.delete(c);
    };
    client.on('close', close);
    upstream.on('close', close);
    this.#pipe(client, upstream, () => (from === undefined ? 0 : this.#rules.delayMs(from, this.to)));
    this.#pipe(upstream, client, () => (from === undefined ? 0 : this.#rules.delayMs(this.to, from)));
  }

  /** Forwards a→b, holding each chunk for the link's current delay (order kept). */
  #pipe(a: Socket, b: Socket, delay: () => number): void {
    let tail = Promise.resolve();
    a.on('data', (chunk: Buffer) => {
      const d = delay();
      if (d <= 0) {
        tail = tail.then(() => void b.write(chunk));
        return;
      }
      const due = Date.now() + d;
      a.pause();
      tail = tail.then(
        () =>
          new Promise<void>((resolve) =>
            setTimeout(() => {
              if (!b.destroyed) b.write(chunk);
              a.resume();
              resolve();
            }, Math.max(0, due - Date.now())),
          ),
      );
    });
  }

  /** Applies changed rules: connections on a now-dropped link are cut. */
  enforce(): void {
    for (const c of [...this.#conns]) {
      if (c.from !== undefined && (this.#rules.dropped(c.from, this.to) || this.#rules.dropped(this.to, c.from))) {
        c.client.destroy();
        c.upstream.destroy();
        this.#conns.delete(c);
      }
    }
  }

  async close(): Promise<void> {
    for (const c of this.#conns) {
      c.client.destroy();
      c.upstream.destroy();
    }
    this.#conns.clear();
    await new Promise<void>((r) => this.#server.close(() => r()));
  }
}

/** Which member process owns the loopback socket bound to `port` (index into pids), if any. */
export function sourceMember(port: number | undefined, pids: readonly (number | undefined)[]): number | undefined {
  if (port === undefined) return undefined;
  const inode = socketInode(port);
  if (inode === undefined) return undefined;
  const want = `socket:[${inode}]`;
  for (let i = 0; i < pids.length; i++) {
    const pid = pids[i];
    if (pid === undefined) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) === want) return i;
      } catch {
        // fd closed meanwhile
      }
    }
  }
  return undefined;
}

function socketInode(port: number): string | undefined {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      const local = f[1];
      if (local !== undefined && local.endsWith(`:${hexPort}`) && f[9] !== undefined && f[9] !== '0') return f[9];
    }
  }
  return undefined;
}
