import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect, createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import http2 from 'node:http2';
import { once, EventEmitter } from 'node:events';
import hpack, { type HpackHeader } from 'hpack.js';
import { AuthorityFixStream, stripScheme } from '../../../pkg/server/listen/authority-fix.js';
import { dispatchPlain } from '../../../pkg/server/listen/protocol-mux.js';
import { PREFACE, frame } from './h2-frames.js';

const SETTINGS = frame(0x4, 0, 0, Buffer.alloc(0));

interface Seen {
  authority: string | undefined;
  big: number;
}

/** A node:http2 server behind the wrapper (or behind dispatchPlain), answering 200 to everything. */
async function startServer(t: TestContext, via: 'wrapper' | 'mux' = 'wrapper') {
  const seen: Seen[] = [];
  const wrappers: AuthorityFixStream[] = [];
  const h2 = http2.createServer();
  h2.on('stream', (stream, headers) => {
    const big = headers['x-big'];
    seen.push({
      authority: headers[':authority'],
      big: typeof big === 'string' ? big.length : 0,
    });
    stream.respond({ ':status': 200 });
    stream.end('ok');
  });
  const net = createNetServer((socket) => {
    if (via === 'mux') {
      dispatchPlain(
        socket,
        {
          h2: (c) => {
            wrappers.push(c as AuthorityFixStream);
            h2.emit('connection', c);
          },
          http1: (c) => c.destroy(),
        },
        { fixAuthority: true },
      );
      return;
    }
    const w = new AuthorityFixStream(socket);
    wrappers.push(w);
    h2.emit('connection', w);
  });
  net.listen(0, '127.0.0.1');
  await once(net, 'listening');
  t.after(() => {
    net.close();
    h2.close();
  });
  return { port: (net.address() as AddressInfo).port, seen, wrappers };
}

/** A hand-rolled HTTP/2 client: writes raw bytes, decodes the server's response headers. */
class RawClient extends EventEmitter {
  readonly statuses = new Map<number, string>();
  readonly #socket: Socket;
  #buf = Buffer.alloc(0);
  readonly #decomp = hpack.decompressor.create({ table: { maxSize: 4096 } });
  #block: Buffer[] = [];

  private constructor(socket: Socket) {
    super();
    this.#socket = socket;
    socket.on('data', (d: Buffer) => this.#onData(d));
    socket.on('error', () => {});
  }

  static async open(t: TestContext, port: number): Promise<RawClient> {
    const s = netConnect(port, '127.0.0.1');
    await once(s, 'connect');
    t.after(() => s.destroy());
    const c = new RawClient(s);
    c.write(Buffer.concat([PREFACE, SETTINGS]));
    return c;
  }

  write(b: Buffer): void {
    this.#socket.write(b);
  }

  async status(streamId: number): Promise<string> {
    while (!this.statuses.has(streamId)) {
      const [ev] = (await Promise.race([once(this, 'response'), once(this.#socket, 'close').then(() => ['close'])])) as [string];
      if (ev === 'close' && !this.statuses.has(streamId)) throw new Error(`connection closed before response on stream ${streamId}`);
    }
    return this.statuses.get(streamId)!;
  }

  #onData(d: Buffer): void {
    this.#buf = Buffer.concat([this.#buf, d]);
    while (this.#buf.length >= 9) {
      const len = this.#buf.readUIntBE(0, 3);
      if (this.#buf.length < 9 + len) break;
      const type = this.#buf[3]!;
      const flags = this.#buf[4]!;
      const sid = this.#buf.readUInt32BE(5) & 0x7fffffff;
      let payload = this.#buf.subarray(9, 9 + len);
      this.#buf = this.#buf.subarray(9 + len);
      if (type === 0x4 && (flags & 0x1) === 0) this.write(frame(0x4, 0x1, 0, Buffer.alloc(0)));
      if (type === 0x3) this.emit('rst', sid, payload.readUInt32BE(0));
      if (type === 0x1 || type === 0x9) {
        if (type === 0x1) {
          let start = 0;
          let end = payload.length;
          if (flags & 0x8) {
            end -= payload[0]!;
            start = 1;
          }
          if (flags & 0x20) start += 5;
          payload = payload.subarray(start, end);
        }
        this.#block.push(Buffer.from(payload));
        if (flags & 0x4) {
          this.#decomp.write(Buffer.concat(this.#block));
          this.#block = [];
          this.#decomp.execute();
          for (let h = this.#decomp.read() as HpackHeader | null; h !== null; h = this.#decomp.read() as HpackHeader | null) {
            if (h.name === ':status') this.statuses.set(sid, h.value);
          }
          this.emit('response');
        }
      }
    }
  }
}

function request(authority: string, extra: HpackHeader[] = []): HpackHeader[] {
  return [
    { name: ':method', value: 'GET' },
    { name: ':scheme', value: 'http' },
    { name: ':path', value: '/x' },
    { name: ':authority', value: authority },
    ...extra,
  ];
}

function encode(comp: ReturnType<typeof hpack.compressor.create>, headers: HpackHeader[]): Buffer {
  comp.write(headers);
  return comp.read() as Buffer;
}

test('stripScheme turns a URL authority into host:port', () => {
  assert.equal(stripScheme('http://127.0.0.1:2379'), '127.0.0.1:2379');
  assert.equal(stripScheme('https://[::1]:2379/'), '[::1]:2379');
  assert.equal(stripScheme('127.0.0.1:2379'), '127.0.0.1:2379');
});

test('a Huffman-coded URL authority in a padded HEADERS frame with PRIORITY is rewritten', async (t) => {
  const srv = await startServer(t);
  const c = await RawClient.open(t, srv.port);
  const block = encode(hpack.compressor.create({ table: { maxSize: 4096 } }), request('http://127.0.0.1:1'));
  const pad = 7;
  const payload = Buffer.concat([Buffer.from([pad]), Buffer.from([0, 0, 0, 0, 15]), block, Buffer.alloc(pad)]);
  c.write(frame(0x1, 0x1 | 0x4 | 0x8 | 0x20, 1, payload));
  assert.equal(await c.status(1), '200');
  assert.equal(srv.seen[0]!.authority, '127.0.0.1:1');
  assert.equal(srv.wrappers[0]!.mode, 'rewrite');
  assert.equal(srv.wrappers[0]!.remoteAddress, '127.0.0.1');
});

test('a raw-coded URL authority split across CONTINUATION frames is rewritten', async (t) => {
  const srv = await startServer(t);
  const c = await RawClient.open(t, srv.port);
  const comp = hpack.compressor.create({ table: { maxSize: 4096 } });
  const block = encode(
    comp,
    request('http://127.0.0.1:1').map((h) => ({ ...h, huffman: false })),
  );
  assert.ok(block.includes(Buffer.from('http://127.0.0.1:1')), 'authority is sent as raw octets');
  const a = block.subarray(0, 5);
  const b = block.subarray(5, 17);
  const rest = block.subarray(17);
  const pad = 3;
  c.write(
    Buffer.concat([
      frame(0x1, 0x1 | 0x8, 1, Buffer.concat([Buffer.from([pad]), a, Buffer.alloc(pad)])),
      frame(0x9, 0, 1, b),
      frame(0x9, 0x4, 1, rest),
    ]),
  );
  assert.equal(await c.status(1), '200');
  assert.equal(srv.seen[0]!.authority, '127.0.0.1:1');
});

test('requests whose authority comes from the dynamic table keep working on one connection', async (t) => {
  const srv = await startServer(t);
  const c = await RawClient.open(t, srv.port);
  const comp = hpack.compressor.create({ table: { maxSize: 4096 } });
  const first = encode(comp, request('http://127.0.0.1:1', [{ name: 'x-trace', value: 'one' }]));
  c.write(frame(0x1, 0x1 | 0x4, 1, first));
  assert.equal(await c.status(1), '200');
  // Byte by byte, to exercise the frame parser's reassembly.
  const second = frame(0x1, 0x1 | 0x4, 3, encode(comp, request('http://127.0.0.1:1', [{ name: 'x-trace', value: 'one' }])));
  assert.ok(second.length < 9 + 8, `second block is all indexed (${second.length - 9} octets)`);
  for (const byte of second) c.write(Buffer.from([byte]));
  assert.equal(await c.status(3), '200');
  // A header block larger than one frame comes back out as HEADERS + CONTINUATION.
  const big = 'v'.repeat(20_000);
  const third = encode(comp, request('http://127.0.0.1:1', [{ name: 'x-big', value: big, incremental: false }]));
  const split = 16_000;
  c.write(Buffer.concat([frame(0x1, 0x1, 5, third.subarray(0, split)), frame(0x9, 0x4, 5, third.subarray(split))]));
  assert.equal(await c.status(5), '200');
  assert.deepEqual(
    srv.seen.map((s) => s.authority),
    ['127.0.0.1:1', '127.0.0.1:1', '127.0.0.1:1'],
  );
  assert.equal(srv.seen[2]!.big, 20_000);
  assert.equal(srv.wrappers[0]!.mode, 'rewrite');
});

test('a normal client is passed through untouched after its first request', async (t) => {
  const srv = await startServer(t);
  const client = http2.connect(`http://127.0.0.1:${srv.port}`);
  t.after(() => client.close());
  for (let i = 0; i < 3; i++) {
    const req = client.request({ ':path': '/x' });
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    await once(req, 'end');
    assert.equal(body, 'ok');
  }
  assert.equal(srv.wrappers[0]!.mode, 'passthrough');
  assert.deepEqual(
    srv.seen.map((s) => s.authority),
    Array(3).fill(`127.0.0.1:${srv.port}`),
  );
});

test('dispatchPlain with fixAuthority wraps HTTP/2 connections so a URL authority is served', async (t) => {
  const srv = await startServer(t, 'mux');
  const c = await RawClient.open(t, srv.port);
  c.write(frame(0x1, 0x1 | 0x4, 1, encode(hpack.compressor.create({ table: { maxSize: 4096 } }), request('http://127.0.0.1:1'))));
  assert.equal(await c.status(1), '200');
  assert.equal(srv.seen[0]!.authority, '127.0.0.1:1');
  assert.ok(srv.wrappers[0] instanceof AuthorityFixStream);
  assert.equal(srv.wrappers[0].mode, 'rewrite');
});

test('dynamic table size updates from the client are followed in rewrite mode', async (t) => {
  const srv = await startServer(t);
  const c = await RawClient.open(t, srv.port);
  const comp = hpack.compressor.create({ table: { maxSize: 4096 } });
  c.write(frame(0x1, 0x1 | 0x4, 1, encode(comp, request('http://127.0.0.1:1', [{ name: 'x-a', value: 'a' }]))));
  assert.equal(await c.status(1), '200');
  // Evict everything (size 0), restore 4096, then index fresh entries.
  comp.updateTableSize(0);
  comp.updateTableSize(4096);
  const second = Buffer.concat([Buffer.from([0x20]), encode(comp, request('http://127.0.0.1:2', [{ name: 'x-b', value: 'b' }]))]);
  c.write(frame(0x1, 0x1 | 0x4, 3, second));
  assert.equal(await c.status(3), '200');
  c.write(frame(0x1, 0x1 | 0x4, 5, encode(comp, request('http://127.0.0.1:2', [{ name: 'x-b', value: 'b' }]))));
  assert.equal(await c.status(5), '200');
  assert.deepEqual(
    srv.seen.map((s) => s.authority),
    ['127.0.0.1:1', '127.0.0.1:2', '127.0.0.1:2'],
  );
});

test('a broken frame sequence in rewrite mode closes the connection, and a client close reaches the server', async (t) => {
  const srv = await startServer(t);
  const c = await RawClient.open(t, srv.port);
  c.write(frame(0x1, 0x1 | 0x4, 1, encode(hpack.compressor.create({ table: { maxSize: 4096 } }), request('http://127.0.0.1:1'))));
  assert.equal(await c.status(1), '200');
  const closed = new Promise((resolve) => srv.wrappers[0]!.on('close', resolve));
  // HEADERS without END_HEADERS followed by a DATA frame instead of CONTINUATION.
  c.write(Buffer.concat([frame(0x1, 0x1, 3, Buffer.from([0x82])), frame(0x0, 0x1, 3, Buffer.from('x'))]));
  await closed;
  await assert.rejects(c.status(3), /connection closed/);

  const srv2 = await startServer(t);
  const c2 = http2.connect(`http://127.0.0.1:${srv2.port}`);
  const req = c2.request({ ':path': '/x' });
  req.resume();
  await once(req, 'end');
  const closed2 = new Promise((resolve) => srv2.wrappers[0]!.on('close', resolve));
  c2.destroy();
  await closed2;
});
