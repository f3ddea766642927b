// Differential test: the same etcdctl command battery against a real etcd (Debian etcd-server) and
// against berth, started one after the other with identical flags and ports, so that even member and
// cluster IDs must come out equal. Every command's exit code, stdout and error line must match.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { etcdctl, etcdctlVersion } from './support/etcdctl.js';
import { freePort, startCluster, type Flavor } from './support/servers.js';

interface Step {
  readonly args: readonly string[];
  readonly stdin?: string;
}

const txnSuccess = ['value("foo") = "baz"', 'mod("foo2") > "0"', 'create("foo2") > "0"', 'version("foo") = "2"', '', 'put txn-ok yes', 'get foo', 'del foo2', '', 'put txn-failed yes', '', ''].join('\n');
const txnFailure = ['value("foo") = "nope"', '', 'put never yes', '', 'get foo --prefix', 'put txn-else yes', '', ''].join('\n');

const BATTERY: readonly Step[] = [
  { args: ['put', 'foo', 'bar'] },
  { args: ['put', 'foo', 'baz', '--prev-kv'] },
  { args: ['put', 'foo1', 'v1'] },
  { args: ['put', 'foo2', 'v2'] },
  { args: ['put', 'fop', 'x'] },
  { args: ['put', 'a', '1'] },
  { args: ['put', 'z', '26'] },
  { args: ['put', 'a', '2', '-w', 'json'] },
  { args: ['get', 'foo'] },
  { args: ['get', 'foo', '--prefix'] },
  { args: ['get', 'foo', '--prefix', '--limit', '2'] },
  { args: ['get', 'foo', '--prefix', '--limit', '2', '-w', 'json'] },
  { args: ['get', 'foo', '--prefix', '--keys-only'] },
  { args: ['get', 'foo', '--prefix', '--print-value-only'] },
  { args: ['get', 'foo', '--prefix', '-w', 'json'] },
  { args: ['get', 'foo', '--prefix', '-w', 'fields'] },
  { args: ['get', 'foo', '--rev', '2'] },
  { args: ['get', 'foo', '--rev', '2', '-w', 'json'] },
  { args: ['get', 'foo', '--prefix', '--sort-by', 'MODIFY', '--order', 'DESCEND'] },
  { args: ['get', 'foo', '--prefix', '--sort-by', 'VALUE', '--order', 'ASCEND'] },
  { args: ['get', 'foo', '--prefix', '--sort-by', 'CREATE', '--order', 'DESCEND', '--limit', '2'] },
  { args: ['get', 'foo', '--prefix', '--sort-by', 'VERSION', '--order', 'DESCEND'] },
  { args: ['get', 'foo', '--prefix', '--sort-by', 'KEY', '--order', 'DESCEND', '--limit', '1', '-w', 'json'] },
  { args: ['get', 'a', '--from-key'] },
  { args: ['get', 'a', 'foo2'] },
  { args: ['get', 'nothing-here', '-w', 'json'] },
  { args: ['txn', '-w', 'json'], stdin: txnSuccess },
  { args: ['txn'], stdin: txnFailure },
  { args: ['del', 'foo1'] },
  { args: ['del', 'nothing-here'] },
  { args: ['del', 'fo', '--prefix', '--prev-kv'] },
  { args: ['del', 'fo', '--prefix', '-w', 'json'] },
  { args: ['get', '', '--prefix', '-w', 'json'] },
  { args: ['put', 'foo', 'again'] },
  { args: ['get', 'foo', '-w', 'json'] },
  { args: ['compaction', '5'] },
  { args: ['get', 'foo', '--rev', '4'] },
  { args: ['get', 'foo', '--rev', '5', '-w', 'json'] },
  { args: ['get', 'foo', '--rev', '1000'] },
  { args: ['compaction', '3'] },
  { args: ['compaction', '1000'] },
  { args: ['put', '', 'empty-key'] },
  { args: ['del', 'a', '--from-key', '--prev-kv'] },
  { args: ['get', '', '--from-key', '-w', 'json'] },
  { args: ['member', 'list'] },
  { args: ['member', 'list', '-w', 'json'] },
];

interface Observed {
  readonly step: string;
  readonly code: number | null;
  readonly stdout: string;
  /** stderr without the Go client's JSON retry logs (timestamps and random client IDs). */
  readonly stderr: string;
}

function normalizeStderr(s: string): string {
  return s
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('{"level":'))
    .join('\n');
}

type Ports = readonly { client: number; peer: number }[];

async function runBattery(flavor: Flavor, ports: Ports): Promise<Observed[]> {
  const cluster = await startCluster(flavor, ports.length, [], ports);
  try {
    const seen: Observed[] = [];
    for (const s of BATTERY) {
      const r = await etcdctl(cluster.endpoints[0] as string, s.args, s.stdin === undefined ? {} : { stdin: s.stdin });
      seen.push({ step: s.args.join(' '), code: r.code, stdout: r.stdout, stderr: normalizeStderr(r.stderr) });
    }
    return seen;
  } finally {
    await cluster.stop();
  }
}

for (const size of [1, 3]) {
  test(`etcdctl KV battery gives identical output against etcd and berth (${size} member${size > 1 ? 's' : ''})`, async (t) => {
    const version = etcdctlVersion();
    assert.ok(!(version instanceof Error), version instanceof Error ? version.message : '');
    const ports: { client: number; peer: number }[] = [];
    for (let i = 0; i < size; i++) ports.push({ client: await freePort(), peer: await freePort() });
    const etcd = await runBattery('etcd', ports);
    const berth = await runBattery('berth', ports);
    // The battery must exercise both outcomes, or equality proves little.
    assert.ok(etcd.some((o) => o.code !== 0) && etcd.some((o) => o.code === 0));
    for (let i = 0; i < BATTERY.length; i++) {
      const e = etcd[i] as Observed;
      const b = berth[i] as Observed;
      await t.test(`etcdctl ${e.step}`, () => {
        assert.deepEqual(b, e);
      });
    }
  });
}
