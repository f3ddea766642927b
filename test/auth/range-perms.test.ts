import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildUserPerms, covers, intervalOf, mergeIntervals } from '../../pkg/auth/index.js';
import { Permission_Type } from '../../pkg/proto/gen/authpb/auth.js';

const b = (s: string): Uint8Array => Buffer.from(s);
const OPEN = Uint8Array.of(0);
const NONE = new Uint8Array();
const show = (ivs: readonly { start: Uint8Array; end: Uint8Array | undefined }[]): string[] =>
  ivs.map((i) => `[${Buffer.from(i.start).toString('latin1')},${i.end === undefined ? '∞' : Buffer.from(i.end).toString('latin1')})`);

test('a grant names a point, a range, or everything from its key ("\\0" range end)', () => {
  assert.deepEqual(show([intervalOf(b('k'), NONE)!]), ['[k,k\0)']);
  assert.deepEqual(show([intervalOf(b('a'), b('c'))!]), ['[a,c)']);
  assert.deepEqual(show([intervalOf(b('a'), OPEN)!]), ['[a,∞)']);
  assert.equal(intervalOf(b('c'), b('a')), undefined);
  assert.equal(intervalOf(b('c'), b('c')), undefined);
});

test('intervals are merged when they overlap or touch, gaps are kept', () => {
  const m = mergeIntervals([
    intervalOf(b('m'), b('p'))!,
    intervalOf(b('a'), b('c'))!,
    intervalOf(b('c'), b('e'))!,
    intervalOf(b('b'), b('d'))!,
    intervalOf(b('x'), OPEN)!,
    intervalOf(b('y'), b('z'))!,
  ]);
  assert.deepEqual(show(m), ['[a,e)', '[m,p)', '[x,∞)']);
});

test('a request is permitted only when the union of grants covers all of it', () => {
  const ivs = mergeIntervals([intervalOf(b('a'), b('c'))!, intervalOf(b('c'), b('e'))!, intervalOf(b('k'), NONE)!, intervalOf(b('s'), OPEN)!]);
  assert.equal(covers(ivs, b('b'), NONE), true, 'point inside a range');
  assert.equal(covers(ivs, b('b'), b('d')), true, 'range across two touching grants');
  assert.equal(covers(ivs, b('a'), b('e')), true, 'exactly the union');
  assert.equal(covers(ivs, b('a'), b('f')), false, 'runs past the end');
  assert.equal(covers(ivs, b('d'), b('l')), false, 'spans a gap');
  assert.equal(covers(ivs, b('k'), NONE), true, 'the single granted key');
  assert.equal(covers(ivs, b('k'), b('l')), false, 'a single-key grant is not a prefix grant');
  assert.equal(covers(ivs, b('k\0'), NONE), false, 'the key right after a single-key grant');
  assert.equal(covers(ivs, b('t'), OPEN), true, 'open-ended request inside an open-ended grant');
  assert.equal(covers(ivs, b('a'), OPEN), false, 'open-ended request over a bounded grant');
  assert.equal(covers(ivs, b('zzzz'), b('zzzzz')), true);
  assert.equal(covers(ivs, b('0'), NONE), false, 'before every grant');
  assert.equal(covers([], b('a'), NONE), false, 'no grants');
});

test('READ, WRITE and READWRITE grants land in the right sets', () => {
  const p = buildUserPerms([
    { permType: Permission_Type.READ, key: b('r'), rangeEnd: NONE },
    { permType: Permission_Type.WRITE, key: b('w'), rangeEnd: NONE },
    { permType: Permission_Type.READWRITE, key: b('x/'), rangeEnd: b('x0') },
    { permType: Permission_Type.UNRECOGNIZED, key: b('u'), rangeEnd: NONE },
  ]);
  assert.equal(covers(p.read, b('r'), NONE), true);
  assert.equal(covers(p.write, b('r'), NONE), false);
  assert.equal(covers(p.write, b('w'), NONE), true);
  assert.equal(covers(p.read, b('w'), NONE), false);
  assert.equal(covers(p.read, b('x/a'), NONE), true);
  assert.equal(covers(p.write, b('x/'), b('x0')), true);
  assert.equal(covers(p.read, b('u'), NONE), false);
  assert.equal(covers(p.write, b('u'), NONE), false);
});
