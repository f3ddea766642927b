/**
 * Process facts for the benchmark: which pid listens on a loopback port (the compat server helper
 * does not expose it), and that process's memory (VmRSS, VmHWM from /proc/<pid>/status).
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

/** The pid whose socket listens on 127.0.0.1:port, or undefined. Linux only (/proc). */
export function pidListeningOn(port: number): number | undefined {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set<string>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is f[1] (HEXIP:HEXPORT), st is f[3] (0A = LISTEN), inode is f[9]
      if (f[1]?.endsWith(`:${hexPort}`) === true && f[3] === '0A' && f[9] !== undefined) inodes.add(f[9]);
    }
  }
  if (inodes.size === 0) return undefined;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${name}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${name}/fd/${fd}`));
        if (m?.[1] !== undefined && inodes.has(m[1])) return Number(name);
      } catch {
        // fd closed meanwhile
      }
    }
  }
  return undefined;
}

export interface Memory {
  readonly rssMiB: number;
  readonly hwmMiB: number;
  readonly anonMiB: number;
  readonly fileMiB: number;
}

/** VmRSS, VmHWM, RssAnon and RssFile of a live process, in MiB; undefined if it is gone. */
export function memoryOf(pid: number): Memory | undefined {
  let text = '';
  try {
    text = readFileSync(`/proc/${String(pid)}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const kb = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(text)?.[1] ?? NaN);
  return { rssMiB: kb('VmRSS') / 1024, hwmMiB: kb('VmHWM') / 1024, anonMiB: kb('RssAnon') / 1024, fileMiB: kb('RssFile') / 1024 };
}

/**
 * Memory some time after a load, the server idle meanwhile (both return memory a few seconds after a
 * burst: Go's scavenger, berth's memory reducer, which waits for a quiet 5 s interval). Samples every
 * `everyMs` for `forMs` and returns the last reading; undefined if the process is gone.
 */
export async function settledMemoryOf(pid: number, opts: { everyMs?: number; forMs?: number } = {}): Promise<{ memory: Memory; waitedSec: number } | undefined> {
  const every = opts.everyMs ?? 5000;
  const until = performance.now() + (opts.forMs ?? 30_000);
  const t0 = performance.now();
  let last = memoryOf(pid);
  while (last !== undefined && performance.now() < until) {
    await new Promise((r) => setTimeout(r, every));
    last = memoryOf(pid);
  }
  return last === undefined ? undefined : { memory: last, waitedSec: (performance.now() - t0) / 1000 };
}
