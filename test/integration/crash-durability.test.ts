// Durable before acknowledged, end to end: a berth process under concurrent write load is killed with
// SIGKILL at a random moment, restarted on the same data dir, and must still hold every write it
// acknowledged — with the revision it reported — and keep accepting writes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startServer } from '../../e2e/compat/support/servers.js';
import { kvClient } from '../support/kv-client.js';

const ROUNDS = 3;
const WRITERS = 16;

test('every acknowledged put survives SIGKILL and restart', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'crash-durability-'));
  const clientPort = await freePort();
  const peerPort = await freePort();
  const acked = new Map<string, { value: string; revision: bigint }>();
  try {
    // ROUNDS crashes, then one more start that only verifies.
    for (let round = 0; round <= ROUNDS; round++) {
      const server = await startServer('berth', { clientPort, peerPort, dataDir });
      const kv = kvClient(server.endpoint);
      try {
        // Everything acknowledged in earlier rounds is still there, at the revision it was written.
        for (const [key, want] of acked) {
          const r = await kv.range({ key: Buffer.from(key) });
          assert.equal(r.kvs.length, 1, `acknowledged key ${key} lost after SIGKILL`);
          assert.equal(Buffer.from(r.kvs[0]?.value ?? []).toString(), want.value);
          assert.equal(r.kvs[0]?.modRevision, want.revision);
        }
        if (round === ROUNDS) break;
        let stop = false;
        let n = 0;
        // Kill once a random number of writes (bounded) has been acknowledged.
        const target = acked.size + 200 + Math.floor(Math.random() * 800);
        let reached: () => void = () => {};
        const targetReached = new Promise<void>((r) => (reached = r));
        const writer = async (w: number): Promise<void> => {
          while (!stop) {
            const key = `r${round}/w${w}/${n++}`;
            const value = `v${n}`;
            try {
              const res = await kv.put({ key: Buffer.from(key), value: Buffer.from(value) });
              acked.set(key, { value, revision: res.header?.revision ?? -1n });
              if (acked.size >= target) reached();
            } catch {
              return; // the server died under us: the outcome of this write is unknown
            }
          }
        };
        const writers = Array.from({ length: WRITERS }, (_, w) => writer(w));
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([targetReached, new Promise<void>((r) => (timer = setTimeout(r, 20_000)))]);
        clearTimeout(timer);
        assert.ok(acked.size >= target, `only ${acked.size} writes acknowledged before the deadline`);
        await server.kill('SIGKILL');
        stop = true;
        await Promise.all(writers);
      } finally {
        kv.close();
        await server.kill('SIGKILL');
      }
    }
    // Revisions are unique per acknowledged put (one revision per write).
    const revs = new Set([...acked.values()].map((a) => a.revision));
    assert.equal(revs.size, acked.size);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
