/**
 * The direct unary path (pkg/server/listen/direct-unary.ts) must answer exactly as grpc-js does. One
 * grpc.Server with one recorded test service is served on two ports: through the direct path, and
 * through grpc-js alone. Every case sends the same raw HTTP/2 request to both and compares the
 * response headers, the body and the trailers byte for byte (minus `date`), and a grpc-js client
 * sees the same results.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http2, { type IncomingHttpHeaders } from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { recordServices } from '../../../pkg/server/gateway/unary-registry.js';
import { bytesMethod, closeAll, collectAnswer, compressed, frame, listenNode, listenOwn, onEach, resetOnceStarted, strip, type Listening } from './direct-harness.js';
import { serveDirectUnary } from '../../../pkg/server/listen/direct-unary.js';

const PATH = '/test.Svc/Echo';
const MAX = 64 * 1024;

const method = bytesMethod(PATH, false, false);

let cancelled = 0;
let slowStarted = 0;

/** The service: its behaviour is chosen by the request text. */
function echo(call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>): void {
  const req = call.request.toString();
  call.on('cancelled', () => cancelled++);
  if (req === 'throw') throw new Error('handler threw');
  if (req === 'err') {
    const md = new grpc.Metadata();
    md.set('x-err', 'yes');
    cb({ code: grpc.status.NOT_FOUND, details: 'not found: a b%c', metadata: md } as grpc.ServiceError);
    return;
  }
  if (req === 'plain-error') return cb(new Error('plain message'));
  if (req === 'slow') {
    slowStarted++;
    setTimeout(() => cb(null, Buffer.from('late')), 300);
    return;
  }
  if (req === 'whoami') {
    const md = call.metadata.get('x-user')[0];
    const peer = call.getPeer();
    const deadline = (call as unknown as { getDeadline(): number }).getDeadline();
    cb(null, Buffer.from(`user=${String(md)} peer=${/^127\.0\.0\.1:\d+$/.test(peer) ? 'ok' : peer} deadline=${deadline === Infinity ? 'none' : 'set'} te=${call.metadata.get('te').length}`));
    return;
  }
  setImmediate(() => cb(null, Buffer.from(`echo:${req}`)));
}

function listen(direct: boolean, server: grpc.Server): Promise<Listening> {
  return listenNode(server, (s, h) => direct && serveDirectUnary(server, s, h, { maxReceiveBytes: MAX, paths: new Set([PATH]) }));
}

const server = new grpc.Server({ 'grpc.max_receive_message_length': MAX });
recordServices(server);
server.addService({ echo: method } as grpc.ServiceDefinition, { echo: echo as grpc.UntypedHandleCall });
const direct = await listen(true, server);
const plain = await listen(false, server);
const own = await listenOwn(server, MAX);
after(() => closeAll(server, [direct, plain, own]));

interface Raw {
  headers: IncomingHttpHeaders;
  body: string;
  trailers: IncomingHttpHeaders | undefined;
}

/** One raw HTTP/2 request; `body` chunks are written one by one. */
async function raw(port: number, body: Buffer[], extra: Record<string, string> = {}): Promise<Raw> {
  const client = http2.connect(`http://127.0.0.1:${port}`);
  try {
    const req = client.request({ ':method': 'POST', ':path': PATH, 'content-type': 'application/grpc', te: 'trailers', ...extra });
    const answer = collectAnswer(req, 'ignore');
    for (const b of body) req.write(b);
    req.end();
    const a = await answer;
    return { headers: strip(a.headers) as IncomingHttpHeaders, body: a.body.toString('hex'), trailers: strip(a.trailers) };
  } finally {
    client.close();
  }
}

const cases: { name: string; body: Buffer[]; headers?: Record<string, string> }[] = [
  { name: 'a plain answer', body: [frame('hello')] },
  { name: 'an answer to a message split over several DATA frames', body: [frame('split-me').subarray(0, 3), frame('split-me').subarray(3, 7), frame('split-me').subarray(7)] },
  { name: 'an error with details needing URI encoding and metadata', body: [frame('err')] },
  { name: 'a plain Error from the handler', body: [frame('plain-error')] },
  { name: 'a handler that throws', body: [frame('throw')] },
  { name: 'bytes the deserializer refuses', body: [frame('bad bytes')] },
  { name: 'no message at all', body: [] },
  { name: 'a truncated message', body: [frame('truncated').subarray(0, 8)] },
  { name: 'two messages', body: [Buffer.concat([frame('one'), frame('two')])] },
  { name: 'a message above the receive limit (prefix only)', body: [frame('x', MAX + 1)] },
  { name: 'a second message above the limit', body: [Buffer.concat([frame('one'), frame('x', MAX + 7)])] },
  { name: 'metadata and peer reach the handler; te is not metadata', body: [frame('whoami')], headers: { 'x-user': 'alice' } },
  { name: 'a grpc-timeout the handler beats', body: [frame('whoami')], headers: { 'grpc-timeout': '5S' } },
  { name: 'an unparsable grpc-timeout', body: [frame('hello')], headers: { 'grpc-timeout': 'soon' } },
  { name: 'the deadline passes before the handler answers', body: [frame('slow')], headers: { 'grpc-timeout': '50m' } },
  { name: 'a compressed-flag message with identity encoding', body: [Buffer.concat([Buffer.from([1]), frame('flagged').subarray(1)])] },
  { name: 'a gzip-compressed request', body: [compressed('zipped', 'gzip')], headers: { 'grpc-encoding': 'gzip' } },
  { name: 'a deflate-compressed request', body: [compressed('deflated', 'deflate')], headers: { 'grpc-encoding': 'deflate' } },
  { name: 'an uncompressed message under grpc-encoding gzip', body: [frame('plain')], headers: { 'grpc-encoding': 'gzip' } },
  { name: 'a compressed message in an unsupported encoding', body: [compressed('x', 'gzip')], headers: { 'grpc-encoding': 'snappy' } },
  { name: 'a compressed message that does not inflate', body: [compressed('x', 'garbage')], headers: { 'grpc-encoding': 'gzip' } },
  { name: 'a compressed message that inflates beyond the limit', body: [compressed(Buffer.alloc(MAX + 1), 'gzip')], headers: { 'grpc-encoding': 'gzip' } },
];

for (const c of cases) {
  test(`same raw answer as grpc-js: ${c.name}`, async () => {
    const a = await raw(direct.port, c.body, c.headers);
    const b = await raw(plain.port, c.body, c.headers);
    assert.deepEqual(a, b);
    assert.deepEqual(await raw(own.port, c.body, c.headers), b, "berth's HTTP/2 server");
  });
}

test('the cases above reach the direct path (its answers are not grpc-js ones in disguise)', async () => {
  // grpc-js sends the OK trailers in a separate HEADERS frame after its write callback; the direct path
  // is told apart by a handler observing the call object it gets.
  const seen: string[] = [];
  const s = new grpc.Server();
  recordServices(s);
  s.addService({ echo: method } as grpc.ServiceDefinition, {
    echo: ((call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      seen.push(call.constructor.name);
      cb(null, Buffer.from('x'));
    }) as grpc.UntypedHandleCall,
  });
  await onEach(s, [await listen(true, s), await listen(false, s)], (port) => raw(port, [frame('a')]));
  assert.equal(seen.length, 2);
  assert.notEqual(seen[0], seen[1], `direct and grpc-js calls are different objects: ${seen.join(', ')}`);
});

test('a grpc-js client gets the same results from both', async () => {
  const call = (port: number, text: string, deadlineMs?: number): Promise<string> =>
    new Promise((resolve) => {
      const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
      const md = new grpc.Metadata();
      md.set('x-user', 'bob');
      const opts = deadlineMs === undefined ? {} : { deadline: Date.now() + deadlineMs };
      client.makeUnaryRequest(PATH, (b: Buffer) => b, (b: Buffer) => b, Buffer.from(text), md, opts, (err, value) => {
        client.close();
        // the client's own deadline message carries timings; node:http2 adds `date` (grpc-go, and
        // berth's own HTTP/2 server, do not)
        resolve(err ? `error ${err.code} ${err.details.replace(/ after .*$/, '')} ${JSON.stringify({ ...err.metadata.getMap(), date: undefined })}` : `ok ${String(value)}`);
      });
    });
  for (const [text, deadline] of [['hi', undefined], ['err', undefined], ['throw', undefined], ['whoami', 5000], ['slow', 50]] as const) {
    const want = await call(plain.port, text, deadline);
    assert.equal(await call(direct.port, text, deadline), want, text);
    assert.equal(await call(own.port, text, deadline), want, `${text}, berth's HTTP/2 server`);
  }
});

test('a client that resets the stream cancels the call', async () => {
  // reset once the handler has the call (and listens for 'cancelled')
  await resetOnceStarted(direct.port, PATH, frame('slow'), true, () => slowStarted, () => cancelled);
});

