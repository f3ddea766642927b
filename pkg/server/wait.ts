/**
 * Waiters for proposals: a handler registers the command ID before proposing, the applier resolves it
 * with the apply result. Each waiter has a deadline; on expiry it fails with etcd's timeout error.
 * Only the member that proposed a command has a waiter for it; other members apply and move on.
 */
import { berthError, type BerthError } from '../errors/index.js';

export type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: BerthError };

interface Waiter {
  readonly resolve: (o: Outcome<unknown>) => void;
  readonly timer: NodeJS.Timeout;
}

export class WaitRegistry {
  readonly #waiters = new Map<bigint, Waiter>();

  get size(): number {
    return this.#waiters.size;
  }

  /** Registers `id` and returns the promise of its outcome; it never rejects. */
  register<T>(id: bigint, timeoutMs: number): Promise<Outcome<T>> {
    return new Promise<Outcome<T>>((resolve) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(id);
        resolve({ ok: false, error: berthError('timeout') });
      }, timeoutMs);
      this.#waiters.set(id, { resolve: resolve as (o: Outcome<unknown>) => void, timer });
    });
  }

  /** True when someone waits on `id` (the applier skips building responses nobody reads). */
  has(id: bigint): boolean {
    return this.#waiters.has(id);
  }

  trigger(id: bigint, outcome: Outcome<unknown>): void {
    const w = this.#waiters.get(id);
    if (w === undefined) return;
    this.#waiters.delete(id);
    clearTimeout(w.timer);
    w.resolve(outcome);
  }

  /** Fails every waiter, e.g. with 'stopped' at shutdown. */
  failAll(error: BerthError): void {
    for (const [id, w] of this.#waiters) {
      clearTimeout(w.timer);
      w.resolve({ ok: false, error });
      this.#waiters.delete(id);
    }
  }
}
