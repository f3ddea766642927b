import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect, createServer as createNetServer, Socket, type AddressInfo } from 'node:net';
import http2 from 'node:http2';
import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import hpack, { type HpackHeader } from 'hpack.js';
import { AuthorityFixStream } from '../../../pkg/server/listen/authority-fix.js';
import { dispatchPlain } from '../../../pkg/server/listen/protocol-mux.js';
import { EMPTY_SETTINGS, sniffH2, type SniffVerdict } from '../../../pkg/server/listen/h2-sniff.js';
import { PREFACE, frame } from './h2-frames.js';

function headerBlock(authority: string): Buffer {
  const comp = hpack.compressor.create({ table: { maxSize: 4096 } });
  const headers: HpackHeader[] = [
    { name: ':method', value: 'GET' },
    { name: ':scheme', value: 'http' },
    { name: ':path', value: '/x' },
    { name: ':authority', value: authority },
  ];
  comp.write(headers);
  return comp.read() as Buffer;
}

/**
 * node:http2 behind dispatchPlain({ fixAuthority: true }), answering 200 `body`; records what it was
 * handed. With `grpc`, gRPC connections go to it instead (and are recorded in `toGrpc`).
 */
async function startMux(t: TestContext, o: { body?: string; grpc?: (c: Duplex) => void } = {}) {
  const handed: Duplex[] = [];
  const toGrpc: Duplex[] = [];
  const authorities: (string | undefined)[] = [];
  const h2 = http2.createServer();
  h2.on('stream', (stream, headers) => {
    authorities.push(headers[':authority']);
    stream.respond({ ':status': 200 });
    stream.end(o.body ?? 'ok');
  });
  const grpc = o.grpc;
  const net = createNetServer((socket) =>
    dispatchPlain(
      socket,
      {
        h2: (c) => {
          handed.push(c);
          h2.emit('connection', c);
        },
        http1: (c) => c.destroy(),
        ...(grpc !== undefined
          ? {
              grpc: (c: Duplex) => {
                toGrpc.push(c);
                grpc(c);
              },
            }
          : {}),
      },
      { fixAuthority: true },
    ),
  );
  net.listen(0, '127.0.0.1');
  await once(net, 'listening');
  t.after(() => {
    net.close();
    h2.close();
  });
  return { port: (net.address() as AddressInfo).port, handed, toGrpc, authorities };
}

async function get(client: http2.ClientHttp2Session): Promise<string> {
  const req = client.request({ ':path': '/x' });
  let body = '';
  req.on('data', (d: Buffer) => (body += d.toString()));
  await once(req, 'end');
  return body;
}

test('a normal HTTP/2 client is handed to the server as the native socket and keeps working', async (t) => {
  const srv = await startMux(t);
  const client = http2.connect(`http://127.0.0.1:${srv.port}`);
  t.after(() => client.close());
  for (let i = 0; i < 5; i++) assert.equal(await get(client), 'ok');
  assert.equal(srv.handed.length, 1);
  assert.ok(srv.handed[0] instanceof Socket, 'native socket, not a wrapper');
  assert.ok(!(srv.handed[0] instanceof AuthorityFixStream));
  assert.deepEqual(srv.authorities, Array(5).fill(`127.0.0.1:${srv.port}`));
});

test('a URL authority in the first request puts the connection behind the wrapper, which repairs it', async (t) => {
  const srv = await startMux(t);
  const s = netConnect(srv.port, '127.0.0.1');
  t.after(() => s.destroy());
  await once(s, 'connect');
  const got: Buffer[] = [];
  s.on('data', (d: Buffer) => got.push(d));
  s.write(Buffer.concat([PREFACE, frame(0x4, 0, 0, Buffer.alloc(0))]));
  // The sniffer's preface arrives before anything is asked of it.
  await waitUntil(() => Buffer.concat(got).subarray(0, 9).equals(EMPTY_SETTINGS));
  s.write(frame(0x4, 0x1, 0, Buffer.alloc(0))); // ACK it
  s.write(frame(0x1, 0x1 | 0x4, 1, headerBlock('http://127.0.0.1:1')));
  await waitUntil(() => srv.authorities.length === 1);
  assert.equal(srv.authorities[0], '127.0.0.1:1');
  assert.ok(srv.handed[0] instanceof AuthorityFixStream);
  assert.equal(srv.handed[0].mode, 'rewrite');
});

/** Drives sniffH2 directly over a socket pair and reports the verdict and what the server side got back. */
async function sniffPair(t: TestContext, idleMs: number, wantGrpc = false) {
  const net = createNetServer();
  net.listen(0, '127.0.0.1');
  await once(net, 'listening');
  t.after(() => net.close());
  const client = netConnect((net.address() as AddressInfo).port, '127.0.0.1');
  t.after(() => client.destroy());
  const [server] = (await once(net, 'connection')) as [Socket];
  t.after(() => server.destroy());
  const fromServer: Buffer[] = [];
  client.on('data', (d: Buffer) => fromServer.push(d));
  client.write(PREFACE);
  const [head] = (await once(server, 'data')) as [Buffer];
  let verdict: SniffVerdict | undefined;
  sniffH2(server, head, (v) => (verdict = v), idleMs, wantGrpc);
  const rest = async (): Promise<Buffer> => {
    const parts: Buffer[] = [];
    for (let b = server.read() as Buffer | null; b !== null; b = server.read() as Buffer | null) parts.push(b);
    return Buffer.concat(parts);
  };
  return { client, server, fromServer, verdict: () => verdict, rest };
}

test('the sniffer answers PINGs itself and removes them and its own SETTINGS ACK; everything else is kept in order', async (t) => {
  const p = await sniffPair(t, 10_000);
  const clientSettings = frame(0x4, 0, 0, Buffer.from([0, 3, 0, 0, 0, 100]));
  const ping = frame(0x6, 0, 0, Buffer.from('12345678'));
  const windowUpdate = frame(0x8, 0, 0, Buffer.from([0, 0, 1, 0]));
  const headers = frame(0x1, 0x4, 1, headerBlock('127.0.0.1:2379'));
  const data = frame(0x0, 0x1, 1, Buffer.from('body'));
  p.client.write(Buffer.concat([clientSettings, ping, windowUpdate, headers, data]));
  // Header block complete, but no ACK for the sniffer's SETTINGS yet: still sniffing.
  await waitUntil(() => Buffer.concat(p.fromServer).length >= 9 + 17);
  assert.equal(p.verdict(), undefined);
  const out = Buffer.concat(p.fromServer);
  assert.deepEqual(out.subarray(0, 9), EMPTY_SETTINGS);
  assert.deepEqual(out.subarray(9), frame(0x6, 0x1, 0, Buffer.from('12345678')));
  p.client.write(frame(0x4, 0x1, 0, Buffer.alloc(0)));
  await waitUntil(() => p.verdict() !== undefined);
  assert.equal(p.verdict(), 'native');
  assert.deepEqual(await p.rest(), Buffer.concat([PREFACE, clientSettings, windowUpdate, headers, data]));
});

test('a connection idle past the limit goes behind the wrapper, with its bytes intact', async (t) => {
  const p = await sniffPair(t, 50);
  const clientSettings = frame(0x4, 0, 0, Buffer.alloc(0));
  p.client.write(clientSettings);
  await waitUntil(() => p.verdict() !== undefined);
  assert.equal(p.verdict(), 'fix');
  const got = await p.rest();
  assert.deepEqual(got.subarray(0, PREFACE.length), PREFACE);
});

test("a connection idle past the limit goes to berth's gRPC server when there is one (clients dial before their first call)", async (t) => {
  const p = await sniffPair(t, 50, true);
  p.client.write(frame(0x4, 0, 0, Buffer.alloc(0)));
  await waitUntil(() => p.verdict() !== undefined);
  assert.equal(p.verdict(), 'grpc');
  const got = await p.rest();
  assert.deepEqual(got.subarray(0, PREFACE.length), PREFACE);
});

async function waitUntil(cond: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

test("with a grpc handler, a gRPC connection goes to berth's HTTP/2 server (URL authority included); other HTTP/2 stays on node:http2", async (t) => {
  const grpcServer = new (await import('@grpc/grpc-js')).Server();
  const { recordServices } = await import('../../../pkg/server/gateway/unary-registry.js');
  const { serveGrpcConnection } = await import('../../../pkg/server/listen/h2/server.js');
  recordServices(grpcServer);
  const method = { path: '/t.S/Echo', requestStream: false, responseStream: false, requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b };
  grpcServer.addService({ echo: method }, { echo: ((call: { request: Buffer }, cb: (e: null, v: Buffer) => void) => cb(null, Buffer.concat([Buffer.from('echo:'), call.request]))) as never });
  t.after(() => grpcServer.forceShutdown());
  const { port, handed: toNode, toGrpc } = await startMux(t, {
    body: 'node',
    grpc: (c) => serveGrpcConnection(grpcServer, c, { maxReceiveBytes: -1, maxConcurrentStreams: 100 }),
  });
  const grpcCall = async (authority: string): Promise<string> => {
    const client = http2.connect(`http://127.0.0.1:${port}`);
    try {
      const body = Buffer.from('hi');
      const framed = Buffer.concat([Buffer.from([0, 0, 0, 0, body.length]), body]);
      const req = client.request({ ':method': 'POST', ':path': '/t.S/Echo', ':authority': authority, 'content-type': 'application/grpc', te: 'trailers' });
      const chunks: Buffer[] = [];
      let st: unknown;
      req.on('data', (d: Buffer) => chunks.push(d));
      req.on('trailers', (h) => (st = h['grpc-status']));
      req.end(framed);
      await once(req, 'close');
      return `${Buffer.concat(chunks).subarray(5).toString()} status=${String(st)}`;
    } finally {
      client.close();
    }
  };
  assert.equal(await grpcCall(`127.0.0.1:${port}`), 'echo:hi status=0');
  assert.equal(await grpcCall(`http://127.0.0.1:${port}`), 'echo:hi status=0');
  const plain = http2.connect(`http://127.0.0.1:${port}`);
  t.after(() => plain.close());
  assert.equal(await get(plain), 'node');
  assert.equal(toGrpc.length, 2);
  assert.equal(toNode.length, 1);
});
