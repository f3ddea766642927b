/**
 * DiskProbe: measures the disk under a test, independently of the server being tested. It rewrites
 * one 4 KiB block of a file in the test machine's temp dir and fdatasyncs it every `intervalMs`,
 * recording each sync's latency. The shared machines these tests run on stall now and then (single
 * fsyncs of 0.3-0.6 s, for etcd and berth alike); a latency rule such as `etcdctl check perf`'s
 * "slowest request <= 0.5 s" can fail on such a stall whatever the server does. A test uses the probe
 * to tell the two apart: a failure while the probe saw no stall is the server's.
 *
 * The probe runs in the test process, whose event loop is idle while a child process (etcdctl)
 * drives the load, so a latency measured here is the disk's, not this process's scheduling.
 */
import { open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

export interface DiskProbeResult {
  readonly syncs: number;
  /** The slowest fdatasync, in seconds. */
  readonly slowestS: number;
  /** Syncs slower than the threshold given to stop(). */
  readonly stalls: number;
}

export interface DiskProbe {
  /** Ends the probe (once; later calls give the first call's result) and removes its file. */
  stop(stallS: number): Promise<DiskProbeResult>;
}

export async function startDiskProbe(intervalMs = 50): Promise<DiskProbe> {
  const path = join(tmpdir(), `disk-probe-${process.pid}-${Date.now()}`);
  const fh = await open(path, 'w');
  const block = Buffer.alloc(4096, 0x5a);
  const latencies: number[] = [];
  let stopped = false;
  let result: Promise<DiskProbeResult> | undefined;
  const loop = (async () => {
    while (!stopped) {
      const t0 = performance.now();
      await fh.write(block, 0, block.length, 0);
      await fh.datasync();
      latencies.push((performance.now() - t0) / 1000);
      await delay(intervalMs);
    }
  })();
  // A failed write surfaces from stop(), not as an unhandled rejection before it.
  const settled = loop.then(
    () => undefined,
    (err: unknown) => err,
  );
  return {
    stop(stallS: number): Promise<DiskProbeResult> {
      result ??= (async () => {
        stopped = true;
        const err = await settled;
        await fh.close();
        await rm(path, { force: true });
        if (err !== undefined) throw err;
        return {
          syncs: latencies.length,
          slowestS: latencies.reduce((a, b) => Math.max(a, b), 0),
          stalls: latencies.filter((s) => s > stallS).length,
        };
      })();
      return result;
    },
  };
}
