/** The shape of a benchmark run's results (the JSON file) shared by the runner and the report. */
import type { Machine } from './machine.js';
import type { Flavor } from '../compat/support/servers.js';

export interface Measure {
  readonly rps?: number;
  readonly p50Ms?: number;
  readonly p99Ms?: number;
  /** VmRSS of the server (of member m0 for 3 members) right after the scenario. */
  readonly rssMiB?: number;
  /** For memory/time rows: the measured quantity in `unit`. */
  readonly value?: number;
  readonly error?: string;
  readonly note?: string;
}

export type Group = 'kv' | 'kube' | 'memory' | 'cluster3';

export interface Row {
  readonly id: string;
  readonly label: string;
  readonly group: Group;
  /** For memory rows: what `value` is measured in; the ratio is then value berth / value etcd. */
  readonly unit?: string;
  readonly results: Partial<Record<Flavor, Measure>>;
}

export interface Results {
  readonly mode: 'full' | 'smoke';
  readonly machine: Machine;
  readonly loadAvgAtEnd: readonly number[];
  readonly finished: string;
  readonly tool: string;
  /** Where the etcd binary came from (absent in results written before it was recorded: Debian's). */
  readonly etcdSource?: string;
  readonly serverFlags: readonly string[];
  readonly rows: readonly Row[];
  readonly notes: readonly string[];
}
