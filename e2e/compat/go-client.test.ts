// The official etcd Go client (go.etcd.io/etcd/client/v3) against a real etcd and against berth with
// the same code: e2e/compat/go is a Go program that runs a table of named cases and prints one JSON
// line per case. This test builds it once (cached under ~/.cache/berth/compat-go/<hash of the Go
// sources and toolchain>), runs it against etcd (Debian etcd-server) and then berth, started with the
// same flags, for 1 and 3 members, and reports each case as a sub-test. Every case must pass against
// etcd — a case that does not is itself wrong.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BUILD_TIMEOUT_MS, buildGoProgram, parseResults, runProgram as run, type CaseResult } from './support/go-program.js';
import { startCluster, type Flavor } from './support/servers.js';

const RUN_TIMEOUT_MS = 5 * 60_000;
const CASE_TIMEOUT = '30s';
/** Both servers get the same flags; a short progress-notify interval makes the progress_notify case quick. */
const PROGRESS_NOTIFY_INTERVAL = '1s';
const SERVER_FLAGS = [`--experimental-watch-progress-notify-interval=${PROGRESS_NOTIFY_INTERVAL}`];

/** The case names, in order, as the program declares them. */
async function caseNames(bin: string): Promise<string[]> {
  const r = await run(bin, ['--list'], { timeoutMs: 30_000 });
  assert.equal(r.code, 0, `${bin} --list failed: ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l !== '');
}

interface Run {
  readonly results: Map<string, CaseResult>;
  readonly code: number | null;
  readonly stderr: string;
  readonly serverOutput: string;
}

async function runAgainst(bin: string, flavor: Flavor, members: number): Promise<Run> {
  const cluster = await startCluster(flavor, members, SERVER_FLAGS);
  try {
    const r = await run(
      bin,
      [
        '--endpoints', cluster.endpoints.join(','),
        '--flavor', flavor,
        '--members', String(members),
        '--case-timeout', CASE_TIMEOUT,
        '--progress-notify-interval', PROGRESS_NOTIFY_INTERVAL,
      ],
      { timeoutMs: RUN_TIMEOUT_MS },
    );
    const results = parseResults(r.stdout);
    const serverOutput = cluster.members.map((m) => `--- ${m.endpoint}\n${m.output().slice(-4000)}`).join('\n');
    return { results, code: r.code, stderr: r.stderr, serverOutput };
  } finally {
    await cluster.stop();
  }
}

function describeMissing(flavor: string, run: Run): string {
  return `no result from the Go program against ${flavor} (exit ${run.code}); stderr:\n${run.stderr.slice(-4000)}\nserver output (tail):\n${run.serverOutput}`;
}

let built: Promise<string> | undefined;
const program = () => (built ??= buildGoProgram());

// One test per cluster size; etcd's run comes first, and each case is a sub-test of each flavor.
const TARGETS: readonly { readonly members: number }[] = [{ members: 1 }, { members: 3 }];

for (const { members } of TARGETS) {
  const size = `${members} member${members > 1 ? 's' : ''}`;
  test(`Go clientv3 cases against etcd and berth (${size})`, { timeout: 2 * RUN_TIMEOUT_MS + BUILD_TIMEOUT_MS }, async (t) => {
    const bin = await program();
    const names = await caseNames(bin);
    assert.ok(names.length > 0, 'the Go program declares no case');
    const etcd = await runAgainst(bin, 'etcd', members);
    const berth = await runAgainst(bin, 'berth', members);
    for (const [flavor, r] of [['etcd', etcd], ['berth', berth]] as const) {
      await t.test(flavor, async (ft) => {
        for (const name of names) {
          await ft.test(name, (ct) => {
            const c = r.results.get(name);
            assert.ok(c !== undefined, describeMissing(flavor, r));
            ct.diagnostic(`${c.ms} ms${c.detail === '' ? '' : `: ${c.detail}`}`);
            if (flavor === 'etcd') assert.ok(c.ok, `case fails against real etcd, so the case itself is wrong: ${c.detail}`);
            else assert.ok(c.ok, c.detail);
          });
        }
      });
    }
    // Every case passed yet the program failed: it crashed after its last line.
    for (const [flavor, r] of [['etcd', etcd], ['berth', berth]] as const) {
      if (names.every((n) => r.results.get(n)?.ok === true)) {
        assert.equal(r.code, 0, `the Go program exited ${r.code} against ${flavor} although every case passed:\n${r.stderr}`);
      }
    }
  });
}
