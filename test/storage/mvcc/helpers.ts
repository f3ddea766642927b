/** Shared test scaffolding: a store on a fresh temp RocksDB, byte helpers, result unwrapping. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine } from '../../../pkg/storage/engine/index.js';
import { MvccStore, type Result, type StoreOptions } from '../../../pkg/storage/mvcc/index.js';

export const b = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));
export const str = (u: Uint8Array): string => Buffer.from(u).toString('latin1');

export function unwrap<T>(r: Result<T>): T {
  if (!r.ok) assert.fail(`unexpected error ${r.error.kind}`);
  return r.value;
}

export function errorKind(r: Result<unknown>): string {
  if (r.ok) assert.fail('expected an error');
  return r.error.kind;
}

export interface Fixture {
  readonly dir: string;
  engine: Engine;
  store: MvccStore;
  /** Closes store and engine and opens both again on the same directory. */
  reopen(opts?: StoreOptions): Promise<void>;
  close(): Promise<void>;
}

export async function open(opts: StoreOptions = {}): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), 'mvcc-test-'));
  const engine = await Engine.open(dir);
  const fx: Fixture = {
    dir,
    engine,
    store: await MvccStore.open(engine, opts),
    async reopen(o = opts) {
      await fx.store.close();
      await fx.engine.close();
      fx.engine = await Engine.open(dir);
      fx.store = await MvccStore.open(fx.engine, o);
    },
    async close() {
      await fx.store.close();
      await fx.engine.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return fx;
}

/** Runs `body` against a fresh store and always cleans up. */
export async function withStore(body: (fx: Fixture) => Promise<void>, opts: StoreOptions = {}): Promise<void> {
  const fx = await open(opts);
  try {
    await body(fx);
  } finally {
    await fx.close();
  }
}

/** Keys (as latin1 strings) of a range response. */
export function keysOf(kvs: readonly { key: Uint8Array }[]): string[] {
  return kvs.map((kv) => str(kv.key));
}
