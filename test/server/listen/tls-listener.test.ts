// The client-port TLS stack in-process: createTlsListener → dispatchTls → gRPC injector (with
// non-gRPC HTTP/2 routed to an HTTP handler) and the HTTP/1 server. Checks the verified client CN
// reaching gRPC handlers, certificate reload, allowed CNs, and that refused handshakes are logged
// once and do not disturb the listener.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, utimesSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer } from 'node:net';
import { connect as tlsConnect, type Server as TlsServer } from 'node:tls';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { TlsMaterial, peerCertificateCommonName, requestCertificateCommonName, type TlsSettings } from '../../../pkg/tls/index.js';
import { createTlsListener } from '../../../pkg/server/listen/tls-listener.js';
import { createInjectorWithHttp } from '../../../pkg/server/listen/h2-http.js';
import { dispatchPlain, dispatchTls, type ProtocolHandlers } from '../../../pkg/server/listen/protocol-mux.js';
import { makeCrl, makeLeaf, makeTestPki, type TestPki } from '../../../e2e/compat/support/certs.js';
import { https1, https2 } from '../../../e2e/compat/support/https.js';

let dir = '';
let pki: TestPki;
const logs: { level: string; obj: Record<string, unknown>; msg: string }[] = [];
const logger = {
  info: (obj: object, msg: string): void => void logs.push({ level: 'info', obj: obj as Record<string, unknown>, msg }),
  warn: (obj: object, msg: string): void => void logs.push({ level: 'warn', obj: obj as Record<string, unknown>, msg }),
};

const WHO = {
  whoami: {
    path: '/berth.test.Who/Ami',
    requestStream: false,
    responseStream: false,
    requestSerialize: (b: Buffer): Buffer => b,
    requestDeserialize: (b: Buffer): Buffer => b,
    responseSerialize: (b: Buffer): Buffer => b,
    responseDeserialize: (b: Buffer): Buffer => b,
  },
} satisfies grpc.ServiceDefinition;

interface Stack {
  readonly material: TlsMaterial;
  readonly tlsPort: number;
  readonly plainPort: number;
  readonly listener: TlsServer;
  close(): Promise<void>;
}

async function listen(srv: NetServer | TlsServer): Promise<number> {
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  return (srv.address() as AddressInfo).port;
}

async function startStack(material: TlsMaterial, checkClientSan = false): Promise<Stack> {
  const grpcServer = new grpc.Server();
  grpcServer.addService(WHO, {
    whoami: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, Buffer.from(peerCertificateCommonName(call) ?? '<none>')),
  });
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`http ${req.method ?? ''} ${req.url ?? ''} cn=${requestCertificateCommonName(req) ?? '<none>'}`);
  };
  const http = createHttpServer(handler);
  const { injector, routed } = createInjectorWithHttp(grpcServer, grpc.ServerCredentials.createInsecure(), handler);
  assert.equal(routed, true);
  const handlers: ProtocolHandlers = { h2: (c) => injector.injectConnection(c), http1: (c) => http.emit('connection', c) };
  const listener = createTlsListener({ material, alpn: ['h2', 'http/1.1'], logger, side: 'client', checkClientSan, onConnection: (s) => dispatchTls(s, handlers) });
  const plain = createNetServer((s) => dispatchPlain(s, handlers, { onTlsHandshake: () => logger.warn({}, 'tls on plain port') }));
  const tlsPort = await listen(listener);
  const plainPort = await listen(plain);
  return {
    material,
    tlsPort,
    plainPort,
    listener,
    close: async () => {
      listener.close();
      plain.close();
      injector.destroy();
      grpcServer.forceShutdown();
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
    },
  };
}

function settings(o: Partial<TlsSettings>): TlsSettings {
  return {
    certFile: pki.server.cert,
    keyFile: pki.server.key,
    clientCertFile: '',
    clientKeyFile: '',
    trustedCaFile: pki.ca.cert,
    crlFile: '',
    clientCertAuth: true,
    selfSigned: false,
    allowedCns: [],
    allowedHostnames: [],
    minVersion: 'TLS1.2',
    maxVersion: '',
    cipherSuites: [],
    ...o,
  };
}

function whoami(target: string, creds: grpc.ChannelCredentials): Promise<string> {
  const client = new grpc.Client(target, creds);
  return new Promise<string>((resolve, reject) => {
    client.makeUnaryRequest(
      WHO.whoami.path,
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.alloc(0),
      new grpc.Metadata(),
      { deadline: Date.now() + 5000 },
      (err, res) => {
        client.close();
        if (err !== null) reject(err);
        else resolve((res ?? Buffer.alloc(0)).toString());
      },
    );
  });
}

const clientCreds = (): grpc.ChannelCredentials =>
  grpc.credentials.createSsl(readFileSync(pki.ca.cert), readFileSync(pki.client.key), readFileSync(pki.client.cert));

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'tls-listener-'));
  pki = makeTestPki(dir);
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('gRPC handlers see the verified client certificate CN; plain text has none', async () => {
  const s = await startStack(new TlsMaterial(settings({})));
  try {
    assert.equal(await whoami(`localhost:${s.tlsPort}`, clientCreds()), 'root');
    assert.equal(await whoami(`127.0.0.1:${s.plainPort}`, grpc.credentials.createInsecure()), '<none>');
    // Non-gRPC requests over h2 and HTTP/1.1 on the same TLS port reach the HTTP handler.
    const tls = { ca: readFileSync(pki.ca.cert), cert: readFileSync(pki.client.cert), key: readFileSync(pki.client.key) };
    const h2 = await https2(`https://127.0.0.1:${s.tlsPort}/health?x=1`, tls);
    assert.deepEqual([h2.status, h2.body, h2.protocol], [200, 'http GET /health?x=1 cn=root', 'h2']);
    const h1 = await https1(`https://127.0.0.1:${s.tlsPort}/v3/kv/range`, tls, { body: '{}' });
    assert.deepEqual([h1.status, h1.body], [200, 'http POST /v3/kv/range cn=root']);
    const plain = await fetch(`http://127.0.0.1:${s.plainPort}/v3/kv/range`, { method: 'POST', body: '{}' });
    assert.equal(await plain.text(), 'http POST /v3/kv/range cn=<none>');
  } finally {
    await s.close();
  }
});

test('refused handshakes: one warning each, the listener keeps serving', async () => {
  const s = await startStack(new TlsMaterial(settings({})));
  try {
    const before = logs.length;
    // No client certificate.
    await assert.rejects(whoami(`localhost:${s.tlsPort}`, grpc.credentials.createSsl(readFileSync(pki.ca.cert))));
    // Certificate from another CA.
    await assert.rejects(
      whoami(`localhost:${s.tlsPort}`, grpc.credentials.createSsl(readFileSync(pki.ca.cert), readFileSync(pki.foreignClient.key), readFileSync(pki.foreignClient.cert))),
    );
    // Plain text (an HTTP/2 preface) to the TLS port.
    await assert.rejects(whoami(`127.0.0.1:${s.tlsPort}`, grpc.credentials.createInsecure()));
    // TLS to the plain-text port.
    await assert.rejects(https1(`https://127.0.0.1:${s.plainPort}/health`, { ca: readFileSync(pki.ca.cert) }));
    const rejected = logs.slice(before).filter((l) => l.msg === 'rejected connection');
    assert.ok(rejected.length >= 3, JSON.stringify(logs.slice(before)));
    for (const l of rejected) {
      assert.equal(typeof l.obj['error'], 'string');
      assert.ok(!(l.obj['error'] as string).includes('\n'), 'a short reason, not the OpenSSL stack');
      assert.match(l.obj['remote-addr'] as string, /^127\.0\.0\.1:\d+$/);
    }
    assert.ok(rejected.some((l) => /peer did not return a certificate/.test(l.obj['error'] as string)), 'no client certificate');
    assert.ok(rejected.some((l) => /client certificate: UNABLE_TO_VERIFY_LEAF_SIGNATURE|client certificate: UNABLE_TO_GET_ISSUER_CERT/.test(l.obj['error'] as string)), 'foreign client certificate');
    assert.ok(logs.slice(before).some((l) => l.msg === 'tls on plain port'));
    assert.equal(await whoami(`localhost:${s.tlsPort}`, clientCreds()), 'root');
  } finally {
    await s.close();
  }
});

test('allowed CNs: a verified certificate with another CN is refused', async () => {
  const s = await startStack(new TlsMaterial(settings({ allowedCns: ['peer-a'] })));
  try {
    await assert.rejects(whoami(`localhost:${s.tlsPort}`, clientCreds()));
    assert.ok(logs.some((l) => l.msg === 'rejected connection' && l.obj['error'] === 'client certificate CN "root" is not allowed'));
  } finally {
    await s.close();
  }
  const peerA = makeLeaf(dir, 'peer-a', pki.ca, { cn: 'peer-a', sans: [], usages: ['clientAuth'] });
  const s2 = await startStack(new TlsMaterial(settings({ allowedCns: ['peer-a'] })));
  try {
    const creds = grpc.credentials.createSsl(readFileSync(pki.ca.cert), readFileSync(peerA.key), readFileSync(peerA.cert));
    assert.equal(await whoami(`localhost:${s2.tlsPort}`, creds), 'peer-a');
  } finally {
    await s2.close();
  }
});

function servedCn(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = tlsConnect({ host: '127.0.0.1', port, servername: 'localhost', ca: readFileSync(pki.ca.cert), cert: readFileSync(pki.client.cert), key: readFileSync(pki.client.key), ALPNProtocols: ['http/1.1'] }, () => {
      const cn = sock.getPeerCertificate().subject.CN;
      sock.destroy();
      resolve(typeof cn === 'string' ? cn : '');
    });
    sock.on('error', reject);
  });
}

test('replacing the certificate files is picked up by new connections without a restart', async () => {
  const cert = join(dir, 'live.crt');
  const key = join(dir, 'live.key');
  copyFileSync(pki.server.cert, cert);
  copyFileSync(pki.server.key, key);
  const s = await startStack(new TlsMaterial(settings({ certFile: cert, keyFile: key })));
  try {
    assert.equal(await servedCn(s.tlsPort), 'berth-server');
    const next = makeLeaf(dir, 'rotated', pki.ca, { cn: 'berth-server-rotated' });
    // Another user of the same material (the peer dialer) may notice the change first.
    const material = s.material;
    copyFileSync(next.key, key);
    copyFileSync(next.cert, cert);
    const t = new Date(Date.now() + 2000);
    utimesSync(cert, t, t);
    const before = material.generation;
    const deadline0 = Date.now() + 5000;
    while (!material.reloadIfChanged(logger, 0)) {
      assert.ok(Date.now() < deadline0, 'the other user never saw the change');
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(material.generation, before + 1);
    const deadline = Date.now() + 10_000;
    let cn = '';
    while ((cn = await servedCn(s.tlsPort)) !== 'berth-server-rotated') {
      assert.ok(Date.now() < deadline, `still serving ${cn}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(logs.some((l) => l.msg === 'reloaded TLS certificates'));
    assert.equal(await whoami(`localhost:${s.tlsPort}`, clientCreds()), 'root');
  } finally {
    await s.close();
  }
});

test('a client certificate revoked by the CRL file is refused; others are accepted', async () => {
  const revoked = makeLeaf(dir, 'revoked-client', pki.ca, { cn: 'revoked', sans: [], usages: ['clientAuth'] });
  const crl = makeCrl(dir, 'crl', pki.ca, [revoked]);
  const s = await startStack(new TlsMaterial(settings({ crlFile: crl })));
  try {
    assert.equal(await whoami(`localhost:${s.tlsPort}`, clientCreds()), 'root');
    const before = logs.length;
    const creds = grpc.credentials.createSsl(readFileSync(pki.ca.cert), readFileSync(revoked.key), readFileSync(revoked.cert));
    await assert.rejects(whoami(`localhost:${s.tlsPort}`, creds));
    assert.ok(logs.slice(before).some((l) => l.msg === 'rejected connection' && /CERT_REVOKED/.test(l.obj['error'] as string)), JSON.stringify(logs.slice(before)));
  } finally {
    await s.close();
  }
});

test('peer-style SAN check: the client certificate must cover the remote address; allowed hostnames', async () => {
  const local = makeLeaf(dir, 'san-local', pki.ca, { cn: 'peer-local', sans: ['IP:127.0.0.1'], usages: ['clientAuth'] });
  const elsewhere = makeLeaf(dir, 'san-elsewhere', pki.ca, { cn: 'peer-elsewhere', sans: ['IP:10.9.9.9', 'DNS:nowhere.invalid'], usages: ['clientAuth'] });
  const creds = (c: { cert: string; key: string }): grpc.ChannelCredentials => grpc.credentials.createSsl(readFileSync(pki.ca.cert), readFileSync(c.key), readFileSync(c.cert));
  const s = await startStack(new TlsMaterial(settings({})), true);
  try {
    assert.equal(await whoami(`localhost:${s.tlsPort}`, creds(local)), 'peer-local');
    assert.equal(await whoami(`localhost:${s.tlsPort}`, clientCreds()), 'root', 'no SANs: not checked (as etcd)');
    await assert.rejects(whoami(`localhost:${s.tlsPort}`, creds(elsewhere)));
    assert.ok(logs.some((l) => l.msg === 'rejected connection' && /do not cover the remote address 127\.0\.0\.1/.test(l.obj['error'] as string)));
  } finally {
    await s.close();
  }
  // Skipped (--experimental-peer-skip-client-san-verification): accepted.
  const s2 = await startStack(new TlsMaterial(settings({})), false);
  try {
    assert.equal(await whoami(`localhost:${s2.tlsPort}`, creds(elsewhere)), 'peer-elsewhere');
  } finally {
    await s2.close();
  }
  // Allowed hostnames: the certificate must be valid for one of them.
  const s3 = await startStack(new TlsMaterial(settings({ allowedHostnames: ['nowhere.invalid'] })));
  try {
    assert.equal(await whoami(`localhost:${s3.tlsPort}`, creds(elsewhere)), 'peer-elsewhere');
    await assert.rejects(whoami(`localhost:${s3.tlsPort}`, creds(local)));
  } finally {
    await s3.close();
  }
});
