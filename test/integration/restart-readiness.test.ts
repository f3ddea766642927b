// A restarting member serves no client request before it has rejoined (knows a leader and applied what
// was committed then), like etcd, whose client listeners wait for ReadyNotify. Found with a real
// kube-apiserver (e2e/kube): its round-robin etcd client sent creates to a member that had just
// restarted, got "etcdserver: no leader" and answered HTTP 500 although two healthy members were up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServiceError } from '@grpc/grpc-js';
import { freePort, startCluster, startServer } from '../../e2e/compat/support/servers.js';
import { etcdctl } from '../../e2e/compat/support/etcdctl.js';
import { kvClient } from '../support/kv-client.js';

test('a restarted member holds client requests until it has rejoined: no "no leader" answers', async () => {
  const ports: { client: number; peer: number }[] = [];
  for (let i = 0; i < 3; i++) ports.push({ client: await freePort(), peer: await freePort() });
  const initialCluster = ports.map((p, i) => `m${i}=http://127.0.0.1:${p.peer}`).join(',');
  const cluster = await startCluster('berth', 3, [], ports);
  const restarted: { stop(): Promise<void> }[] = [];
  try {
    // kill a follower, move the cluster on without it
    const st = await etcdctl(cluster.endpoints.join(','), ['endpoint', 'status', '-w', 'json']);
    assert.equal(st.code, 0, st.stderr);
    const statuses = JSON.parse(st.stdout.replace(/"(member_id|leader)":(\d+)/g, '"$1":"$2"')) as {
      Endpoint: string;
      Status: { header: { member_id: string }; leader: string };
    }[];
    const i = statuses.findIndex((s) => s.Status.header.member_id !== s.Status.leader);
    const victim = cluster.members[i];
    assert.ok(victim !== undefined);
    await victim.kill('SIGKILL');
    const live = cluster.members.filter((m) => m !== victim).map((m) => kvClient(m.endpoint));
    for (let k = 0; k < 100; k++) await live[k % 2]?.put({ key: Buffer.from(`k${k}`), value: Buffer.from('v') });
    for (const c of live) c.close();

    // restart it and write to it alone from the first moment its port may accept
    const port = ports[i];
    assert.ok(port !== undefined);
    const client = kvClient(`127.0.0.1:${port.client}`, { deadlineMs: 15_000 });
    const answers: string[] = [];
    let done = false;
    const probe = (async () => {
      for (let n = 0; !done && n < 2000; n++) {
        try {
          await client.put({ key: Buffer.from('probe'), value: Buffer.from(String(n)) });
          answers.push('ok');
        } catch (e) {
          const err = e as ServiceError;
          // before the process listens the connection is refused: not an answer from berth
          if (/ECONNREFUSED|No connection established|connect/i.test(err.details)) {
            await new Promise((r) => setTimeout(r, 10));
            continue;
          }
          answers.push(err.details);
        }
      }
    })();
    const proc = await startServer('berth', {
      name: `m${i}`,
      clientPort: port.client,
      peerPort: port.peer,
      dataDir: victim.dataDir,
      initialCluster,
      readyTimeoutMs: 30_000,
    });
    restarted.push(proc);
    const bound = Date.now() + 15_000;
    while (answers.filter((a) => a === 'ok').length < 20 && Date.now() < bound) await new Promise((r) => setTimeout(r, 20));
    done = true;
    await probe;
    client.close();
    const failures = answers.filter((a) => a !== 'ok');
    assert.deepEqual(failures, [], 'the restarted member answered before it had rejoined');
    assert.ok(answers.length >= 20, `only ${answers.length} answers`);
  } finally {
    for (const r of restarted) await r.stop();
    await cluster.stop();
  }
});
