import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import http from 'node:http';
import http2 from 'node:http2';
import { once } from 'node:events';
import { classifyPrefix, dispatchPlain } from '../../../pkg/server/listen/protocol-mux.js';

test('classifyPrefix tells HTTP/2 prior knowledge from HTTP/1.1 and waits on a short prefix', () => {
  assert.equal(classifyPrefix(Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')), 'h2');
  assert.equal(classifyPrefix(Buffer.from('PRI * HT')), undefined);
  assert.equal(classifyPrefix(Buffer.from('GET /health HTTP/1.1\r\n')), 'http1');
  assert.equal(classifyPrefix(Buffer.from('P')), undefined);
  assert.equal(classifyPrefix(Buffer.from('POST /v3/kv/range')), 'http1');
});

test('one port serves HTTP/1.1 and HTTP/2 requests, bytes read for sniffing are not lost', async (t) => {
  const h1 = http.createServer((_req, res) => res.end('h1-ok'));
  const h2 = http2.createServer();
  h2.on('stream', (stream) => {
    stream.respond({ ':status': 200 });
    stream.end('h2-ok');
  });
  const net = createNetServer((socket) =>
    dispatchPlain(socket, { h2: (c) => h2.emit('connection', c), http1: (c) => h1.emit('connection', c) }),
  );
  net.listen(0, '127.0.0.1');
  await once(net, 'listening');
  const port = (net.address() as AddressInfo).port;
  t.after(() => {
    net.close();
    h1.close();
    h2.close();
  });

  const body1 = await new Promise<string>((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/health', agent: false }, (res) => {
        let s = '';
        res.on('data', (d: Buffer) => (s += d.toString()));
        res.on('end', () => resolve(s));
      })
      .on('error', reject);
  });
  assert.equal(body1, 'h1-ok');

  const client = http2.connect(`http://127.0.0.1:${port}`);
  t.after(() => client.close());
  const req = client.request({ ':path': '/x' });
  let body2 = '';
  req.on('data', (d: Buffer) => (body2 += d.toString()));
  await once(req, 'end');
  assert.equal(body2, 'h2-ok');
});
