/**
 * The config changer. Computes the configuration (and progress map) that results from applying a ConfChange, without
 * touching the live tracker: the caller swaps the result in. Errors are values; an invalid change
 * leaves the configuration as it was.
 */
import type { ConfChange, ConfChangeSingle } from './conf-change.js';
import { entersJoint, isLeaveJoint } from './conf-change.js';
import { Inflights } from './inflights.js';
import { Progress } from './progress.js';
import type { TrackerConfig } from './tracker.js';
import { cloneConfig, emptyConfig } from './tracker.js';
import type { ConfState, NodeId } from './types.js';

export interface ChangeInput {
  readonly config: TrackerConfig;
  readonly progress: ReadonlyMap<NodeId, Progress>;
  /** The leader's last log index: new members start probing right after it. */
  readonly lastIndex: number;
  readonly maxInflight: number;
  readonly maxInflightBytes: number;
}

export type ChangeResult =
  | { readonly ok: true; readonly config: TrackerConfig; readonly progress: Map<NodeId, Progress> }
  | { readonly ok: false; readonly error: string };

interface Work {
  cfg: TrackerConfig;
  prs: Map<NodeId, Progress>;
  input: ChangeInput;
}

function copy(input: ChangeInput): Work {
  const prs = new Map<NodeId, Progress>();
  for (const [id, pr] of input.progress) prs.set(id, pr.clone());
  return { cfg: cloneConfig(input.config), prs, input };
}

function initProgress(w: Work, id: NodeId, isLearner: boolean): void {
  const pr = new Progress(w.input.lastIndex + 1, new Inflights(w.input.maxInflight, w.input.maxInflightBytes), isLearner);
  // A new member counts as active so that check-quorum does not depose the leader right after adding it.
  pr.recentActive = true;
  w.prs.set(id, pr);
}

function makeVoter(w: Work, id: NodeId): void {
  const pr = w.prs.get(id);
  if (pr === undefined) {
    initProgress(w, id, false);
  } else {
    pr.isLearner = false;
  }
  w.cfg.learners.delete(id);
  w.cfg.learnersNext.delete(id);
  w.cfg.voters[0].add(id);
}

function remove(w: Work, id: NodeId): void {
  if (!w.prs.has(id)) return;
  w.cfg.voters[0].delete(id);
  w.cfg.learners.delete(id);
  w.cfg.learnersNext.delete(id);
  // An outgoing voter keeps its progress until the joint config is left.
  if (!w.cfg.voters[1].has(id)) w.prs.delete(id);
}

function makeLearner(w: Work, id: NodeId): void {
  const pr = w.prs.get(id);
  if (pr === undefined) {
    initProgress(w, id, true);
    w.cfg.learners.add(id);
    return;
  }
  if (pr.isLearner) return;
  remove(w, id);
  w.prs.set(id, pr);
  // Still a voter of the outgoing half: it may only become a learner once the joint config is left.
  if (w.cfg.voters[1].has(id)) {
    w.cfg.learnersNext.add(id);
  } else {
    pr.isLearner = true;
    w.cfg.learners.add(id);
  }
}

function applyChanges(w: Work, changes: readonly ConfChangeSingle[]): string | undefined {
  for (const c of changes) {
    if (c.nodeId === 0n) continue;
    switch (c.type) {
      case 'add-node':
        makeVoter(w, c.nodeId);
        break;
      case 'add-learner':
        makeLearner(w, c.nodeId);
        break;
      case 'remove-node':
        remove(w, c.nodeId);
        break;
      case 'update-node':
        break;
    }
  }
  if (w.cfg.voters[0].size === 0) return 'removed all voters';
  return undefined;
}

/** Structural invariants every configuration must satisfy. */
function check(w: Work): string | undefined {
  const { cfg, prs } = w;
  for (const id of [...cfg.voters[0], ...cfg.voters[1], ...cfg.learners, ...cfg.learnersNext]) {
    if (!prs.has(id)) return `no progress for ${id}`;
  }
  for (const id of cfg.learnersNext) {
    if (!cfg.voters[1].has(id)) return `${id} is in learnersNext but not an outgoing voter`;
    if (prs.get(id)?.isLearner) return `${id} is in learnersNext but already a learner`;
  }
  for (const id of cfg.learners) {
    if (cfg.voters[0].has(id) || cfg.voters[1].has(id)) return `${id} is both learner and voter`;
    if (!prs.get(id)?.isLearner) return `${id} is a learner but its progress says otherwise`;
  }
  if (cfg.voters[1].size === 0) {
    if (cfg.learnersNext.size > 0) return 'learnersNext outside a joint config';
    if (cfg.autoLeave) return 'autoLeave outside a joint config';
  }
  return undefined;
}

function symmetricDiff(a: ReadonlySet<NodeId>, b: ReadonlySet<NodeId>): number {
  let n = 0;
  for (const id of a) if (!b.has(id)) n++;
  for (const id of b) if (!a.has(id)) n++;
  return n;
}

function done(w: Work): ChangeResult {
  const err = check(w);
  if (err !== undefined) return { ok: false, error: err };
  return { ok: true, config: w.cfg, progress: w.prs };
}

export function enterJoint(input: ChangeInput, opts: { autoLeave: boolean; changes: readonly ConfChangeSingle[] }): ChangeResult {
  const { autoLeave, changes } = opts;
  const w = copy(input);
  if (w.cfg.voters[1].size > 0) return { ok: false, error: 'config is already joint' };
  if (w.cfg.voters[0].size === 0) return { ok: false, error: 'can not make a zero-voter config joint' };
  for (const id of w.cfg.voters[0]) w.cfg.voters[1].add(id);
  const err = applyChanges(w, changes);
  if (err !== undefined) return { ok: false, error: err };
  w.cfg.autoLeave = autoLeave;
  return done(w);
}

export function leaveJoint(input: ChangeInput): ChangeResult {
  const w = copy(input);
  if (w.cfg.voters[1].size === 0) return { ok: false, error: 'can not leave a non-joint config' };
  for (const id of w.cfg.learnersNext) {
    w.cfg.learners.add(id);
    const pr = w.prs.get(id);
    if (pr !== undefined) pr.isLearner = true;
  }
  w.cfg.learnersNext.clear();
  for (const id of w.cfg.voters[1]) {
    if (!w.cfg.voters[0].has(id) && !w.cfg.learners.has(id)) w.prs.delete(id);
  }
  w.cfg.voters[1].clear();
  w.cfg.autoLeave = false;
  return done(w);
}

/** At most one voter may be added or removed without going through a joint configuration. */
export function simple(input: ChangeInput, changes: readonly ConfChangeSingle[]): ChangeResult {
  const w = copy(input);
  if (w.cfg.voters[1].size > 0) return { ok: false, error: 'can not apply a simple change in a joint config' };
  const err = applyChanges(w, changes);
  if (err !== undefined) return { ok: false, error: err };
  if (symmetricDiff(input.config.voters[0], w.cfg.voters[0]) > 1) {
    return { ok: false, error: 'more than one voter changed without entering a joint config' };
  }
  return done(w);
}

/** Applies any ConfChange: leave, enter joint, or simple, as its shape says. */
export function applyConfChange(input: ChangeInput, cc: ConfChange): ChangeResult {
  if (isLeaveJoint(cc)) return leaveJoint(input);
  const { joint, autoLeave } = entersJoint(cc);
  if (joint) return enterJoint(input, { autoLeave, changes: cc.changes });
  return simple(input, cc.changes);
}

/** Rebuilds configuration and fresh progress from a persisted ConfState (restart or snapshot). */
export function restoreConfState(input: Omit<ChangeInput, 'config' | 'progress'>, cs: ConfState): ChangeResult {
  const w: Work = { cfg: emptyConfig(), prs: new Map(), input: { ...input, config: emptyConfig(), progress: new Map() } };
  for (const id of cs.voters) w.cfg.voters[0].add(id);
  for (const id of cs.votersOutgoing) w.cfg.voters[1].add(id);
  for (const id of cs.learners) w.cfg.learners.add(id);
  for (const id of cs.learnersNext) w.cfg.learnersNext.add(id);
  w.cfg.autoLeave = cs.autoLeave && cs.votersOutgoing.length > 0;
  for (const id of [...cs.voters, ...cs.votersOutgoing, ...cs.learnersNext]) {
    if (!w.prs.has(id)) initProgress(w, id, false);
  }
  for (const id of cs.learners) if (!w.prs.has(id)) initProgress(w, id, true);
  return done(w);
}
