// `etcdctl check perf --load=s` (60 s of 150 puts/s from 50 clients, then etcdctl's own verdict on
// throughput and latency) against a 1-member etcd and then a 1-member berth on this machine, one after
// the other. The verdict depends on the machine as much as on the server, so the rule is relative:
// whenever etcd passes here, berth must pass too. The keys it wrote are checked on berth either way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { etcdctl, etcdctlVersion } from './support/etcdctl.js';
import { freePort, startServer, type Flavor } from './support/servers.js';

interface Verdict {
  readonly code: number | null;
  readonly pass: boolean;
  readonly output: string;
}

async function checkPerf(flavor: Flavor): Promise<Verdict> {
  const s = await startServer(flavor, { clientPort: await freePort(), peerPort: await freePort() });
  try {
    const r = await etcdctl(s.endpoint, ['check', 'perf', '--load=s'], { timeoutMs: 150_000 });
    const output = `${r.stdout}${r.stderr}`;
    if (flavor === 'berth') {
      // check perf deletes its prefix when it is done: the cleanup went through as well.
      const left = await etcdctl(s.endpoint, ['get', '/etcdctl-check-perf/', '--prefix', '--keys-only']);
      assert.equal(left.code, 0, left.stderr);
      assert.equal(left.stdout, '', 'check perf keys left behind');
    }
    return { code: r.code, pass: r.code === 0 && /PASS/.test(output) && !/FAIL/.test(output), output };
  } finally {
    await s.stop();
  }
}

test('etcdctl check perf --load=s: berth passes whenever etcd passes on the same machine', { timeout: 400_000 }, async (t) => {
  const v = etcdctlVersion();
  if (v instanceof Error) throw v;
  const etcd = await checkPerf('etcd');
  const berth = await checkPerf('berth');
  const verdicts = (o: string): string => o.split(/[\r\n]+/).filter((l) => /PASS|FAIL/.test(l)).join('; ');
  t.diagnostic(`etcd: ${verdicts(etcd.output)} | berth: ${verdicts(berth.output)}`);
  assert.ok(/Throughput/i.test(berth.output) || /PASS|FAIL/.test(berth.output), `check perf produced no verdict against berth:\n${berth.output}`);
  if (etcd.pass) assert.ok(berth.pass, `etcd passed, berth did not:\n${berth.output}`);
});
