/** One berthctl command: the words that name it, its own flags, and what it runs. */
import type { FlagSpec } from '../flags.js';
import type { Context } from '../io.js';

export interface Command {
  /** e.g. ['get'] or ['snapshot', 'save']. */
  readonly path: readonly string[];
  readonly usage: string;
  readonly short: string;
  readonly flags: readonly FlagSpec[];
  /** Resolves to the exit code; throws CommandError for an etcdctl-style failure. */
  run(ctx: Context): Promise<number>;
}
