/**
 * Micro-benchmark for the raft transport decision (issue 8): round trips between two processes over two
 * one-way channels, the shape of berth's peer streams (each member sends on its own stream to the other;
 * an append goes one way, its response comes back on the other stream). Compares a grpc-js client
 * stream (what pkg/server/transport uses) with a plain length-prefixed TCP connection.
 *
 *   node --import tsx e2e/bench/peer-hop.ts            # both variants, 5,000 round trips each
 *
 * Prints RTT p50/p90 and the measuring process's CPU per round trip (one send + one receive).
 * Loopback only; ports 24501/24502.
 */
import { fork } from 'node:child_process';
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';

type Mode = 'grpc' | 'tcp';
const PORTS = { a: 24501, b: 24502 } as const;
const ROUND_TRIPS = 5000;

interface Channel {
  send(b: Buffer): void;
  close(): void;
}

async function open(mode: Mode, role: 'a' | 'b', onMsg: (b: Buffer) => void): Promise<Channel> {
  const mine = PORTS[role];
  const peer = role === 'a' ? PORTS.b : PORTS.a;
  if (mode === 'grpc') {
    const def = {
      send: {
        path: '/bench.Hop/Send',
        requestStream: true,
        responseStream: false,
        requestSerialize: (x: Buffer) => x,
        requestDeserialize: (b: Buffer) => b,
        responseSerialize: (x: Buffer) => x,
        responseDeserialize: (b: Buffer) => b,
      },
    };
    const server = new grpc.Server();
    server.addService(def as grpc.ServiceDefinition, {
      send: ((call: grpc.ServerReadableStream<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        call.on('data', onMsg);
        call.on('end', () => cb(null, Buffer.alloc(0)));
      }) as grpc.UntypedHandleCall,
    });
    await new Promise<void>((resolve, reject) => server.bindAsync(`127.0.0.1:${String(mine)}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())));
    const Client = grpc.makeGenericClientConstructor(def as grpc.ServiceDefinition, 'Hop');
    const client = new Client(`127.0.0.1:${String(peer)}`, grpc.credentials.createInsecure(), { 'grpc.enable_retries': 0 });
    // The other process may not listen yet: the stream opens once the channel is ready; sends queue until then.
    let stream: grpc.ClientWritableStream<Buffer> | undefined;
    const queued: Buffer[] = [];
    client.waitForReady(Date.now() + 30_000, (e) => {
      if (e) throw e;
      const st = (client as unknown as { send(cb: () => void): grpc.ClientWritableStream<Buffer> }).send(() => {});
      stream = st;
      for (const b of queued.splice(0)) st.write(b);
    });
    return {
      send: (b) => (stream === undefined ? queued.push(b) : stream.write(b), undefined),
      close: () => (stream?.end(), client.close(), server.forceShutdown()),
    };
  }
  const server = net.createServer((sock) => {
    sock.setNoDelay(true);
    let buf: Buffer = Buffer.alloc(0);
    sock.on('data', (d: Buffer) => {
      buf = buf.length > 0 ? Buffer.concat([buf, d]) : d;
      while (buf.length >= 4) {
        const n = buf.readUInt32BE(0);
        if (buf.length < 4 + n) break;
        onMsg(buf.subarray(4, 4 + n));
        buf = buf.subarray(4 + n);
      }
    });
  });
  await new Promise<void>((r) => server.listen(mine, '127.0.0.1', r));
  let sock: net.Socket | undefined;
  const frames: Buffer[] = [];
  const connect = (): void => {
    const s = net.connect(peer, '127.0.0.1');
    s.on('error', () => setTimeout(connect, 50));
    s.on('connect', () => {
      s.setNoDelay(true);
      sock = s;
      for (const f of frames.splice(0)) s.write(f);
    });
  };
  connect();
  return {
    send: (b) => {
      const f = Buffer.allocUnsafe(4 + b.length);
      f.writeUInt32BE(b.length, 0);
      b.copy(f, 4);
      if (sock === undefined) frames.push(f);
      else sock.write(f);
    },
    close: () => (sock?.destroy(), server.close()),
  };
}

/** Process b: answers every message with a 60-byte one (an append response). */
async function echo(mode: Mode): Promise<void> {
  const reply = Buffer.alloc(60, 1);
  const ch: Channel = await open(mode, 'b', () => ch.send(reply));
  process.send?.('ready');
  process.on('disconnect', () => (ch.close(), process.exit(0)));
}

/** Process a: sends 350-byte messages (an append with one 256-byte entry) one at a time. */
async function measure(mode: Mode): Promise<string> {
  const child = fork(new URL(import.meta.url).pathname, ['--echo', mode], { execArgv: process.execArgv });
  await new Promise<void>((r) => child.once('message', () => r()));
  const msg = Buffer.alloc(350, 7);
  const lat: number[] = [];
  let t0 = 0n;
  let ch: Channel | undefined;
  let warm = 50;
  const cpu = { start: process.cpuUsage() };
  await new Promise<void>((done) => {
    void open(mode, 'a', () => {
      if (warm > 0) {
        warm--;
        if (warm === 0) cpu.start = process.cpuUsage();
      } else {
        lat.push(Number(process.hrtime.bigint() - t0) / 1000);
        if (lat.length >= ROUND_TRIPS) return done();
      }
      t0 = process.hrtime.bigint();
      ch?.send(msg);
    }).then((c) => {
      ch = c;
      t0 = process.hrtime.bigint();
      c.send(msg);
    });
  });
  const used = process.cpuUsage(cpu.start);
  ch?.close();
  child.disconnect();
  lat.sort((x, y) => x - y);
  const p = (q: number): string => (lat[Math.floor(lat.length * q)] as number).toFixed(0);
  return `${mode}: RTT p50 ${p(0.5)} µs, p90 ${p(0.9)} µs; CPU of the measuring process ${((used.user + used.system) / ROUND_TRIPS).toFixed(1)} µs per round trip`;
}

const at = process.argv.indexOf('--echo');
if (at >= 0) await echo(process.argv[at + 1] as Mode);
else {
  for (const mode of ['grpc', 'tcp'] as const) console.log(await measure(mode));
  process.exit(0);
}
