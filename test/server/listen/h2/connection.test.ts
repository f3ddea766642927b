/**
 * The gRPC HTTP/2 server's connection (pkg/server/listen/h2/connection.ts): node:http2's client is
 * the peer for the behaviour a correct client sees (requests, concurrency, flow control both ways,
 * CONTINUATION, resets, graceful close), and hand-made frames on a raw socket for the errors.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http2 from 'node:http2';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { H2Connection, type H2Stream } from '../../../../pkg/server/listen/h2/connection.js';
import { FRAME_HEADER, Flag, FrameType, H2Error, PREFACE, Setting, frame, settingsFrame, windowUpdateFrame } from '../../../../pkg/server/listen/h2/frames.js';
import { encodeHeaders } from '../../../../pkg/server/listen/h2/hpack.js';
import { collectAnswer, type Answer } from '../direct-harness.js';

const RESPONSE_HEADERS = encodeHeaders([
  [':status', '200'],
  ['content-type', 'application/grpc'],
]);

interface Served {
  stream: H2Stream;
  headers: Map<string, string>;
  received: number;
  closed: boolean;
}

const served: Served[] = [];
const connections: H2Connection[] = [];
/** What the server does with a request, by its :path. */
const behaviour: Record<string, (s: Served, body: Buffer) => void> = {
  '/echo': (s, body) => {
    s.stream.respond(RESPONSE_HEADERS);
    s.stream.write(body);
    s.stream.end(encodeHeaders([['grpc-status', '0']]));
  },
  '/big': (s) => {
    s.stream.respond(RESPONSE_HEADERS);
    const big = Buffer.alloc(Number(s.headers.get('x-size')), 7);
    s.stream.write(big, () => (bigWritten = true));
    s.stream.end(encodeHeaders([['grpc-status', '0']]));
  },
  '/header-size': (s) => {
    s.stream.respond(RESPONSE_HEADERS);
    s.stream.write(Buffer.from(String(s.headers.get('x-big')?.length ?? -1)));
    s.stream.end(encodeHeaders([['grpc-status', '0']]));
  },
};
let bigWritten = false;
let maxStreams = 1000;

const server = createServer((sock) => {
  connections.push(
    new H2Connection(sock, {
      maxConcurrentStreams: maxStreams,
      streamWindow: 1 << 20,
      onStream: (stream, list) => {
        const headers = new Map<string, string>();
        for (let i = 0; i < list.length; i += 2) headers.set(list[i] as string, list[i + 1] as string);
        const s: Served = { stream, headers, received: 0, closed: false };
        served.push(s);
        const chunks: Buffer[] = [];
        if (headers.get('x-pause') === '1') stream.pause();
        stream.on('data', (d: Buffer) => {
          s.received += d.length;
          chunks.push(d);
        });
        stream.on('end', () => behaviour[headers.get(':path') ?? '']?.(s, Buffer.concat(chunks)));
        stream.on('close', () => (s.closed = true));
      },
    }),
  );
});
server.listen(0, '127.0.0.1');
await once(server, 'listening');
const port = (server.address() as AddressInfo).port;
after(() => server.close());

async function until(cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail('condition not reached within 10 s');
    await new Promise((r) => setImmediate(r));
  }
}

function request(client: http2.ClientHttp2Session, path: string, body: Buffer, extra: Record<string, string> = {}): Promise<Answer> {
  const req = client.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', ...extra });
  const answer = collectAnswer(req, 'reject');
  req.end(body);
  return answer;
}

test('a request and its answer: headers, body, trailers', async () => {
  const client = http2.connect(`http://127.0.0.1:${String(port)}`);
  try {
    const a = await request(client, '/echo', Buffer.from('hello'));
    assert.equal(a.headers[':status'], 200);
    assert.equal(a.headers['content-type'], 'application/grpc');
    assert.equal(a.body.toString(), 'hello');
    assert.equal(a.trailers?.['grpc-status'], '0');
  } finally {
    client.close();
  }
});

test('300 concurrent streams on one connection, and requests larger than every window', async () => {
  const client = http2.connect(`http://127.0.0.1:${String(port)}`);
  try {
    const answers = await Promise.all(Array.from({ length: 300 }, (_, i) => request(client, '/echo', Buffer.from(`req ${String(i)}`))));
    answers.forEach((a, i) => assert.equal(a.body.toString(), `req ${String(i)}`));
    // 3 MiB up: more than our 1 MiB stream window and the client's first 64 KiB windows
    const big = Buffer.alloc(3 << 20);
    for (let i = 0; i < big.length; i++) big[i] = i % 251;
    const a = await request(client, '/echo', big);
    assert.ok(a.body.equals(big));
  } finally {
    client.close();
  }
});

test('a response waits for the client window; its write callback runs once it has left', async () => {
  bigWritten = false;
  const client = http2.connect(`http://127.0.0.1:${String(port)}`, { settings: { initialWindowSize: 65_535 } });
  try {
    const before = served.length;
    const req = client.request({ ':method': 'POST', ':path': '/big', 'x-size': String(1 << 20) });
    req.pause();
    let got = 0;
    req.on('data', (d: Buffer) => (got += d.length));
    req.end();
    await until(() => served.length > before);
    const s = served[served.length - 1] as Served;
    // everything the window allows is out, the rest waits
    await until(() => s.stream.sendWindow === 0);
    assert.equal(bigWritten, false);
    req.resume();
    await once(req, 'close');
    assert.equal(got, 1 << 20);
    assert.equal(bigWritten, true);
  } finally {
    client.close();
  }
});

test('a paused stream holds its client back at our stream window', async () => {
  const client = http2.connect(`http://127.0.0.1:${String(port)}`);
  try {
    const before = served.length;
    const body = Buffer.alloc(3 << 20, 1);
    const answer = request(client, '/echo', body, { 'x-pause': '1' });
    await until(() => served.length > before);
    const s = served[served.length - 1] as Served;
    await until(() => s.received === 1 << 20);
    assert.equal(s.stream.remoteEnded, false);
    s.stream.resume();
    const a = await answer;
    assert.equal(a.body.length, 3 << 20);
  } finally {
    client.close();
  }
});

test('a header block over several CONTINUATION frames', async () => {
  const client = http2.connect(`http://127.0.0.1:${String(port)}`);
  try {
    const a = await request(client, '/header-size', Buffer.alloc(0), { 'x-big': 'v'.repeat(40_000) });
    assert.equal(a.body.toString(), '40000');
  } finally {
    client.close();
  }
});

test('a client reset closes the stream with its code', async () => {
  const client = http2.connect(`http://127.0.0.1:${String(port)}`);
  try {
    const before = served.length;
    const req = client.request({ ':method': 'POST', ':path': '/never' });
    req.on('error', () => {});
    req.write('x');
    await until(() => served.length > before);
    req.close(http2.constants.NGHTTP2_CANCEL);
    const s = served[served.length - 1] as Served;
    await until(() => s.closed);
    assert.equal(s.stream.rstCode, H2Error.CANCEL);
  } finally {
    client.close();
  }
});

test('a graceful close: GOAWAY, the open stream finishes, then the socket ends', async () => {
  const client = http2.connect(`http://127.0.0.1:${String(port)}`);
  try {
    const before = served.length;
    const req = client.request({ ':method': 'POST', ':path': '/echo' });
    let goaway = false;
    client.on('goaway', () => (goaway = true));
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.write('late');
    await until(() => served.length > before);
    const conn = connections[connections.length - 1] as H2Connection;
    conn.close();
    await until(() => goaway);
    req.end();
    await once(req, 'close');
    assert.equal(Buffer.concat(chunks).toString(), 'late');
    await until(() => conn.closed);
  } finally {
    client.close();
  }
});

// ---- hand-made frames ----

interface RawFrame {
  type: number;
  flags: number;
  stream: number;
  payload: Buffer;
}

/** Writes `bytes` after the preface and our SETTINGS, and collects frames until the server closes. */
async function raw(bytes: Buffer[], o: { preface?: boolean } = {}): Promise<RawFrame[]> {
  const sock: Socket = connect(port, '127.0.0.1');
  await once(sock, 'connect');
  const chunks: Buffer[] = [];
  sock.on('data', (d: Buffer) => chunks.push(d));
  sock.on('error', () => {});
  if (o.preface !== false) sock.write(Buffer.concat([PREFACE, settingsFrame([])]));
  for (const b of bytes) sock.write(b);
  await once(sock, 'close');
  const all = Buffer.concat(chunks);
  const frames: RawFrame[] = [];
  for (let at = 0; at + FRAME_HEADER <= all.length; ) {
    const len = all.readUIntBE(at, 3);
    frames.push({ type: all[at + 3] as number, flags: all[at + 4] as number, stream: all.readUInt32BE(at + 5), payload: all.subarray(at + 9, at + 9 + len) });
    at += FRAME_HEADER + len;
  }
  return frames;
}

function goawayCode(frames: RawFrame[]): number | undefined {
  const g = frames.find((f) => f.type === FrameType.GOAWAY);
  return g?.payload.readUInt32BE(4);
}

const GET_HEADERS = encodeHeaders([
  [':method', 'POST'],
  [':path', '/echo'],
]);

test('connection errors end with GOAWAY and the RFC 9113 code', async () => {
  const cases: [string, Buffer[], number, { preface?: boolean }?][] = [
    ['a bad preface', [Buffer.from('GET / HTTP/1.1\r\n\r\nxxxxxxxxxxxxxxxx')], H2Error.PROTOCOL_ERROR, { preface: false }],
    ['a first frame that is not SETTINGS', [PREFACE, frame(FrameType.PING, 0, 0, Buffer.alloc(8))], H2Error.PROTOCOL_ERROR, { preface: false }],
    ['DATA on stream 0', [frame(FrameType.DATA, 0, 0, Buffer.from('x'))], H2Error.PROTOCOL_ERROR],
    ['DATA on an idle stream', [frame(FrameType.DATA, 0, 5, Buffer.from('x'))], H2Error.PROTOCOL_ERROR],
    ['an even stream id', [frame(FrameType.HEADERS, Flag.END_HEADERS, 2, GET_HEADERS)], H2Error.PROTOCOL_ERROR],
    ['a header block the decoder refuses', [frame(FrameType.HEADERS, Flag.END_HEADERS, 1, Buffer.from([0x80]))], H2Error.COMPRESSION_ERROR],
    ['a frame above SETTINGS_MAX_FRAME_SIZE', [frame(FrameType.DATA, 0, 1, Buffer.alloc(16_385))], H2Error.FRAME_SIZE_ERROR],
    ['a PING of 7 octets', [frame(FrameType.PING, 0, 0, Buffer.alloc(7))], H2Error.FRAME_SIZE_ERROR],
    ['a connection window above 2^31-1', [windowUpdateFrame(0, 0x7fffffff)], H2Error.FLOW_CONTROL_ERROR],
    ['a header block interrupted by another frame', [frame(FrameType.HEADERS, 0, 1, GET_HEADERS), frame(FrameType.PING, 0, 0, Buffer.alloc(8))], H2Error.PROTOCOL_ERROR],
    ['PUSH_PROMISE from the client', [frame(FrameType.PUSH_PROMISE, Flag.END_HEADERS, 1, Buffer.alloc(4))], H2Error.PROTOCOL_ERROR],
    ['SETTINGS_MAX_FRAME_SIZE out of range', [settingsFrame([[Setting.MAX_FRAME_SIZE, 100]])], H2Error.PROTOCOL_ERROR],
  ];
  for (const [name, bytes, code, o] of cases) {
    const frames = await raw(bytes, o);
    assert.equal(goawayCode(frames), code, name);
  }
});

test('PING is answered with the same payload; SETTINGS are acknowledged', async () => {
  const sock = connect(port, '127.0.0.1');
  await once(sock, 'connect');
  const chunks: Buffer[] = [];
  sock.on('data', (d: Buffer) => chunks.push(d));
  sock.write(Buffer.concat([PREFACE, settingsFrame([[Setting.INITIAL_WINDOW_SIZE, 100_000]]), frame(FrameType.PING, 0, 0, Buffer.from('12345678'))]));
  await until(() => Buffer.concat(chunks).includes(Buffer.from('12345678')));
  const all = Buffer.concat(chunks);
  const types: [number, number][] = [];
  for (let at = 0; at + FRAME_HEADER <= all.length; at += FRAME_HEADER + all.readUIntBE(at, 3)) types.push([all[at + 3] as number, all[at + 4] as number]);
  assert.ok(types.some(([t, f]) => t === FrameType.SETTINGS && f === Flag.ACK));
  assert.ok(types.some(([t, f]) => t === FrameType.PING && f === Flag.ACK));
  sock.destroy();
});

test('a stream beyond SETTINGS_MAX_CONCURRENT_STREAMS is refused; the connection goes on', async () => {
  maxStreams = 1;
  try {
    const frames = await raw([
      frame(FrameType.HEADERS, Flag.END_HEADERS, 1, GET_HEADERS),
      frame(FrameType.HEADERS, Flag.END_HEADERS, 3, GET_HEADERS),
      frame(FrameType.DATA, Flag.END_STREAM, 1, Buffer.from('one')),
      frame(FrameType.GOAWAY, 0, 0, Buffer.alloc(8)),
    ]);
    const rst = frames.find((f) => f.type === FrameType.RST_STREAM);
    assert.equal(rst?.stream, 3);
    assert.equal(rst.payload.readUInt32BE(0), H2Error.REFUSED_STREAM);
    const data = frames.filter((f) => f.type === FrameType.DATA && f.stream === 1);
    assert.equal(Buffer.concat(data.map((f) => f.payload)).toString(), 'one');
  } finally {
    maxStreams = 1000;
  }
});
