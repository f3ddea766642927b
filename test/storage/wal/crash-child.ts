/**
 * Crash-test workload (not a test file): appends synced batches to a WAL under load and logs, one
 * line each, what it issues and what is acknowledged durable. The parent SIGKILLs it.
 *
 *   node --import tsx test/storage/wal/crash-child.ts <dir> <seed> <maxOps> <logFile>
 *
 * Log lines: `ready <first> <last>`; `S <seq> <first> <count> <term> <commit>` (save entries [first,
 * first+count) at term with hard state commit), `P <seq> <index>` (createSnapshot), `C <seq> <index>`
 * (compact), each written BEFORE the call; `A <seq>` once its promise resolved. The log is a regular
 * file written with writeSync, so a line is in the kernel before the call it describes starts and
 * survives SIGKILL (stdout is a non-blocking pipe whose writes may sit in a userland queue). Acks are
 * also echoed on stdout, where the parent watches them to pick the moment to kill. Saves are
 * pipelined (up to 8 in flight) so a kill lands with writes in flight.
 */
import { openSync, writeSync } from 'node:fs';
import { Engine } from '../../../pkg/storage/engine/index.js';
import { Wal } from '../../../pkg/storage/wal/index.js';
import { entries } from './helpers.js';

const [dir = '', seedArg = '1', maxOpsArg = '5000', logFile = ''] = process.argv.slice(2);

let state = Number(seedArg) >>> 0 || 1;
/** xorshift32: deterministic per seed. */
function rand(): number {
  state ^= state << 13;
  state >>>= 0;
  state ^= state >>> 17;
  state ^= state << 5;
  state >>>= 0;
  return state / 0x1_0000_0000;
}

const log = openSync(logFile, 'a');
const out = (line: string): void => {
  writeSync(log, `${line}\n`);
  if (line.startsWith('A ')) process.stdout.write(`${line}\n`);
};
const engine = await Engine.open(dir);
const wal = await Wal.open(engine);
const conf = { voters: [1n], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };

let term = Math.max(wal.hardState.term, wal.term(wal.lastIndex()), 1);
let commit = wal.hardState.commit;
let durableLast = wal.lastIndex();
out(`ready ${wal.firstIndex()} ${wal.lastIndex()}`);

const inflight: Promise<void>[] = [];
const maxOps = Number(maxOpsArg);
for (let seq = 1; seq <= maxOps; seq++) {
  const r = rand();
  const snapIndex = wal.snapshot().metadata.index;
  let p: Promise<unknown>;
  if (r < 0.03 && commit > snapIndex) {
    out(`P ${seq} ${commit}`);
    p = wal.createSnapshot(commit, { confState: conf, data: Uint8Array.of(1) });
  } else if (r < 0.06 && snapIndex - 10 >= wal.firstIndex()) {
    out(`C ${seq} ${snapIndex - 10}`);
    p = wal.compact(snapIndex - 10);
  } else {
    const last = wal.lastIndex();
    let first = last + 1;
    if (rand() < 0.1 && last > commit) {
      first = commit + 1 + Math.floor(rand() * (last - commit)); // conflict: overwrite a suffix
      term++;
    } else if (rand() < 0.02) {
      term++;
    }
    const count = 1 + Math.floor(rand() * 50);
    commit = Math.max(commit, Math.min(durableLast, first - 1));
    const newLast = first + count - 1;
    out(`S ${seq} ${first} ${count} ${term} ${commit}`);
    p = wal.save({ entries: entries(first, newLast, term), hardState: { term, vote: 1n, commit } });
    void p.then(() => {
      durableLast = newLast;
    });
  }
  inflight.push(p.then(() => out(`A ${seq}`)));
  if (inflight.length >= 8) await inflight.shift();
}
await Promise.all(inflight);
out('done');
await wal.close();
await engine.close();
