/**
 * The direct bidi path (pkg/server/listen/direct-bidi.ts) must answer exactly as grpc-js does. One
 * grpc.Server with one recorded bidi test service is served on two ports: through the direct path,
 * and through grpc-js alone. Every case sends the same raw HTTP/2 request messages to both and
 * compares the response headers, the body and the trailers byte for byte (minus `date`); a grpc-js
 * client sees the same results; and the reason for the path — one HTTP/2 write for the responses of
 * one turn — is observed on the stream.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http2, { type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { recordServices } from '../../../pkg/server/gateway/unary-registry.js';
import { bytesMethod, closeAll, collectAnswer, compressed, frame, listenNode, listenOwn, onEach, resetOnceStarted, strip, until, type Listening } from './direct-harness.js';
import { MessageReader, serveDirectBidi } from '../../../pkg/server/listen/direct-bidi.js';

const PATH = '/test.Svc/Chat';
const MAX = 64 * 1024;

const method = bytesMethod(PATH, true, true);

let cancelled = 0;
let started = 0;

/** The service: each request message is a command. */
function chat(call: grpc.ServerDuplexStream<Buffer, Buffer>): void {
  started++;
  if (call.metadata.get('x-throw').length > 0) throw new Error('handler threw');
  call.on('cancelled', () => cancelled++);
  // Like berth's services, nothing is written once the call is ended (grpc-js fails a write after end).
  let over = false;
  call.on('error', () => (over = true));
  const say = (s: string, cb?: () => void): void => void (over || call.write(Buffer.from(s), cb));
  const end = (md?: grpc.Metadata): void => {
    if (over) return;
    over = true;
    call.end(md);
  };
  call.on('data', (req: Buffer) => {
    if (over) return;
    const [cmd, arg = ''] = req.toString().split(':');
    switch (cmd) {
      case 'echo':
        return say(`echo:${arg}`);
      case 'burst':
        for (let i = 0; i < Number(arg); i++) say(`burst ${String(i)}`);
        return;
      case 'burst-cb': {
        let n = 0;
        const total = Number(arg);
        const taken = (): void => {
          if (++n < total) return;
          say(`callbacks ${String(n)}`);
          end();
        };
        for (let i = 0; i < total; i++) say(`cb ${String(i)}`, taken);
        return;
      }
      case 'err': {
        const md = new grpc.Metadata();
        md.set('x-err', 'yes');
        call.emit('error', Object.assign(new Error('x'), { code: grpc.status.NOT_FOUND, details: 'not found: a b%c', metadata: md }));
        return;
      }
      case 'plain-error':
        call.emit('error', new Error('plain message'));
        return;
      case 'md': {
        const md = new grpc.Metadata();
        md.set('x-h', 'head');
        call.sendMetadata(md);
        return;
      }
      case 'end-md': {
        const md = new grpc.Metadata();
        md.set('x-t', 'tail');
        end(md);
        return;
      }
      case 'pause':
        // Held while paused: what follows arrives after "resumed".
        call.pause();
        setTimeout(() => {
          say('resumed');
          call.resume();
        }, 30);
        return;
      case 'whoami': {
        const peer = call.getPeer();
        const deadline = call.getDeadline() as number;
        return say(`user=${String(call.metadata.get('x-user')[0])} peer=${/^127\.0\.0\.1:\d+$/.test(peer) ? 'ok' : peer} deadline=${deadline === Infinity ? 'none' : 'set'} te=${call.metadata.get('te').length}`);
      }
      default:
        return say(`unknown:${cmd ?? ''}`);
    }
  });
  // The client's half-close: a last word, then OK.
  call.on('end', () => {
    say('bye');
    end();
  });
}

/** A server-streaming method: "<n>" answers n messages, writing only while write() says so ('drain'). */
const FEED = '/test.Svc/Feed';
const feedMethod: grpc.MethodDefinition<Buffer, Buffer> = { ...method, path: FEED, requestStream: false };

function feed(call: grpc.ServerWritableStream<Buffer, Buffer>): void {
  const text = call.request.toString();
  if (text === 'fail') {
    call.emit('error', Object.assign(new Error('x'), { code: grpc.status.FAILED_PRECONDITION, details: 'no feed' }));
    return;
  }
  const total = Number(text);
  let i = 0;
  let drains = 0;
  const more = (): void => {
    while (i < total) {
      const ok = call.write(Buffer.from(`item ${String(i++)}`));
      if (!ok) {
        call.once('drain', () => {
          drains++;
          more();
        });
        return;
      }
    }
    call.write(Buffer.from(`drains>0 ${String(drains > 0)}`));
    call.end();
  };
  more();
}

/** Counts the writes each served HTTP/2 stream gets (the direct path's claim is about them). */
const writes = new Map<string, number>();
function counted(s: ServerHttp2Stream, h: IncomingHttpHeaders): void {
  const id = String(h['x-case'] ?? '');
  const write = s.write.bind(s) as (...a: unknown[]) => boolean;
  (s as unknown as { write: (...a: unknown[]) => boolean }).write = (...a: unknown[]): boolean => {
    writes.set(id, (writes.get(id) ?? 0) + 1);
    return write(...a);
  };
}

function listen(direct: boolean, server: grpc.Server): Promise<Listening> {
  return listenNode(server, (s, h) => {
    counted(s, h);
    return direct && serveDirectBidi(server, s, h, { maxReceiveBytes: MAX, paths: new Set([PATH, FEED]) });
  });
}

const server = new grpc.Server({ 'grpc.max_receive_message_length': MAX });
recordServices(server);
server.addService({ chat: method, feed: feedMethod } as grpc.ServiceDefinition, { chat: chat as grpc.UntypedHandleCall, feed: feed as grpc.UntypedHandleCall });
const direct = await listen(true, server);
const plain = await listen(false, server);
const own = await listenOwn(server, MAX);
after(() => closeAll(server, [direct, plain, own]));

/** The length-prefixed messages of a response body, as text. */
function messages(body: Buffer): string[] {
  const out: string[] = [];
  for (let at = 0; at + 5 <= body.length; ) {
    const len = body.readUInt32BE(at + 1);
    out.push(`${String(body[at])}:${body.subarray(at + 5, at + 5 + len).toString()}`);
    at += 5 + len;
  }
  return out;
}

interface Raw {
  headers: IncomingHttpHeaders;
  messages: string[];
  trailers: IncomingHttpHeaders | undefined;
}

/** One raw HTTP/2 bidi exchange: `body` chunks written one by one, then (unless told not to) a half-close. */
async function raw(port: number, body: Buffer[], o: { headers?: Record<string, string>; halfClose?: boolean | undefined; path?: string } = {}): Promise<Raw> {
  const client = http2.connect(`http://127.0.0.1:${port}`);
  try {
    const req = client.request({ ':method': 'POST', ':path': PATH, 'content-type': 'application/grpc', te: 'trailers', ...o.headers });
    const answer = collectAnswer(req, 'ignore');
    // A client that did not half-close ends its side once the server has ended the call (the
    // stream closes only when both sides have).
    const ended = (): void => void (o.halfClose === false && req.end());
    req.on('response', (h) => {
      if (h['grpc-status'] !== undefined) ended();
    });
    req.on('trailers', ended);
    for (const b of body) req.write(b);
    if (o.halfClose !== false) req.end();
    const a = await answer;
    return { headers: strip(a.headers) as IncomingHttpHeaders, messages: messages(a.body), trailers: strip(a.trailers) };
  } finally {
    client.close();
  }
}

const cases: { name: string; body: Buffer[]; headers?: Record<string, string>; halfClose?: boolean; path?: string }[] = [
  { name: 'server streaming: one request, answers written as write() allows', body: [frame('40')], path: FEED },
  { name: 'server streaming: the handler fails', body: [frame('fail')], path: FEED },
  { name: 'server streaming: no request message', body: [], path: FEED },
  { name: 'server streaming: a second request message', body: [Buffer.concat([frame('1'), frame('2')])], path: FEED },
  { name: 'two messages in one DATA frame, then a half-close', body: [Buffer.concat([frame('echo:a'), frame('echo:b')])] },
  { name: 'a message split over several DATA frames', body: [frame('echo:split').subarray(0, 3), frame('echo:split').subarray(3, 9), frame('echo:split').subarray(9)] },
  { name: 'a burst of responses written in one turn', body: [frame('burst:100')] },
  { name: 'write callbacks run once each response is taken', body: [frame('burst-cb:5')], halfClose: false },
  { name: 'an error after responses: trailers with its status and metadata', body: [frame('echo:x'), frame('err')] },
  { name: 'an error before any response: trailers-only', body: [frame('err')] },
  { name: 'a plain Error from the handler', body: [frame('echo:y'), frame('plain-error')] },
  { name: 'sendMetadata, then end with trailing metadata', body: [Buffer.concat([frame('md'), frame('echo:z'), frame('end-md')])] },
  { name: 'end with no response at all', body: [frame('end-md')] },
  { name: 'bytes the deserializer refuses, after a good message', body: [Buffer.concat([frame('echo:ok'), frame('bad bytes'), frame('echo:never')])] },
  { name: 'a message above the receive limit (prefix only)', body: [frame('echo:1'), frame('x', MAX + 1)] },
  { name: 'a handler that throws', body: [frame('echo:q')], headers: { 'x-throw': '1' } },
  { name: 'metadata and peer reach the handler; te is not metadata', body: [frame('whoami')], headers: { 'x-user': 'alice' } },
  { name: 'a grpc-timeout the stream ends before', body: [frame('whoami')], headers: { 'grpc-timeout': '5S' } },
  { name: 'an unparsable grpc-timeout', body: [frame('echo:t')], headers: { 'grpc-timeout': 'soon' } },
  { name: 'the deadline passes on an open stream', body: [frame('echo:late')], headers: { 'grpc-timeout': '50m' }, halfClose: false },
  { name: 'requests wait while the call is paused', body: [Buffer.concat([frame('pause'), frame('echo:after')])] },
  { name: 'a compressed-flag message with identity encoding', body: [Buffer.concat([Buffer.from([1]), frame('echo:flag').subarray(1)])] },
  { name: 'gzip-compressed requests', body: [Buffer.concat([compressed('echo:z1', 'gzip'), frame('echo:plain'), compressed('echo:z2', 'gzip')])], headers: { 'grpc-encoding': 'gzip' } },
  { name: 'a deflate-compressed request', body: [compressed('echo:d', 'deflate')], headers: { 'grpc-encoding': 'deflate' } },
  { name: 'a compressed message in an unsupported encoding', body: [frame('echo:first'), compressed('echo:x', 'gzip')], headers: { 'grpc-encoding': 'snappy' } },
  { name: 'a compressed message that does not inflate', body: [compressed('x', 'garbage')], headers: { 'grpc-encoding': 'gzip' } },
  { name: 'a compressed message that inflates beyond the limit', body: [compressed(Buffer.alloc(MAX + 1), 'gzip')], headers: { 'grpc-encoding': 'gzip' } },
  { name: 'server streaming: a gzip-compressed request', body: [compressed('3', 'gzip')], headers: { 'grpc-encoding': 'gzip' }, path: FEED },
];

for (const c of cases) {
  test(`same raw answer as grpc-js: ${c.name}`, async () => {
    const o = { headers: { ...c.headers }, halfClose: c.halfClose, ...(c.path === undefined ? {} : { path: c.path }) };
    const a = await raw(direct.port, c.body, o);
    const b = await raw(plain.port, c.body, o);
    assert.deepEqual(a, b);
    assert.deepEqual(await raw(own.port, c.body, o), b, "berth's HTTP/2 server");
    assert.ok(a.trailers !== undefined || a.headers['grpc-status'] !== undefined, 'the call ended with a status');
  });
}

test('the responses of one turn reach HTTP/2 in one write (grpc-js: one write per response)', async () => {
  const burst = async (port: number, id: string): Promise<{ messages: string[]; writes: number | undefined }> => {
    const client = http2.connect(`http://127.0.0.1:${port}`);
    try {
      const req = client.request({ ':method': 'POST', ':path': PATH, 'content-type': 'application/grpc', te: 'trailers', 'x-case': id });
      const chunks: Buffer[] = [];
      req.on('data', (d: Buffer) => chunks.push(d));
      req.on('error', () => {});
      req.write(frame('burst:100'));
      await until(() => messages(Buffer.concat(chunks)).length === 100);
      const got = { messages: messages(Buffer.concat(chunks)), writes: writes.get(id) };
      req.close(http2.constants.NGHTTP2_CANCEL);
      return got;
    } finally {
      client.close();
    }
  };
  const a = await burst(direct.port, 'burst-direct');
  const b = await burst(plain.port, 'burst-plain');
  assert.deepEqual(a.messages, b.messages);
  assert.equal(a.writes, 1);
  assert.equal(b.writes, 100);
});

test('the cases above reach the direct path (its calls are not grpc-js ones in disguise)', async () => {
  const seen: string[] = [];
  const s = new grpc.Server();
  recordServices(s);
  s.addService({ chat: method } as grpc.ServiceDefinition, {
    chat: ((call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      seen.push(call.constructor.name);
      call.end();
    }) as grpc.UntypedHandleCall,
  });
  await onEach(s, [await listen(true, s), await listen(false, s)], (port) => raw(port, []));
  assert.equal(seen.length, 2);
  assert.notEqual(seen[0], seen[1], `direct and grpc-js calls are different objects: ${seen.join(', ')}`);
});

test('a grpc-js client gets the same results from both', async () => {
  const chatWith = (port: number, texts: string[], deadlineMs?: number): Promise<string> =>
    new Promise((resolve) => {
      const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
      const md = new grpc.Metadata();
      md.set('x-user', 'bob');
      const opts = deadlineMs === undefined ? {} : { deadline: Date.now() + deadlineMs };
      const call = client.makeBidiStreamRequest(PATH, (b: Buffer) => b, (b: Buffer) => b, md, opts);
      const got: string[] = [];
      call.on('data', (b: Buffer) => got.push(b.toString()));
      call.on('error', () => {});
      call.on('status', (st: grpc.StatusObject) => {
        client.close();
        // the client's own deadline message carries timings; node:http2 adds `date` (grpc-go, and
        // berth's own HTTP/2 server, do not)
        resolve(`${got.join('|')} -> ${String(st.code)} ${st.details.replace(/ after .*$/, '')} ${JSON.stringify({ ...st.metadata.getMap(), date: undefined })}`);
      });
      for (const t of texts) call.write(Buffer.from(t));
      if (deadlineMs === undefined) call.end();
    });
  const scripts: [string[], number | undefined][] = [
    [['echo:hi', 'burst:20'], undefined],
    [['echo:a', 'err'], undefined],
    [['whoami'], undefined],
    [['md', 'echo:b', 'end-md'], undefined],
    [['echo:c'], 50],
  ];
  for (const [texts, deadline] of scripts) {
    const want = await chatWith(plain.port, texts, deadline);
    assert.equal(await chatWith(direct.port, texts, deadline), want, texts.join(','));
    assert.equal(await chatWith(own.port, texts, deadline), want, `${texts.join(',')}, berth's HTTP/2 server`);
  }
});

test('a client that resets the stream cancels the call', async () => {
  await resetOnceStarted(direct.port, PATH, frame('echo:r'), false, () => started, () => cancelled);
});

test('MessageReader: messages across chunks, several per chunk, the limit checked at the prefix', () => {
  const r = new MessageReader(10);
  const text = (got: ReturnType<MessageReader['push']>): string[] => (got as { flag: number; payload: Buffer }[]).map((m) => `${String(m.flag)}:${m.payload.toString()}`);
  const two = Buffer.concat([frame('abc'), frame('defg')]);
  assert.deepEqual(text(r.push(two.subarray(0, 2))), []);
  assert.deepEqual(text(r.push(two.subarray(2, 12))), ['0:abc']);
  assert.deepEqual(text(r.push(two.subarray(12))), ['0:defg']);
  assert.deepEqual(text(r.push(Buffer.concat([Buffer.from([1]), frame('z').subarray(1)]))), ['1:z']);
  assert.deepEqual(r.push(frame('x', 11).subarray(0, 5)), { code: grpc.status.RESOURCE_EXHAUSTED, details: 'Received message larger than max (11 vs 10)' });
  assert.deepEqual(text(new MessageReader(-1).push(frame('y'.repeat(100)))), ['0:' + 'y'.repeat(100)]);
});

