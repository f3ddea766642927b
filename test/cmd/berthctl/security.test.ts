/**
 * berthctl's TLS/auth flag handling, password prompts from a non-terminal stdin, permission ranges,
 * member IDs and the transport choice per endpoint, in-process and without a server (the behaviour
 * against servers is in e2e/compat/berthctl-differential.test.ts).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { runBerthctl } from '../../../cmd/berthctl/cli.js';
import { permRange } from '../../../cmd/berthctl/commands/auth.js';
import { parseMemberId } from '../../../cmd/berthctl/commands/membership.js';
import { tlsFromFlags, userFromFlags, CONNECTION_FLAGS } from '../../../cmd/berthctl/connection.js';
import { Flags, parseFlags } from '../../../cmd/berthctl/flags.js';
import type { Io } from '../../../cmd/berthctl/io.js';
import { askPassword, readWord } from '../../../cmd/berthctl/prompt.js';
import { usesTls } from '../../../pkg/client/index.js';
import { cleanTlsMessage, tlsFailure } from '../../../pkg/client/tls-probe.js';
import { createServer } from 'node:net';
import { once } from 'node:events';

function io(argv: string[], stdin: string | Buffer[] = ''): Io & { out(): string; err(): string } {
  let stdout = '';
  let stderr = '';
  return {
    argv,
    env: {},
    stdout: { write: (s: string | Uint8Array) => (stdout += typeof s === 'string' ? s : Buffer.from(s).toString('latin1')) },
    stderr: { write: (s: string) => (stderr += s) },
    stdin: Readable.from(typeof stdin === 'string' ? [Buffer.from(stdin)] : stdin),
    out: () => stdout,
    err: () => stderr,
  };
}

const flags = (argv: string[]): Flags => new Flags(parseFlags(argv, CONNECTION_FLAGS, {}));

describe('berthctl connection flags', () => {
  it('TLS is configured by a file flag or --insecure-transport=false, as in etcdctl', () => {
    assert.equal(tlsFromFlags(flags([])), undefined);
    assert.equal(tlsFromFlags(flags(['--insecure-skip-tls-verify'])), undefined);
    assert.deepEqual(tlsFromFlags(flags(['--insecure-transport=false', '--insecure-skip-tls-verify'])), { insecureSkipVerify: true });
  });

  it('bad TLS arguments are exit 128 with etcdctl\'s messages', async () => {
    const cases: [string[], string][] = [
      [['--cacert=', 'get', 'k'], 'Error: empty string is passed to --cacert option\n'],
      [['--key', '', 'get', 'k'], 'Error: empty string is passed to --key option\n'],
      [['--cacert', '/nonexistent/ca.crt', 'get', 'k'], 'Error: open /nonexistent/ca.crt: no such file or directory\n'],
      [['--cert', '/nonexistent/c.crt', 'get', 'k'], 'Error: KeyFile and CertFile must both be present[key: , cert: /nonexistent/c.crt]\n'],
    ];
    for (const [argv, stderr] of cases) {
      const x = io(argv);
      assert.equal(await runBerthctl(x), 128, argv.join(' '));
      assert.equal(x.err(), stderr);
    }
  });

  it('the transport of an endpoint: http:// plain, https:// TLS, bare host:port as configured', () => {
    const tls = { ca: undefined, cert: undefined, key: undefined, insecureSkipVerify: false };
    assert.equal(usesTls('http://127.0.0.1:1', tls), false);
    assert.equal(usesTls('https://127.0.0.1:1', undefined), true);
    assert.equal(usesTls('127.0.0.1:1', undefined), false);
    assert.equal(usesTls('127.0.0.1:1', tls), true);
  });

  it('--user name:password, --user with --password (name taken whole), --user alone asks', async () => {
    assert.deepEqual(await userFromFlags(flags(['--user', 'root:pw:x']), io([])), { name: 'root', password: 'pw:x' });
    assert.deepEqual(await userFromFlags(flags(['--user', 'a:b', '--password', 'pw']), io([])), { name: 'a:b', password: 'pw' });
    assert.equal(await userFromFlags(flags([]), io([])), undefined);
    const x = io([], 'secret\nrest');
    assert.deepEqual(await userFromFlags(flags(['--user', 'root']), x), { name: 'root', password: 'secret' });
    assert.equal(x.out(), 'Password: \n');
  });

  it('the handshake probe: nothing to say without TCP, a reason when the server hangs up on TLS', async () => {
    assert.equal(await tlsFailure('https://127.0.0.1:1', undefined, 2000), undefined);
    const plain = createServer((sock) => sock.destroy());
    plain.listen(0, '127.0.0.1');
    await once(plain, 'listening');
    try {
      const addr = plain.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      assert.match((await tlsFailure(`https://127.0.0.1:${port}`, undefined, 5000)) ?? '', /disconnected|closed|ECONNRESET/);
    } finally {
      plain.close();
    }
  });

  it('TLS handshake errors lose OpenSSL\'s prefix and source location', () => {
    assert.equal(
      cleanTlsMessage('809C237F587F0000:error:0A000412:SSL routines:ssl3_read_bytes:sslv3 alert bad certificate:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 42\n'),
      'sslv3 alert bad certificate',
    );
    assert.equal(cleanTlsMessage('self-signed certificate in certificate chain'), 'self-signed certificate in certificate chain');
  });
});

describe('berthctl password prompts (stdin not a terminal)', () => {
  it('one line per prompt, across chunk boundaries, \\r\\n accepted; end of input is empty', async () => {
    const x = io([], [Buffer.from('fi'), Buffer.from('rst\r\nsec'), Buffer.from('ond\n')]);
    assert.equal(await askPassword(x, 'A: '), 'first');
    assert.equal(await askPassword(x, 'B: '), 'second');
    assert.equal(await askPassword(x, 'C: '), '');
    assert.equal(x.out(), 'A: \nB: \nC: \n');
  });

  it('--interactive=false reads a word (Go\'s Scanf %s)', async () => {
    assert.equal(await readWord(io([], '  tok1 tok2\n')), 'tok1');
  });

  it('user add prompts twice and checks the answers (etcdctl\'s messages, exit 128)', async () => {
    for (const [stdin, stderr] of [['a\nb\n', 'Error: given passwords are different\n'], ['\n', 'Error: empty password\n']] as const) {
      const x = io(['--endpoints', '127.0.0.1:1', 'user', 'add', 'bob'], stdin);
      assert.equal(await runBerthctl(x), 128);
      assert.equal(x.err(), stderr);
      assert.match(x.out(), /^Password of bob: \n/);
    }
  });
});

describe('berthctl member IDs and permission ranges', () => {
  it('member IDs are unsigned 64-bit hex', () => {
    assert.equal(parseMemberId('8e9e05c52164694d'), 0x8e9e05c52164694dn);
    assert.throws(() => parseMemberId('0x1'), /bad member ID arg \(strconv\.ParseUint: parsing "0x1": invalid syntax\), expecting ID in Hex/);
    assert.throws(() => parseMemberId('10000000000000000'), /value out of range/);
    assert.throws(() => parseMemberId(''), /parsing "": invalid syntax/);
  });

  it('permRange: prefix, from-key, explicit end, the empty key as the whole key space', () => {
    const r = (a: string[], p: boolean, f: boolean): [string, string] => {
      const x = permRange(a, p, f);
      return [x.key.toString('latin1'), x.rangeEnd.toString('latin1')];
    };
    assert.deepEqual(r(['/a/'], true, false), ['/a/', '/a0']);
    assert.deepEqual(r(['/a'], false, true), ['/a', '\x00']);
    assert.deepEqual(r(['/a', '/c'], false, false), ['/a', '/c']);
    assert.deepEqual(r(['/a'], false, false), ['/a', '']);
    assert.deepEqual(r([''], true, false), ['\x00', '\x00']);
    assert.deepEqual(r([''], false, false), ['\x00', '']);
    assert.throws(() => r(['/a', '/c'], true, false), /unexpected endkey argument with --prefix flag/);
    assert.throws(() => r(['/a'], true, true), /--from-key and --prefix flags are mutually exclusive/);
  });
});

describe('berthctl member and auth argument errors (no server needed)', () => {
  const cases: [string[], string][] = [
    [['member', 'add'], 'Error: member name not provided\n'],
    [['member', 'add', 'm1', 'http://a:1'], 'Error: too many arguments, did you mean --peer-urls=http://a:1\n'],
    [['member', 'add', 'm1'], 'Error: member peer urls not provided\n'],
    [['member', 'remove', 'zz'], 'Error: bad member ID arg (strconv.ParseUint: parsing "zz": invalid syntax), expecting ID in Hex\n'],
    [['member', 'update', '1'], 'Error: member peer urls not provided\n'],
    [['member', 'promote'], 'Error: member ID is not provided\n'],
    [['user', 'add', ':pw'], 'Error: empty user name is not allowed\n'],
    [['user', 'grant-role', 'u'], 'Error: user grant command requires user name and role name as its argument\n'],
    [['role', 'grant-permission', 'r', 'frob', 'k'], 'Error: invalid permission type: frob\n'],
    [['role', 'revoke-permission', 'r'], 'Error: role revoke-permission command requires role name and key [endkey] as its argument\n'],
    [['auth', 'enable', 'x'], 'Error: auth enable command does not accept any arguments\n'],
  ];
  for (const [argv, stderr] of cases) {
    it(argv.join(' '), async () => {
      const x = io(argv);
      assert.equal(await runBerthctl(x), 128);
      assert.deepEqual({ stdout: x.out(), stderr: x.err() }, { stdout: '', stderr });
    });
  }
});
