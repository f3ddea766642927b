/** The time source of the auto-compactor: real timers in a member, a manual clock in tests. */
export interface CompactorClock {
  /** Milliseconds on a monotonic scale. */
  now(): number;
  /** Calls `fn` once after `ms`; the returned function cancels it. */
  after(ms: number, fn: () => void): () => void;
}

export const realClock: CompactorClock = {
  now: () => performance.now(),
  after: (ms, fn) => {
    // Unref'd: a pending check never keeps a stopping process alive.
    const t = setTimeout(fn, ms).unref();
    return () => clearTimeout(t);
  },
};
