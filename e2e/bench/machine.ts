/** A description of the machine a benchmark ran on: cores, memory, CPU model, disk, load average. */
import { execFileSync } from 'node:child_process';
import { cpus, loadavg, totalmem, tmpdir } from 'node:os';
import { readFileSync } from 'node:fs';

export interface Machine {
  readonly date: string;
  readonly nproc: number;
  readonly memoryGiB: number;
  readonly cpuModel: string;
  readonly disk: string;
  readonly loadAvgAtStart: readonly number[];
  readonly node: string;
  readonly etcd: string;
}

function sh(cmd: string, args: readonly string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

export function describeMachine(etcdBin: string): Machine {
  const dir = tmpdir();
  const src = sh('findmnt', ['-no', 'SOURCE,FSTYPE', '-T', dir]);
  const dev = /\/dev\/(\w+)/.exec(src)?.[1];
  let rotational = '';
  if (dev !== undefined) {
    try {
      rotational = readFileSync(`/sys/block/${dev}/queue/rotational`, 'utf8').trim() === '1' ? ', reports rotational' : ', reports non-rotational';
    } catch {
      rotational = '';
    }
  }
  return {
    date: new Date().toISOString(),
    nproc: cpus().length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    disk: `${dir} on ${src}${rotational} (virtual disk)`,
    loadAvgAtStart: loadavg().map((l) => Math.round(l * 100) / 100),
    node: process.version,
    etcd: sh(etcdBin, ['--version']).split('\n')[0] ?? 'unknown',
  };
}
