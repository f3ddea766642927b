/**
 * Mutation check of the simulation: each test-only knob of pkg/raft (RaftKnobs in pkg/raft/config.ts)
 * switches on a deliberately broken variant of Raft, and the simulation must find a violation of a
 * safety property within a bounded number of seeds. A control run with the same parameters and no
 * knob finds nothing, so what is caught is the mutation, not the harness.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RaftKnobs } from '../../../pkg/raft/index.js';
import type { CheckerName } from './checker.js';
import type { ParamOverrides } from './params.js';
import { replayCommand } from './report.js';
import { runScenario } from './simulation.js';

/**
 * Figure-8 hunting: three nodes whose leaders die young (crash-storm), one entry per append message
 * and one message in flight, so that a new leader's old-term entries reach a majority before its
 * own-term no-op does, and many terms leave conflicting unreplicated tails.
 */
const HUNT: ParamOverrides = {
  nodes: 3,
  mix: 'crash-storm',
  maxSizePerMsg: 1,
  maxInflightMsgs: 1,
  preVote: false,
  checkQuorum: false,
  electionTick: 3,
  ticks: 300,
  client: { propose: 1, read: 0.3, confChange: 0, transfer: 0.1 },
};

const SAFETY: ReadonlySet<CheckerName> = new Set([
  'election-safety', 'log-matching', 'committed-entry-lost', 'leader-completeness', 'state-machine-safety', 'durability',
  'linearizable-read', 'raft-invariant',
]);

interface Case {
  readonly knob: keyof RaftKnobs;
  readonly overrides: ParamOverrides;
  readonly maxSeeds: number;
  /** Checkers switched off, to show that a deeper property catches the bug too. */
  readonly disable?: readonly CheckerName[];
  readonly why: string;
}

const CASES: readonly Case[] = [
  {
    knob: 'unsafeAckBeforePersist',
    overrides: {},
    maxSeeds: 20,
    why: 'acks and self-votes before fsync: the durability checker sees the ack leave first',
  },
  {
    knob: 'unsafeAckBeforePersist',
    overrides: HUNT,
    maxSeeds: 400,
    disable: ['durability'],
    why: 'without the direct durability check, crashes that lose acked entries or votes break a deeper property',
  },
  {
    knob: 'unsafeSkipVoteLogCheck',
    overrides: {},
    maxSeeds: 100,
    why: 'a candidate with a stale log wins and overwrites committed entries',
  },
  {
    knob: 'unsafeCommitOldTermByCounting',
    overrides: HUNT,
    maxSeeds: 400,
    why: 'Raft Figure 8: an old-term entry committed by counting is overwritten by a later leader',
  },
];

describe('the simulation catches deliberately broken raft variants (mutation check)', () => {
  for (const c of CASES) {
    const off = c.disable === undefined ? '' : ` with ${c.disable.join(',')} off`;
    it(`${c.knob}${off} is caught within ${c.maxSeeds} seeds (${c.why})`, { timeout: 300_000 }, (t) => {
      const disable = new Set<CheckerName>(c.disable ?? []);
      for (let seed = 1; seed <= c.maxSeeds; seed++) {
        const r = runScenario(seed, { overrides: { ...c.overrides, knobs: { [c.knob]: true } }, disable });
        const v = r.violation;
        if (v === undefined) continue;
        t.diagnostic(`${c.knob}${off}: caught by ${v.checker} at seed ${seed}: ${v.message.split('\n')[0]}`);
        t.diagnostic(`replay: ${replayCommand(r.params)}`);
        assert.ok(SAFETY.has(v.checker), `caught by a safety checker, not ${v.checker}: ${v.message}`);
        assert.ok(!disable.has(v.checker));
        return;
      }
      assert.fail(`${c.knob}${off} went unnoticed for ${c.maxSeeds} seeds`);
    });
  }

  it('control: the hunting parameters find nothing in correct raft', { timeout: 300_000 }, () => {
    for (let seed = 1; seed <= 60; seed++) {
      const r = runScenario(seed, { overrides: HUNT });
      assert.equal(r.violation, undefined, `seed ${seed}: ${r.violation?.message ?? ''}`);
    }
  });
});
