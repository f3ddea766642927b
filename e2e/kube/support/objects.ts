/** Small helpers shared by the kube scenarios: polling, bounded parallel loops, object manifests. */

/** Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? `: last error ${lastError.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Runs `fn(i)` for i in [0, count) with at most `parallel` in flight; rejects on the first failure. */
export async function boundedParallel(count: number, parallel: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(parallel, count) }, async () => {
    while (next < count) {
      const i = next++;
      await fn(i);
    }
  });
  await Promise.all(workers);
}

export function configMap(ns: string, name: string, data: Record<string, string>, labels: Record<string, string> = {}): object {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns, labels }, data };
}

/** A v1 List of `n` configmaps named `${prefix}${i}` (zero padded so that name order is numeric order). */
export function configMapList(ns: string, prefix: string, n: number): object {
  const width = String(n - 1).length;
  return {
    apiVersion: 'v1',
    kind: 'List',
    items: Array.from({ length: n }, (_, i) => configMap(ns, `${prefix}${String(i).padStart(width, '0')}`, { i: String(i) })),
  };
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  resourceVersion: string;
  uid: string;
  labels?: Record<string, string>;
  ownerReferences?: { kind: string; name: string; uid: string }[];
}

export interface KubeObject {
  kind?: string;
  metadata: ObjectMeta;
  data?: Record<string, string>;
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}

export interface KubeList {
  metadata: { resourceVersion: string; continue?: string; remainingItemCount?: number };
  items: KubeObject[];
}
