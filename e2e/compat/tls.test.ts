// TLS like etcd: the real etcdctl 3.4 and curl-style HTTPS against berth with openssl-made
// certificates (client-cert-auth, wrong CA, missing client certificate, plain text on a TLS port),
// the same etcdctl cases against real etcd with the same certificates (exit codes must match), a
// 3-member cluster whose peers talk TLS with mutual verification, an auto-TLS cluster, and the Go
// clientv3 with a TLS configuration against both servers.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTestPki, type TestPki } from './support/certs.js';
import { etcdctl, etcdctlUntilLines, etcdctlVersion } from './support/etcdctl.js';
import { buildGoProgram, parseResults, runProgram } from './support/go-program.js';
import { https1, https2, https2Stream } from './support/https.js';
import { freePort, startCluster, startServer, type Flavor, type ServerProcess } from './support/servers.js';

let dir = '';
let pki: TestPki;

before(() => {
  const v = etcdctlVersion();
  if (v instanceof Error) throw v;
  dir = mkdtempSync(join(tmpdir(), 'tls-compat-'));
  pki = makeTestPki(dir);
});

after(() => {
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

const read = (f: string): Buffer => readFileSync(f);

function serverTlsFlags(): string[] {
  return ['--cert-file', pki.server.cert, '--key-file', pki.server.key, '--trusted-ca-file', pki.ca.cert, '--client-cert-auth'];
}

function clientFlags(): string[] {
  return ['--cacert', pki.ca.cert, '--cert', pki.client.cert, '--key', pki.client.key];
}

async function startTlsServer(flavor: Flavor, extraArgs: readonly string[] = []): Promise<ServerProcess> {
  return startServer(flavor, {
    clientPort: await freePort(),
    peerPort: await freePort(),
    clientScheme: 'https',
    extraArgs: [...serverTlsFlags(), ...extraArgs],
    probeTls: { ca: read(pki.ca.cert), cert: read(pki.client.cert), key: read(pki.client.key) },
  });
}

/** Refusal cases: each must fail (non-zero exit) within its dial timeout, without harming the server. */
function refusalCases(): Record<string, readonly string[]> {
  const short = ['--dial-timeout', '2s', '--command-timeout', '3s'];
  return {
    'no client certificate': [...short, '--cacert', pki.ca.cert, 'get', 'k'],
    'client certificate from another CA': [...short, '--cacert', pki.ca.cert, '--cert', pki.foreignClient.cert, '--key', pki.foreignClient.key, 'get', 'k'],
    'server not signed by the given CA': [...short, '--cacert', pki.otherCa.cert, '--cert', pki.client.cert, '--key', pki.client.key, 'get', 'k'],
  };
}

async function etcdctlBattery(s: ServerProcess): Promise<Record<string, number | null>> {
  const codes: Record<string, number | null> = {};
  const ok = async (name: string, args: readonly string[], expectOut?: string): Promise<void> => {
    const r = await etcdctl(s.clientUrl, [...clientFlags(), ...args]);
    codes[name] = r.code;
    assert.equal(r.code, 0, `${s.flavor} ${name}: ${r.stderr}`);
    if (expectOut !== undefined) assert.equal(r.stdout, expectOut, `${s.flavor} ${name}`);
  };
  await ok('put', ['put', 'k', 'v1'], 'OK\n');
  await ok('get', ['get', 'k'], 'k\nv1\n');
  await ok('endpoint health', ['endpoint', 'health']);
  await ok('endpoint status --cluster', ['endpoint', 'status', '--cluster']);
  const w = await etcdctlUntilLines(s.clientUrl, [...clientFlags(), 'watch', 'k', '--rev', '1'], 3);
  assert.equal(w.stdout, 'PUT\nk\nv1\n', `${s.flavor} watch`);
  for (const [name, args] of Object.entries(refusalCases())) {
    const r = await etcdctl(s.clientUrl, args, { timeoutMs: 20_000 });
    codes[name] = r.code;
    assert.notEqual(r.code, 0, `${s.flavor} ${name} must be refused: ${r.stdout}`);
    assert.equal(r.signal, null, `${s.flavor} ${name} must end by itself`);
  }
  // Plain text to the TLS port.
  const plain = await etcdctl(s.clientUrl.replace('https://', 'http://'), ['--dial-timeout', '2s', 'get', 'k'], { timeoutMs: 20_000 });
  codes['plain text to a TLS port'] = plain.code;
  assert.notEqual(plain.code, 0, `${s.flavor} plain text must fail`);
  // The server survived every refusal.
  await ok('get after refusals', ['get', 'k', '--print-value-only'], 'v1\n');
  return codes;
}

test('etcdctl over TLS with client-cert-auth: berth gives the same results and exit codes as etcd', { timeout: 240_000 }, async () => {
  const results: Partial<Record<Flavor, Record<string, number | null>>> = {};
  for (const flavor of ['etcd', 'berth'] as const) {
    const s = await startTlsServer(flavor);
    try {
      results[flavor] = await etcdctlBattery(s);
      if (flavor === 'berth') {
        await until(() => /peer did not return a certificate[^\n]*"msg":"rejected connection"/.test(s.output()), 'refused handshakes are logged');
        const rejected = s.output().split('\n').filter((l) => l.includes('rejected connection'));
        assert.ok(rejected.every((l) => !l.includes('\\n')), 'one line per refused connection, no OpenSSL stack');
      }
    } finally {
      await s.stop();
    }
  }
  assert.deepEqual(results.berth, results.etcd);
});

test('HTTPS /health, /version, /metrics and the JSON gateway, over HTTP/1.1 and h2; https --listen-metrics-urls', { timeout: 120_000 }, async () => {
  const metricsPort = await freePort();
  const s = await startTlsServer('berth', ['--listen-metrics-urls', `https://127.0.0.1:${metricsPort}`]);
  try {
    const tls = { ca: read(pki.ca.cert), cert: read(pki.client.cert), key: read(pki.client.key) };
    for (const get of [https1, https2]) {
      const h = await get(`${s.clientUrl}/health`, tls);
      assert.equal(h.status, 200);
      assert.equal((JSON.parse(h.body) as { health: string }).health, 'true');
      const v = await get(`${s.clientUrl}/version`, tls);
      assert.equal(v.status, 200, v.body);
      assert.match(v.body, /"etcdserver"/);
      const m = await get(`${s.clientUrl}/metrics`, tls);
      assert.equal(m.status, 200);
      assert.match(m.body, /^etcd_server_has_leader 1$/m);
    }
    const key = Buffer.from('gw-key').toString('base64');
    const value = Buffer.from('gw-value').toString('base64');
    const put = await https2(`${s.clientUrl}/v3/kv/put`, tls, { body: JSON.stringify({ key, value }) });
    assert.equal(put.status, 200, put.body);
    assert.equal(put.protocol, 'h2');
    for (const post of [https1, https2]) {
      const r = await post(`${s.clientUrl}/v3/kv/range`, tls, { body: JSON.stringify({ key }) });
      assert.equal(r.status, 200, r.body);
      const kvs = (JSON.parse(r.body) as { kvs: { key: string; value: string }[] }).kvs;
      assert.deepEqual(kvs.map((kv) => [kv.key, kv.value]), [[key, value]]);
    }
    // The gateway's streaming watch over h2.
    const watch = https2Stream(`${s.clientUrl}/v3/watch`, tls, JSON.stringify({ create_request: { key } }));
    try {
      const created = await watch.lines(1);
      assert.equal((JSON.parse(created[0] as string) as { result: { created: boolean } }).result.created, true);
      const later = Buffer.from('gw-value-2').toString('base64');
      assert.equal((await https1(`${s.clientUrl}/v3/kv/put`, tls, { body: JSON.stringify({ key, value: later }) })).status, 200);
      const got = await watch.lines(2);
      const ev = JSON.parse(got[1] as string) as { result: { events: { kv: { value: string } }[] } };
      assert.equal(ev.result.events[0]?.kv.value, later);
    } finally {
      watch.close();
    }
    // No client certificate, or a CA that did not sign the server: the handshake fails.
    await assert.rejects(https1(`${s.clientUrl}/health`, { ca: tls.ca }));
    await assert.rejects(https1(`${s.clientUrl}/health`, { ca: read(pki.otherCa.cert), cert: tls.cert, key: tls.key }), /self[- ]signed|unable to (verify|get)/i);
    // The separate metrics listener speaks TLS with the client certificate rules.
    const metrics = await https1(`https://127.0.0.1:${metricsPort}/metrics`, tls);
    assert.equal(metrics.status, 200);
    assert.match(metrics.body, /^etcd_server_has_leader 1$/m);
    await assert.rejects(https1(`https://127.0.0.1:${metricsPort}/metrics`, { ca: tls.ca }));
    await assert.rejects(fetch(`http://127.0.0.1:${metricsPort}/metrics`));
    // Plain HTTP to the TLS port: no answer, and the server carries on.
    await assert.rejects(fetch(`${s.clientUrl.replace('https://', 'http://')}/health`));
    assert.equal((await https1(`${s.clientUrl}/health`, tls)).status, 200);
  } finally {
    await s.stop();
  }
});

test('TLS to a plain-text port is refused with one log line; the server keeps serving', { timeout: 60_000 }, async () => {
  const s = await startServer('berth', { clientPort: await freePort(), peerPort: await freePort() });
  try {
    const r = await etcdctl(s.clientUrl.replace('http://', 'https://'), ['--dial-timeout', '2s', ...clientFlags(), 'get', 'k'], { timeoutMs: 20_000 });
    assert.notEqual(r.code, 0);
    await assert.rejects(https1(`${s.clientUrl.replace('http://', 'https://')}/health`, { ca: read(pki.ca.cert) }));
    const ok = await etcdctl(s.endpoint, ['put', 'k', 'v']);
    assert.equal(ok.code, 0, ok.stderr);
    await until(() => /TLS handshake on a plain-text port/.test(s.output()), 'TLS on the plain port logged');
  } finally {
    await s.stop();
  }
});

async function until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    assert.ok(Date.now() < deadline, `timed out waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A TLS handshake with the given client certificate (or none); resolves to the outcome. */
function handshake(port: number, client: { cert: string; key: string } | undefined, ca: string): Promise<'accepted' | 'refused'> {
  return new Promise((resolve) => {
    const s = tlsConnect({
      host: '127.0.0.1',
      port,
      servername: 'localhost',
      ca: read(ca),
      ALPNProtocols: ['h2'],
      ...(client !== undefined ? { cert: read(client.cert), key: read(client.key) } : {}),
    });
    let settled = false;
    const done = (r: 'accepted' | 'refused'): void => {
      if (settled) return;
      settled = true;
      s.destroy();
      resolve(r);
    };
    // TLS 1.3: the server judges the client certificate after the client's handshake is done, so
    // wait for the server's first bytes (its HTTP/2 SETTINGS) or the close that refuses us.
    s.once('data', () => done('accepted'));
    s.once('error', () => done('refused'));
    s.once('close', () => done('refused'));
  });
}

test('3 members with peer TLS (mutual verification) form a cluster and replicate; foreign peers are refused', { timeout: 120_000 }, async () => {
  const ports = [];
  for (let i = 0; i < 3; i++) ports.push({ client: await freePort(), peer: await freePort() });
  const c = await startCluster(
    'berth',
    3,
    ['--peer-cert-file', pki.server.cert, '--peer-key-file', pki.server.key, '--peer-trusted-ca-file', pki.ca.cert, '--peer-client-cert-auth'],
    ports,
    { peerScheme: 'https' },
  );
  try {
    const put = await etcdctl(c.endpoints[0] as string, ['put', 'replicated', 'over-tls']);
    assert.equal(put.code, 0, put.stderr);
    for (const m of c.members) {
      const g = await etcdctl(m.endpoint, ['get', 'replicated', '--print-value-only']);
      assert.equal(g.stdout, 'over-tls\n', `${m.endpoint}: ${g.stderr}`);
      // Serializable: this member's own applied state has the write.
      const deadline = Date.now() + 10_000;
      for (;;) {
        const local = await etcdctl(m.endpoint, ['get', 'replicated', '--print-value-only', '--consistency', 's']);
        if (local.stdout === 'over-tls\n') break;
        assert.ok(Date.now() < deadline, `${m.endpoint} never applied the write`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const list = await etcdctl(c.endpoints[0] as string, ['member', 'list']);
    assert.equal(list.stdout.split('\n').filter((l) => l.includes(', https://127.0.0.1:')).length, 3, list.stdout);
    // The peer port verifies client certificates against the peer CA.
    const peerPort = (ports[0] as { peer: number }).peer;
    assert.equal(await handshake(peerPort, pki.server, pki.ca.cert), 'accepted');
    assert.equal(await handshake(peerPort, pki.foreignClient, pki.ca.cert), 'refused');
    assert.equal(await handshake(peerPort, undefined, pki.ca.cert), 'refused');
    // The log lines travel through a pipe: poll for them (bounded).
    const m0 = c.members[0] as ServerProcess;
    await until(() => /"side":"peer"[^\n]*"error":"client certificate: [A-Z_]+"[^\n]*"msg":"rejected connection"/.test(m0.output()), 'foreign certificate logged');
    await until(() => /"side":"peer"[^\n]*"error":"peer did not return a certificate"/.test(m0.output()), 'missing certificate logged');
    const after = await etcdctl(c.endpoints[2] as string, ['put', 'still', 'fine']);
    assert.equal(after.code, 0, after.stderr);
  } finally {
    await c.stop();
  }
});

test('auto TLS cluster (--auto-tls --peer-auto-tls): forms, etcdctl --insecure-skip-tls-verify works, a CA check does not', { timeout: 120_000 }, async () => {
  const c = await startCluster('berth', 3, ['--auto-tls', '--peer-auto-tls'], undefined, {
    clientScheme: 'https',
    peerScheme: 'https',
    probeTls: { rejectUnauthorized: false },
  });
  try {
    const url = (m: ServerProcess): string => m.clientUrl;
    const put = await etcdctl(url(c.members[0] as ServerProcess), ['--insecure-skip-tls-verify', '--insecure-transport=false', 'put', 'auto', 'tls']);
    assert.equal(put.code, 0, put.stderr);
    for (const m of c.members) {
      const g = await etcdctl(url(m), ['--insecure-skip-tls-verify', '--insecure-transport=false', 'get', 'auto', '--print-value-only']);
      assert.equal(g.stdout, 'tls\n', g.stderr);
      for (const side of ['client', 'peer']) {
        const certFile = join(m.dataDir, 'fixtures', side, 'cert.pem');
        assert.ok(existsSync(certFile) && existsSync(join(m.dataDir, 'fixtures', side, 'key.pem')), `${side} fixtures in ${m.dataDir}`);
        const cert = new X509Certificate(readFileSync(certFile));
        assert.equal(cert.checkIP('127.0.0.1'), '127.0.0.1');
        assert.ok(cert.verify(cert.publicKey), 'self-signed');
      }
    }
    // Verifying the self-signed certificate against a CA fails, as with etcd.
    const verified = await etcdctl(url(c.members[0] as ServerProcess), ['--dial-timeout', '2s', '--cacert', pki.ca.cert, 'get', 'auto'], { timeoutMs: 20_000 });
    assert.notEqual(verified.code, 0);
  } finally {
    await c.stop();
  }
});

test('the Go clientv3 over TLS with a client certificate: the same cases pass against etcd and berth', { timeout: 15 * 60_000 }, async () => {
  const bin = await buildGoProgram();
  const cases = ['rev/fresh-store', 'kv/prev-kv', 'txn/compare-kinds', 'watch/prefix', 'lease/lifecycle', 'maintenance/status', 'cluster/member-list'];
  const run = `^(${cases.map((c) => c.replace(/\//g, '\\/')).join('|')})$`;
  for (const flavor of ['etcd', 'berth'] as const) {
    const s = await startTlsServer(flavor);
    try {
      const common = ['--endpoints', s.clientUrl, '--flavor', flavor, '--members', '1', '--case-timeout', '20s'];
      const r = await runProgram(bin, [...common, '--run', run, '--cacert', pki.ca.cert, '--cert', pki.client.cert, '--key', pki.client.key], { timeoutMs: 5 * 60_000 });
      const results = parseResults(r.stdout);
      assert.deepEqual([...results.keys()], cases, `${flavor}: ${r.stderr}`);
      for (const c of results.values()) assert.ok(c.ok, `${flavor} ${c.name}: ${c.detail}`);
      assert.equal(r.code, 0, r.stderr);
      // Without a client certificate the calls fail (the handshake is refused).
      const refused = await runProgram(bin, [...common, '--case-timeout', '3s', '--run', '^kv/prev-kv$', '--cacert', pki.ca.cert], { timeoutMs: 60_000 });
      assert.equal(parseResults(refused.stdout).get('kv/prev-kv')?.ok, false, `${flavor}: must be refused`);
      assert.equal(refused.code, 1);
    } finally {
      await s.stop();
    }
  }
});

test('auto TLS, single member: etcdctl/Go client exit codes and the fixtures layout match etcd', { timeout: 15 * 60_000 }, async () => {
  const results: Partial<Record<Flavor, Record<string, number | null>>> = {};
  for (const flavor of ['etcd', 'berth'] as const) {
    const s = await startServer(flavor, {
      clientPort: await freePort(),
      peerPort: await freePort(),
      clientScheme: 'https',
      peerScheme: 'https',
      extraArgs: ['--auto-tls', '--peer-auto-tls'],
      probeTls: { rejectUnauthorized: false },
    });
    try {
      const short = ['--dial-timeout', '2s', '--command-timeout', '3s'];
      const codes: Record<string, number | null> = {};
      // etcdctl 3.4 dials plain text unless --insecure-transport=false or a certificate flag is given,
      // so --insecure-skip-tls-verify alone fails against a TLS port (against etcd too).
      const skip = ['--insecure-transport=false', '--insecure-skip-tls-verify'];
      const cases: Record<string, readonly string[]> = {
        'skip verify put': [...skip, 'put', 'a', 'b'],
        'skip verify get': [...skip, 'get', 'a'],
        'skip verify endpoint health': [...skip, 'endpoint', 'health'],
        'skip verify without --insecure-transport=false': [...short, '--insecure-skip-tls-verify', 'get', 'a'],
        'verify against a CA': [...short, '--cacert', pki.ca.cert, 'get', 'a'],
        'verify against system roots': [...short, '--insecure-transport=false', 'get', 'a'],
      };
      for (const [name, args] of Object.entries(cases)) codes[name] = (await etcdctl(s.clientUrl, args, { timeoutMs: 20_000 })).code;
      for (const side of ['client', 'peer']) {
        codes[`fixtures/${side}`] = existsSync(join(s.dataDir, 'fixtures', side, 'cert.pem')) && existsSync(join(s.dataDir, 'fixtures', side, 'key.pem')) ? 1 : 0;
      }
      const h = await https1(`${s.clientUrl}/health`, { rejectUnauthorized: false });
      codes['curl -k /health'] = h.status;
      // The Go clientv3 with InsecureSkipVerify.
      const go = await runProgram(
        await buildGoProgram(),
        ['--endpoints', s.clientUrl, '--flavor', flavor, '--members', '1', '--case-timeout', '20s', '--run', '^(kv/prev-kv|watch/prefix)$', '--insecure-skip-tls-verify'],
        { timeoutMs: 5 * 60_000 },
      );
      assert.equal([...parseResults(go.stdout).values()].filter((c) => c.ok).length, 2, `${flavor} Go client: ${go.stdout}${go.stderr}`);
      codes['Go clientv3 InsecureSkipVerify'] = go.code;
      results[flavor] = codes;
    } finally {
      await s.stop();
    }
  }
  assert.equal(results.etcd?.['skip verify get'], 0, 'the etcd run itself must work');
  assert.equal(results.etcd?.['fixtures/client'], 1);
  assert.deepEqual(results.berth, results.etcd);
});

test('an https client URL without certificate files: berth and etcd both refuse to start', { timeout: 60_000 }, async () => {
  for (const flavor of ['etcd', 'berth'] as const) {
    await assert.rejects(
      startServer(flavor, { clientPort: await freePort(), peerPort: await freePort(), clientScheme: 'https', readyTimeoutMs: 20_000 }),
      (err: Error) => {
        assert.match(err.message, /exited during start-up/, `${flavor}: ${err.message}`);
        if (flavor === 'berth') assert.match(err.message, /TLS key\/cert \(--cert-file, --key-file\) must be provided for client url https:\/\/127\.0\.0\.1:\d+ with HTTPS scheme/);
        return true;
      },
    );
  }
});
