/**
 * A real kube-apiserver (built from the Go module proxy by e2e/kube/build/build.sh) on a 3-member berth
 * cluster, then the same suite on a 3-member etcd cluster for comparison, then a subset with TLS between
 * kube-apiserver and berth (https client URLs, --client-cert-auth, --etcd-cafile/certfile/keyfile).
 * Driven with kubectl and the raw HTTPS API. Run with `npm run e2e:kube`; BERTH_KUBE_FLAVORS picks the
 * flavours (berth, etcd, berth-tls, etcd-tls; default berth,etcd,berth-tls). See docs/kube.md.
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Flavor } from '../compat/support/servers.js';
import { KubeApiserver, KUBE_VERSION, kubectlPath } from './support/apiserver.js';
import { makePki, makeStoreTls, type KubePki } from './support/certs.js';
import {
  boundedParallel,
  configMap,
  configMapList,
  waitFor,
  type KubeList,
  type KubeObject,
} from './support/objects.js';
import { StoreCluster } from './support/store.js';

/** A flavour: the store, and whether kube-apiserver talks to it over TLS with client certificates. */
interface Case {
  readonly label: string;
  readonly store: Flavor;
  readonly tls: boolean;
}
const KNOWN = ['berth', 'etcd', 'berth-tls', 'etcd-tls'];
const cases: Case[] = (process.env['BERTH_KUBE_FLAVORS'] ?? 'berth,etcd,berth-tls')
  .split(',')
  .map((f) => f.trim())
  .filter((f) => f !== '')
  .map((f) => {
    if (!KNOWN.includes(f)) throw new Error(`BERTH_KUBE_FLAVORS: unknown flavour ${f} (known: ${KNOWN.join(', ')})`);
    return { label: f, store: f.startsWith('berth') ? 'berth' : 'etcd', tls: f.endsWith('-tls') };
  });
const COMPACTION_INTERVAL_S = 10;
const EVENT_TTL_S = 10;
/** Each flavour's workload timings (seconds), for the ratio table printed at the end. */
const timings = new Map<string, Map<string, number>>();

/** Where the apiserver/controller-manager logs of the last run are kept (the work dir itself is removed). */
const LOG_ROOT = join(tmpdir(), 'berth-kube-logs');

function parseJson<T>(s: string): T {
  return JSON.parse(s) as T;
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

for (const c of cases) {
  const flavor = c.store;
  // The TLS flavours run a subset (what the transport can change); the rest is transport-independent.
  const full = c.tls ? (name: string, fn: () => Promise<void>) => test(name, { skip: 'plain-http flavours only' }, fn) : test;
  const where = c.tls ? `a 3-member ${flavor} cluster over TLS (client certificates)` : `a 3-member ${flavor} cluster`;
  describe(`kube-apiserver ${KUBE_VERSION} on ${where}`, { concurrency: false }, () => {
    let work: string;
    let pki: KubePki;
    let store: StoreCluster;
    let kube: KubeApiserver;

    before(async () => {
      work = mkdtempSync(join(tmpdir(), `kube-e2e-${c.label}-`));
      pki = makePki(work);
      const storeTls = c.tls ? makeStoreTls(work) : undefined;
      store = await StoreCluster.start(flavor, 3, storeTls);
      kube = await KubeApiserver.start({
        etcdServers: store.clientUrls,
        etcdTls: storeTls,
        workDir: work,
        pki,
        compactionInterval: `${COMPACTION_INTERVAL_S}s`,
        eventTtl: `${EVENT_TTL_S}s`,
      });
      await kube.startControllerManager(work);
    });

    after(async () => {
      await kube?.stop();
      const storeLog = store?.output() ?? '';
      await store?.stop();
      if (work !== undefined) {
        const keep = join(LOG_ROOT, c.label);
        rmSync(keep, { recursive: true, force: true });
        mkdirSync(keep, { recursive: true });
        writeFileSync(join(keep, 'store.log'), storeLog);
        for (const f of ['kube-apiserver.log', 'kube-controller-manager.log']) {
          if (existsSync(join(work, f))) cpSync(join(work, f), join(keep, f), { force: true });
        }
        rmSync(work, { recursive: true, force: true });
      }
    });

    test('namespaces, configmaps, secrets, deployments, services: create/get/update/patch/delete', async () => {
      const ns = 'e2e-crud';
      await kube.kubectl(['create', 'namespace', ns]);
      const nsObj = parseJson<KubeObject>(await kube.kubectl(['get', 'namespace', ns, '-o', 'json']));
      assert.equal(nsObj.status?.['phase'], 'Active');

      // configmap: create, get, update (replace), optimistic-concurrency conflict, patch, delete
      await kube.kubectl(['-n', ns, 'create', 'configmap', 'cm1', '--from-literal=a=1']);
      const cm = parseJson<KubeObject>(await kube.kubectl(['-n', ns, 'get', 'configmap', 'cm1', '-o', 'json']));
      assert.deepEqual(cm.data, { a: '1' });
      const stale = structuredClone(cm);
      cm.data = { a: '2' };
      const replaced = parseJson<KubeObject>(await kube.kubectl(['-n', ns, 'replace', '-o', 'json', '-f', '-'], { input: JSON.stringify(cm) }));
      assert.deepEqual(replaced.data, { a: '2' });
      assert.ok(BigInt(replaced.metadata.resourceVersion) > BigInt(cm.metadata.resourceVersion));
      stale.data = { a: 'stale' };
      await assert.rejects(
        kube.kubectl(['-n', ns, 'replace', '-f', '-'], { input: JSON.stringify(stale) }),
        /the object has been modified|Conflict/,
      );
      await kube.kubectl(['-n', ns, 'patch', 'configmap', 'cm1', '--type=merge', '-p', '{"data":{"b":"3"}}']);
      const patched = parseJson<KubeObject>(await kube.kubectl(['-n', ns, 'get', 'configmap', 'cm1', '-o', 'json']));
      assert.deepEqual(patched.data, { a: '2', b: '3' });
      await kube.kubectl(['-n', ns, 'delete', 'configmap', 'cm1']);
      await assert.rejects(kube.kubectl(['-n', ns, 'get', 'configmap', 'cm1']), /NotFound|not found/);

      // secret
      await kube.kubectl(['-n', ns, 'create', 'secret', 'generic', 's1', '--from-literal=password=hunter2']);
      const sec = parseJson<KubeObject>(await kube.kubectl(['-n', ns, 'get', 'secret', 's1', '-o', 'json']));
      assert.equal(Buffer.from(sec.data?.['password'] ?? '', 'base64').toString(), 'hunter2');
      await kube.kubectl(['-n', ns, 'patch', 'secret', 's1', '--type=merge', '-p', '{"stringData":{"user":"root"}}']);
      const sec2 = parseJson<KubeObject>(await kube.kubectl(['-n', ns, 'get', 'secret', 's1', '-o', 'json']));
      assert.equal(Buffer.from(sec2.data?.['user'] ?? '', 'base64').toString(), 'root');
      await kube.kubectl(['-n', ns, 'label', 'secret', 's1', 'tier=gold']);
      assert.equal((await kube.kubectl(['-n', ns, 'get', 'secret', '-l', 'tier=gold', '-o', 'name'])).trim(), 'secret/s1');
      await kube.kubectl(['-n', ns, 'delete', 'secret', 's1']);
      await assert.rejects(kube.kubectl(['-n', ns, 'get', 'secret', 's1']), /NotFound|not found/);

      // deployment (scale = update of the scale subresource, then a strategic-merge patch)
      await kube.kubectl(['-n', ns, 'create', 'deployment', 'd1', '--image=registry.invalid/e2e/pause:1', '--replicas=1']);
      await kube.kubectl(['-n', ns, 'scale', 'deployment', 'd1', '--replicas=3']);
      await kube.kubectl(['-n', ns, 'patch', 'deployment', 'd1', '-p', '{"metadata":{"labels":{"patched":"yes"}}}']);
      const dep = parseJson<KubeObject>(await kube.kubectl(['-n', ns, 'get', 'deployment', 'd1', '-o', 'json']));
      assert.equal(dep.spec?.['replicas'], 3);
      assert.equal(dep.metadata.labels?.['patched'], 'yes');
      await kube.kubectl(['-n', ns, 'delete', 'deployment', 'd1']);
      await assert.rejects(kube.kubectl(['-n', ns, 'get', 'deployment', 'd1']), /NotFound|not found/);

      // service (the apiserver allocates a cluster IP from the range: more storage traffic behind it)
      await kube.kubectl(['-n', ns, 'create', 'service', 'clusterip', 'svc1', '--tcp=80:8080']);
      const svc = parseJson<KubeObject>(await kube.kubectl(['-n', ns, 'get', 'service', 'svc1', '-o', 'json']));
      assert.match(String(svc.spec?.['clusterIP']), /^10\.96\./);
      await kube.kubectl(['-n', ns, 'patch', 'service', 'svc1', '-p', '{"spec":{"ports":[{"name":"80-8080","port":80,"targetPort":9090}]}}']);
      const svc2 = parseJson<KubeObject>(await kube.kubectl(['-n', ns, 'get', 'service', 'svc1', '-o', 'json']));
      const ports = svc2.spec?.['ports'] as { targetPort: number }[];
      assert.equal(ports[0]?.targetPort, 9090);
      await kube.kubectl(['-n', ns, 'delete', 'service', 'svc1']);
      await assert.rejects(kube.kubectl(['-n', ns, 'get', 'service', 'svc1']), /NotFound|not found/);

      // namespace deletion is finished by the namespace controller (kube-controller-manager)
      await kube.kubectl(['delete', 'namespace', ns, '--timeout=90s'], { timeoutMs: 100_000 });
      await assert.rejects(kube.kubectl(['get', 'namespace', ns]), /NotFound|not found/);
    });

    test('list pagination with --chunk-size over 2,000 configmaps, one consistent snapshot', async () => {
      const ns = 'e2e-page';
      const n = 2000;
      await kube.kubectl(['create', 'namespace', ns]);
      const list = configMapList(ns, 'p-', n) as { items: object[] };
      await boundedParallel(n, 16, async (i) => {
        const r = await kube.api('POST', `/api/v1/namespaces/${ns}/configmaps`, list.items[i]);
        assert.equal(r.status, 201, r.body);
      });

      const out = await kube.kubectl(['-n', ns, 'get', 'configmaps', '--chunk-size=150', '-o', 'name', '-v=6'], {
        timeoutMs: 120_000,
      });
      const names = out.split('\n').filter((l) => l.startsWith('configmap/p-'));
      assert.equal(names.length, n);
      assert.equal(new Set(names).size, n);
      assert.deepEqual(names, [...names].sort());
      // kube-root-ca.crt (published by the controller manager) is in the namespace too
      const total = out.split('\n').filter((l) => l.startsWith('configmap/')).length;
      assert.ok(total === n || total === n + 1, `total ${total}`);

      // The raw pages: every page is read at the first page's revision even while writes go on, and
      // remainingItemCount (derived from the store's count) is exact.
      let cont = '';
      let rv = '';
      let seen = 0;
      let pages = 0;
      for (;;) {
        const q = `limit=500${cont === '' ? '' : `&continue=${encodeURIComponent(cont)}`}`;
        const r = await kube.api('GET', `/api/v1/namespaces/${ns}/configmaps?${q}`);
        assert.equal(r.status, 200, r.body);
        const page = parseJson<KubeList>(r.body);
        if (pages === 0) {
          rv = page.metadata.resourceVersion;
          assert.equal(page.metadata.remainingItemCount, total - 500, 'remainingItemCount from the store count');
          // writes after the snapshot must not show up in later pages
          const w = await kube.api('POST', `/api/v1/namespaces/${ns}/configmaps`, configMap(ns, 'p-zz-late', { late: 'yes' }));
          assert.equal(w.status, 201, w.body);
        } else {
          assert.equal(page.metadata.resourceVersion, rv, 'every page at the first page revision');
        }
        pages++;
        seen += page.items.filter((o) => o.metadata.name.startsWith('p-') && o.metadata.name !== 'p-zz-late').length;
        assert.ok(!page.items.some((o) => o.metadata.name === 'p-zz-late'), 'a later write leaked into the snapshot');
        if (page.metadata.continue === undefined || page.metadata.continue === '') break;
        cont = page.metadata.continue;
        assert.ok(pages < 20, 'bounded pages');
      }
      assert.equal(seen, n);
      assert.equal(pages, Math.ceil(total / 500));
      await kube.kubectl(['delete', 'namespace', ns, '--wait=false']);
    });

    test('kubectl get -w sees create, update, delete in order', async () => {
      const ns = 'e2e-watch';
      await kube.kubectl(['create', 'namespace', ns]);
      await kube.kubectl(['-n', ns, 'create', 'configmap', 'w0', '--from-literal=v=0']);
      const w = kube.kubectlStream([
        '-n', ns, 'get', 'configmaps', '-w', '--output-watch-events',
        '-o', 'jsonpath={.type} {.object.metadata.name} {.object.data.v}{"\\n"}',
      ]);
      try {
        // the initial list is printed first (ADDED w0): the watch is then established at the list revision
        await waitFor('the initial list line', 30_000, async () => (w.lines.some((l) => l.includes(' w0 ')) ? true : undefined));
        await kube.kubectl(['-n', ns, 'create', 'configmap', 'w1', '--from-literal=v=1']);
        await kube.kubectl(['-n', ns, 'patch', 'configmap', 'w1', '--type=merge', '-p', '{"data":{"v":"2"}}']);
        await kube.kubectl(['-n', ns, 'patch', 'configmap', 'w1', '--type=merge', '-p', '{"data":{"v":"3"}}']);
        await kube.kubectl(['-n', ns, 'delete', 'configmap', 'w1']);
        const seen = await waitFor('four w1 events', 30_000, async () => {
          const l = w.lines.filter((x) => x.includes(' w1 '));
          return l.length >= 4 ? l : undefined;
        });
        assert.deepEqual(seen, ['ADDED w1 1', 'MODIFIED w1 2', 'MODIFIED w1 3', 'DELETED w1 3'], w.stderr());
      } finally {
        await w.stop();
      }
      await kube.kubectl(['delete', 'namespace', ns, '--wait=false']);
    });

    full('a watch from a resourceVersion the store compacted gets 410 Gone', async () => {
      const ns = 'e2e-gone';
      await kube.kubectl(['create', 'namespace', ns]);
      const created = await kube.api('POST', `/api/v1/namespaces/${ns}/configmaps`, configMap(ns, 'g0', { v: '0' }));
      assert.equal(created.status, 201, created.body);
      const rv0 = Number(parseJson<KubeObject>(created.body).metadata.resourceVersion);
      const patch = (v: string) =>
        kube.api('PATCH', `/api/v1/namespaces/${ns}/configmaps/g0`, { data: { v } }, 30_000, 'application/merge-patch+json');
      const p1 = await patch('1');
      assert.equal(p1.status, 200, p1.body);
      const rv1 = Number(parseJson<KubeObject>(p1.body).metadata.resourceVersion);

      // control: while rv0 is retained, a watch from it replays the patch
      const early = await kube.watchLines(`/api/v1/namespaces/${ns}/configmaps?watch=1&resourceVersion=${rv0}`, 1, 10_000);
      assert.equal(early.status, 200);
      const ev = parseJson<{ type: string; object: KubeObject }>(early.lines[0] ?? '{}');
      assert.equal(ev.type, 'MODIFIED');
      assert.equal(ev.object.metadata.resourceVersion, String(rv1));

      // an exact-revision list reads the store at rv0 (configmaps bypass the watch cache): the old value
      const exact = await kube.api('GET', `/api/v1/namespaces/${ns}/configmaps?resourceVersion=${rv0}&resourceVersionMatch=Exact`);
      assert.equal(exact.status, 200, exact.body);
      const exactList = parseJson<KubeList>(exact.body);
      assert.equal(exactList.metadata.resourceVersion, String(rv0));
      assert.deepEqual(exactList.items.find((o) => o.metadata.name === 'g0')?.data, { v: '0' });

      // kube's own compactor (every COMPACTION_INTERVAL_S, one interval behind) passes rv0
      const key = `/registry/configmaps/${ns}/g0`;
      await waitFor('kube to compact past rv0', 6 * COMPACTION_INTERVAL_S * 1000, async () => {
        await patch(String(Date.now())); // keep the revision moving
        return (await store.isCompacted(key, rv0)) ? true : undefined;
      }, 1000);
      const gone = await kube.watchLines(`/api/v1/namespaces/${ns}/configmaps?watch=1&resourceVersion=${rv0}`, 1, 10_000);
      const body = gone.lines.join('\n');
      const code410 = gone.status === 410 || /"code":410/.test(body);
      assert.ok(code410, `expected 410 Gone, got HTTP ${gone.status}: ${body}`);
      assert.match(body, /too old|Expired|Gone/);
      const exactGone = await kube.api('GET', `/api/v1/namespaces/${ns}/configmaps?resourceVersion=${rv0}&resourceVersionMatch=Exact`);
      assert.equal(exactGone.status, 410, exactGone.body);
      await kube.kubectl(['delete', 'namespace', ns, '--wait=false']);
    });

    full('Events expire through their store lease', async () => {
      const ns = 'e2e-events';
      await kube.kubectl(['create', 'namespace', ns]);
      const event = {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name: 'e2e-event', namespace: ns },
        involvedObject: { kind: 'ConfigMap', namespace: ns, name: 'anything', apiVersion: 'v1' },
        reason: 'E2E',
        message: 'expires through a lease',
        type: 'Normal',
        firstTimestamp: new Date().toISOString(),
        lastTimestamp: new Date().toISOString(),
        count: 1,
        source: { component: 'berth-e2e' },
      };
      const t0 = Date.now();
      await kube.kubectl(['create', '-f', '-'], { input: JSON.stringify(event) });
      const raw = parseJson<{ kvs?: { lease?: number | string }[] }>(
        await store.etcdctl(['get', `/registry/events/${ns}/e2e-event`, '-w', 'json']),
      );
      const lease = raw.kvs?.[0]?.lease;
      assert.ok(lease !== undefined && String(lease) !== '0', `the event key carries a lease (${JSON.stringify(raw)})`);
      await waitFor('the event to expire', (EVENT_TTL_S + 30) * 1000, async () => {
        const r = await kube.api('GET', `/api/v1/namespaces/${ns}/events/e2e-event`);
        return r.status === 404 ? true : undefined;
      }, 500);
      const ageS = (Date.now() - t0) / 1000;
      assert.ok(ageS >= EVENT_TTL_S - 1, `expired after ${ageS.toFixed(1)} s, before its ${EVENT_TTL_S} s TTL`);
      await kube.kubectl(['delete', 'namespace', ns, '--wait=false']);
    });

    test('kube-controller-manager: Deployment -> ReplicaSet -> Pods; garbage collection deletes dependents', async () => {
      const ns = 'e2e-kcm';
      await kube.kubectl(['create', 'namespace', ns]);
      await kube.kubectl(['-n', ns, 'create', 'deployment', 'web', '--image=registry.invalid/e2e/pause:1', '--replicas=2']);
      const dep = parseJson<KubeObject>(await kube.kubectl(['-n', ns, 'get', 'deployment', 'web', '-o', 'json']));
      const rs = await waitFor('a ReplicaSet owned by the Deployment', 60_000, async () => {
        const l = parseJson<KubeList>(await kube.kubectl(['-n', ns, 'get', 'replicasets', '-o', 'json']));
        return l.items.find((o) => o.metadata.ownerReferences?.some((r) => r.uid === dep.metadata.uid));
      }, 500);
      const pods = await waitFor('two Pods owned by the ReplicaSet', 60_000, async () => {
        const l = parseJson<KubeList>(await kube.kubectl(['-n', ns, 'get', 'pods', '-o', 'json']));
        const owned = l.items.filter((o) => o.metadata.ownerReferences?.some((r) => r.uid === rs.metadata.uid));
        return owned.length === 2 ? owned : undefined;
      }, 500);
      for (const p of pods) assert.equal(p.status?.['phase'], 'Pending');

      await kube.kubectl(['-n', ns, 'delete', 'deployment', 'web', '--cascade=background']);
      await waitFor('the garbage collector to delete the ReplicaSet and Pods', 90_000, async () => {
        const rsLeft = parseJson<KubeList>(await kube.kubectl(['-n', ns, 'get', 'replicasets', '-o', 'json'])).items.length;
        const podsLeft = parseJson<KubeList>(await kube.kubectl(['-n', ns, 'get', 'pods', '-o', 'json'])).items.length;
        return rsLeft === 0 && podsLeft === 0 ? true : undefined;
      }, 1000);
      await kube.kubectl(['delete', 'namespace', ns, '--wait=false']);
    });

    full('a CRD and custom objects', async () => {
      const ns = 'e2e-crd';
      await kube.kubectl(['create', 'namespace', ns]);
      const crd = {
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: 'widgets.e2e.berth.dev' },
        spec: {
          group: 'e2e.berth.dev',
          scope: 'Namespaced',
          names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
          versions: [{
            name: 'v1',
            served: true,
            storage: true,
            schema: {
              openAPIV3Schema: {
                type: 'object',
                properties: { spec: { type: 'object', properties: { size: { type: 'integer' }, color: { type: 'string' } } } },
              },
            },
          }],
        },
      };
      await kube.kubectl(['apply', '-f', '-'], { input: JSON.stringify(crd) });
      await kube.kubectl(['wait', '--for=condition=Established', 'crd/widgets.e2e.berth.dev', '--timeout=60s'], { timeoutMs: 70_000 });
      const widget = (name: string, size: number) => ({ apiVersion: 'e2e.berth.dev/v1', kind: 'Widget', metadata: { name, namespace: ns }, spec: { size, color: 'red' } });
      // discovery of the new group can lag the Established condition for a moment
      await waitFor('the widgets resource to be served', 30_000, async () => {
        await kube.kubectl(['apply', '-f', '-'], { input: JSON.stringify(widget('w1', 1)) });
        return true;
      }, 500);
      await kube.kubectl(['apply', '-f', '-'], { input: JSON.stringify(widget('w2', 2)) });
      await assert.rejects(
        kube.kubectl(['create', '-f', '-'], { input: JSON.stringify({ ...widget('bad', 0), spec: { size: 'huge' } }) }),
        /Invalid value|must be of type integer|invalid/i,
      );
      await kube.kubectl(['-n', ns, 'patch', 'widget', 'w1', '--type=merge', '-p', '{"spec":{"size":10}}']);
      const w1 = parseJson<KubeObject>(await kube.kubectl(['-n', ns, 'get', 'widget', 'w1', '-o', 'json']));
      assert.equal(w1.spec?.['size'], 10);
      const l = parseJson<KubeList>(await kube.kubectl(['-n', ns, 'get', 'widgets', '-o', 'json']));
      assert.deepEqual(l.items.map((o) => o.metadata.name).sort(), ['w1', 'w2']);
      await kube.kubectl(['-n', ns, 'delete', 'widget', 'w2']);
      // deleting the CRD removes its remaining objects from the store
      await kube.kubectl(['delete', 'crd', 'widgets.e2e.berth.dev', '--timeout=90s'], { timeoutMs: 100_000 });
      const left = await store.etcdctl(['get', '--prefix', '--keys-only', '/registry/e2e.berth.dev/']);
      assert.equal(left.trim(), '');
      await kube.kubectl(['delete', 'namespace', ns, '--wait=false']);
    });

    test('/readyz: etcd checks ok; consistent reads from the watch cache', async () => {
      const r = await kube.api('GET', '/readyz?verbose');
      assert.equal(r.status, 200, r.body);
      assert.match(r.body, /\[\+\]etcd ok/);
      assert.match(r.body, /\[\+\]etcd-readiness ok/);
      if (c.tls) {
        // kube-apiserver reached the store over TLS with its client certificate: no member refused a
        // connection so far (kube's, the harness's etcdctl and health probes all present the store CA's
        // client certificate) ...
        assert.doesNotMatch(store.output(), /rejected connection/, 'a member refused a TLS connection');
        // ... and the store does require one: without a client certificate etcdctl is refused.
        const tls = store.tls;
        assert.ok(tls !== undefined);
        await assert.rejects(store.etcdctlWith([`--cacert=${tls.ca}`, '--command-timeout=3s'], ['get', 'compact_rev_key'], 30_000));
        await waitFor('the refusal in a member log', 10_000, async () => (/rejected connection/.test(store.output()) ? true : undefined), 200);
      }

      const metric = async (): Promise<number> => {
        const m = await kube.api('GET', '/metrics');
        assert.equal(m.status, 200);
        const line = m.body
          .split('\n')
          .find((x) => x.startsWith('apiserver_watch_cache_consistent_read_total{') && x.includes('resource="secrets"') &&
            x.includes('success="true"') && x.includes('fallback="false"'));
        return line === undefined ? 0 : Number(line.split(' ').pop());
      };
      // the store size kube reports comes from Maintenance.Status (dbSize)
      const sizes = (await kube.api('GET', '/metrics')).body.split('\n').filter((x) => x.startsWith('apiserver_storage_size_bytes{'));
      assert.ok(sizes.length > 0 && sizes.every((x) => Number(x.split(' ').pop()) > 0), sizes.join('\n'));
      const before0 = await metric();
      for (let i = 0; i < 3; i++) {
        const l = await kube.api('GET', '/api/v1/secrets');
        assert.equal(l.status, 200, l.body);
      }
      const after0 = await metric();
      const log = kube.log();
      if (flavor === 'berth') {
        // berth reports an etcd version >= 3.5.13, so kube serves consistent lists from its cache
        assert.equal(after0 - before0, 3, 'three consistent lists served from the watch cache');
        assert.doesNotMatch(log, /RequestWatchProgress feature is not supported/);
      } else {
        // etcd 3.4.23 predates 3.4.31: kube falls back to reading etcd for consistent lists
        assert.equal(after0 - before0, 0);
        assert.match(log, /RequestWatchProgress feature is not supported/);
      }
    });

    test("kube's periodic compaction runs; the apiserver log has no storage errors", async () => {
      const raw = await waitFor('two kube compactions', 4 * COMPACTION_INTERVAL_S * 1000, async () => {
        const j = parseJson<{ kvs?: { version?: number }[] }>(await store.etcdctl(['get', 'compact_rev_key', '-w', 'json']));
        return (j.kvs?.[0]?.version ?? 0) >= 2 ? j : undefined;
      }, 1000);
      assert.ok((raw.kvs?.[0]?.version ?? 0) >= 2);
      const log = kube.log();
      assert.match(log, /etcd: compacted rev/);
      const lines = log.split('\n');
      const storageErrors = lines.filter((l) => /^E\d{4} /.test(l) && /etcd|storage|compact|watch chan error|cacher/i.test(l));
      assert.deepEqual(storageErrors, [], `storage errors in ${kube.logFile}`);
      // The etcd client's own warnings (JSON lines) once the apiserver is ready. During start-up kube
      // builds and destroys some storages, closing their clients under in-flight calls (see docs/kube.md).
      const clientWarnings = lines.filter((l) => {
        if (!/"logger":"etcd-client"/.test(l) || !/"level":"(warn|error)"/.test(l)) return false;
        // the 410 subtest's exact-revision list at a compacted revision, answered as it must be
        if (l.includes('required revision has been compacted')) return false;
        const ts = /"ts":"([^"]+)"/.exec(l)?.[1];
        return ts === undefined || new Date(ts) >= kube.readyAt;
      });
      assert.deepEqual(clientWarnings, [], `etcd client warnings in ${kube.logFile}`);
    });

    test('kill one member, then the leader, during a write/list load: the apiserver keeps serving, no object lost', async () => {
      const ns = 'e2e-chaos';
      await kube.kubectl(['create', 'namespace', ns]);
      const acked = new Set<string>();
      let writeFailures = 0;
      let listOk = 0;
      let listFailures = 0;
      const listMissing: string[] = [];
      const failureReasons = new Map<string, number>();
      let phase = 'all members up';
      let stopLoad = false;
      const maxWrites = 3000;
      let seq = 0;
      const writer = async (): Promise<void> => {
        while (!stopLoad && seq < maxWrites) {
          const name = `c-${String(seq++).padStart(5, '0')}`;
          const r = await kube.api('POST', `/api/v1/namespaces/${ns}/configmaps`, configMap(ns, name, { n: name }), 20_000)
            .catch((e: unknown) => ({ status: 0, body: String(e) }));
          if (r.status === 201) acked.add(name);
          else {
            writeFailures++;
            const msg = /"message":"([^"]*)"/.exec(r.body)?.[1] ?? r.body.slice(0, 120);
            const why = `${phase}: HTTP ${r.status} ${msg.replace(/c-\d+/g, 'c-N')}`;
            failureReasons.set(why, (failureReasons.get(why) ?? 0) + 1);
          }
        }
      };
      const lister = async (): Promise<void> => {
        while (!stopLoad) {
          try {
            const expected = [...acked];
            const out = await kube.kubectl(['-n', ns, 'get', 'configmaps', '--chunk-size=200', '-o', 'name'], { timeoutMs: 30_000 });
            // a successful list holds every object acknowledged before it started
            const names = new Set(out.split('\n').map((s) => s.replace('configmap/', '')));
            const missing = expected.filter((x) => !names.has(x));
            if (missing.length > 0) listMissing.push(...missing);
            listOk++;
          } catch {
            listFailures++;
          }
        }
      };
      const ackedAfter = async (what: string, extra: number): Promise<void> => {
        const target = acked.size + extra;
        await waitFor(`${extra} acknowledged writes ${what}`, 60_000, async () => (acked.size >= target ? true : undefined), 100);
      };
      const load = Promise.all([writer(), writer(), lister()]);
      try {
        await ackedAfter('before any kill', 30);
        const leader = await store.leaderIndex();
        const follower = (leader + 1) % 3;
        phase = 'follower down';
        await store.killMember(follower);
        await ackedAfter('with one follower down', 50);
        const listsBefore = listOk;
        await waitFor('a kubectl list with one follower down', 60_000, async () => (listOk > listsBefore ? true : undefined), 100);
        await store.startMember(follower);
        phase = 'follower restarted';
        const leader2 = await store.leaderIndex();
        phase = 'leader down';
        await store.killMember(leader2);
        const tKill = Date.now();
        await ackedAfter('after the leader was killed', 50);
        const recoveryS = (Date.now() - tKill) / 1000;
        const listsBefore2 = listOk;
        await waitFor('a kubectl list after the leader was killed', 60_000, async () => (listOk > listsBefore2 ? true : undefined), 100);
        await store.startMember(leader2);
        phase = 'old leader restarted';
        await ackedAfter('with every member back', 20);
        console.log(`[${c.label}] chaos: ${acked.size} writes acknowledged, ${writeFailures} failed; ` +
          `lists ${listOk} ok, ${listFailures} failed; writes resumed ${recoveryS.toFixed(1)} s after the leader kill`);
        for (const [why, count] of failureReasons) console.log(`[${c.label}]   ${count} x ${why}`);
      } finally {
        stopLoad = true;
        await load;
      }
      // While the leader is up, a killed or restarting follower must not make the store answer "no leader"
      // (a restarting member must hold requests until it has rejoined, as etcd does).
      const noLeader = [...failureReasons].filter(([why]) => /^(all members up|follower)/.test(why) && why.includes('no leader'));
      assert.deepEqual(noLeader, [], 'no-leader errors while the leader was up');
      assert.ok(!kube.exited, 'kube-apiserver still running');
      const r = await kube.api('GET', '/readyz');
      assert.equal(r.status, 200, r.body);

      // every acknowledged object is there, through the apiserver and in the store
      const out = await kube.kubectl(['-n', ns, 'get', 'configmaps', '--chunk-size=500', '-o', 'name'], { timeoutMs: 60_000 });
      const present = new Set(out.split('\n').filter((s) => s.startsWith('configmap/c-')).map((s) => s.slice('configmap/'.length)));
      assert.deepEqual(listMissing, [], 'a list during the load missed acknowledged objects');
      const lost = [...acked].filter((n) => !present.has(n));
      assert.deepEqual(lost, [], 'acknowledged writes lost (apiserver list)');
      const keys = await store.etcdctl(['get', '--prefix', '--keys-only', `/registry/configmaps/${ns}/c-`]);
      const stored = new Set(keys.split('\n').filter((k) => k !== '').map((k) => k.split('/').pop() ?? ''));
      assert.deepEqual([...acked].filter((n) => !stored.has(n)), [], 'acknowledged writes lost (store)');

      // the two restarted members converged: every member hashes the same history at one revision
      const head = parseJson<{ header: { revision: number } }>(await store.etcdctl(['get', 'compact_rev_key', '-w', 'json']));
      const rev = head.header.revision;
      const hashes = await waitFor('every member at the same HashKV', 30_000, async () => {
        const out = parseJson<{ Endpoint: string; HashKV: { hash: number } }[]>(
          await store.etcdctl(['endpoint', 'hashkv', `--rev=${rev}`, '-w', 'json']));
        return out.length === 3 && new Set(out.map((h) => h.HashKV.hash)).size === 1 ? out : undefined;
      }, 500);
      assert.equal(hashes.length, 3);
      await kube.kubectl(['delete', 'namespace', ns, '--wait=false']);
    });

    full('kubectl workload timings: create 1,000 configmaps, list, watch, delete', async () => {
      const ns = 'e2e-ratio';
      const n = 1000;
      await kube.kubectl(['create', 'namespace', ns]);
      const t = new Map<string, number>();
      t.set('create 1000 (kubectl create -f List)', await timed(async () => {
        await kube.kubectl(['create', '-f', '-', '-o', 'name'], { input: JSON.stringify(configMapList(ns, 'r-', n)), timeoutMs: 300_000 });
      }));
      t.set('list x5 (--chunk-size=500)', await timed(async () => {
        for (let i = 0; i < 5; i++) {
          const out = await kube.kubectl(['-n', ns, 'get', 'configmaps', '--chunk-size=500', '-o', 'name']);
          assert.equal(out.split('\n').filter((l) => l.startsWith('configmap/r-')).length, n);
        }
      }));
      const w = kube.kubectlStream([
        '-n', ns, 'get', 'configmaps', '-w', '--chunk-size=0', '--output-watch-events',
        '-o', 'jsonpath={.type} {.object.metadata.name}{"\\n"}',
      ]);
      try {
        await waitFor('the watch initial list', 60_000, async () => (w.lines.filter((l) => l.startsWith('ADDED r-')).length === n ? true : undefined), 100)
          .catch((e: unknown) => {
            throw new Error(`${String(e)}; ${w.lines.length} lines, first ${JSON.stringify(w.lines.slice(0, 3))}, stderr ${w.stderr()}`);
          });
        const t0 = performance.now();
        t.set('delete 1000 (kubectl delete --all)', await timed(async () => {
          await kube.kubectl(['-n', ns, 'delete', 'configmaps', '--all', '--wait=false'], { timeoutMs: 300_000 });
        }));
        await waitFor('1000 DELETED watch events', 120_000, async () => (w.lines.filter((l) => l.startsWith('DELETED r-')).length === n ? true : undefined), 100);
        t.set('watch sees all 1000 deletes', (performance.now() - t0) / 1000);
        const order = w.lines.filter((l) => l.startsWith('DELETED r-')).map((l) => l.slice('DELETED '.length));
        assert.deepEqual(order, [...order].sort(), 'deletes observed in the order kubectl issued them');
      } finally {
        await w.stop();
      }
      timings.set(c.label, t);
      await kube.kubectl(['delete', 'namespace', ns, '--wait=false']);
    });
  });
}

after(() => {
  const b = timings.get('berth');
  const e = timings.get('etcd');
  const rows = [...(b ?? e ?? new Map<string, number>()).keys()];
  if (rows.length === 0) return;
  const lines = [`kubectl workload, kube-apiserver ${KUBE_VERSION}, kubectl ${kubectlPath()}`, '| phase | berth s | etcd s | berth/etcd |', '|---|---:|---:|---:|'];
  for (const r of rows) {
    const bs = b?.get(r);
    const es = e?.get(r);
    const ratio = bs !== undefined && es !== undefined && es > 0 ? (bs / es).toFixed(2) : '-';
    lines.push(`| ${r} | ${bs?.toFixed(2) ?? '-'} | ${es?.toFixed(2) ?? '-'} | ${ratio} |`);
  }
  console.log(lines.join('\n'));
});
