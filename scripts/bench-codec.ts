// Codec benchmark behind docs/codec.md: encode+decode of berth's hottest wire messages with each
// protobuf generator we considered.
//
//   node --import tsx scripts/bench-codec.ts [--rounds 5] [--ms 400]
//
// ts-proto is read from pkg/proto/gen (the chosen output). protobuf-es v2 and protobufjs static are
// generated at run time into a scratch folder under node_modules/.cache (so their runtime imports
// resolve) and removed at exit. Each case runs `rounds` interleaved rounds of about `ms` milliseconds
// per codec; the table shows the best round (least disturbed by other processes on a shared machine).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { RangeResponse, PutRequest, WatchResponse } from '../pkg/proto/gen/etcdserverpb/rpc.js';
import type { KeyValue } from '../pkg/proto/gen/mvccpb/kv.js';
import { Event_EventType } from '../pkg/proto/gen/mvccpb/kv.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i === -1 ? undefined : process.argv[i + 1];
  return v === undefined ? dflt : Number(v);
}
const ROUNDS = arg('rounds', 5);
const ROUND_MS = arg('ms', 400);
const MAX_ITERS_PER_ROUND = 1_000_000;

// ---------------------------------------------------------------- fixtures (one shape, all codecs)

function bytes(len: number, seed: number): Uint8Array {
  const b = new Uint8Array(len);
  for (let i = 0; i < len; i++) b[i] = 97 + ((seed * 31 + i * 7) % 26);
  return b;
}
function key32(i: number): Uint8Array {
  // "/registry/pods/default/pod-00042" style: 32 bytes.
  return new TextEncoder().encode(`/registry/pods/ns-a/pod-${String(i).padStart(8, '0')}`).subarray(0, 32);
}
interface PlainKv {
  key: Uint8Array;
  createRevision: bigint;
  modRevision: bigint;
  version: bigint;
  value: Uint8Array;
  lease: bigint;
}
function plainKv(i: number): PlainKv {
  return {
    key: key32(i),
    createRevision: 1_000_000n + BigInt(i),
    modRevision: 2_000_000n + BigInt(i) * 3n,
    version: BigInt(1 + (i % 9)),
    value: bytes(256, i),
    lease: i % 4 === 0 ? 0x694d81a5e7d3c0b1n : 0n,
  };
}
const HEADER = { clusterId: 0x9f3b6a1c2d4e5f60n, memberId: 0x8e9e05c52164694dn, revision: 2_004_000n, raftTerm: 7n };
const rangeKvs = Array.from({ length: 1000 }, (_, i) => plainKv(i));
const watchEvents = Array.from({ length: 100 }, (_, i) => ({
  type: i % 5 === 4 ? 1 : 0,
  kv: plainKv(i),
  prevKv: plainKv(i + 5000),
}));
const put = { key: key32(7), value: bytes(256, 7), lease: 0x694d81a5e7d3c0b1n, prevKv: false, ignoreValue: false, ignoreLease: false };

// ---------------------------------------------------------------- codecs

interface Codec {
  name: string;
  encode(): Uint8Array;
  decode(b: Uint8Array): unknown;
}
interface Case {
  name: string;
  codecs: Codec[];
}

function tsProtoCodecs(): Record<string, Codec> {
  const kv = (k: PlainKv): KeyValue => ({ ...k });
  const header = { ...HEADER };
  const range: RangeResponse = { header, kvs: rangeKvs.map(kv), more: false, count: 1000n };
  const watch: WatchResponse = {
    header,
    watchId: 1n,
    created: false,
    canceled: false,
    compactRevision: 0n,
    cancelReason: '',
    fragment: false,
    events: watchEvents.map((e) => ({
      type: e.type === 1 ? Event_EventType.DELETE : Event_EventType.PUT,
      kv: kv(e.kv),
      prevKv: kv(e.prevKv),
    })),
  };
  const putReq: PutRequest = { ...put };
  return {
    range: { name: 'ts-proto', encode: () => RangeResponse.encode(range).finish(), decode: (b) => RangeResponse.decode(b) },
    put: { name: 'ts-proto', encode: () => PutRequest.encode(putReq).finish(), decode: (b) => PutRequest.decode(b) },
    watch: { name: 'ts-proto', encode: () => WatchResponse.encode(watch).finish(), decode: (b) => WatchResponse.decode(b) },
    // What the generated grpc-js serializer does: encode, then copy into a Buffer.
    rangeGrpc: {
      name: 'ts-proto (grpc-js serializer, +Buffer copy)',
      encode: () => Buffer.from(RangeResponse.encode(range).finish()),
      decode: (b) => RangeResponse.decode(b),
    },
  };
}

/* Loosely typed on purpose: these modules exist only at run time, in the scratch folder. */
type Loose = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

async function protobufEsCodecs(dir: string): Promise<Record<string, Codec>> {
  const pb: Loose = await import('@bufbuild/protobuf');
  const rpc: Loose = await import(pathToFileURL(join(dir, 'es', 'etcdserverpb', 'rpc_pb.js')).href);
  const kvpb: Loose = await import(pathToFileURL(join(dir, 'es', 'mvccpb', 'kv_pb.js')).href);
  const { create, toBinary, fromBinary } = pb;
  const kv = (k: PlainKv) => create(kvpb.KeyValueSchema, k);
  const header = create(rpc.ResponseHeaderSchema, HEADER);
  const range = create(rpc.RangeResponseSchema, { header, kvs: rangeKvs.map(kv), more: false, count: 1000n });
  const watch = create(rpc.WatchResponseSchema, {
    header,
    watchId: 1n,
    events: watchEvents.map((e) => create(kvpb.EventSchema, { type: e.type, kv: kv(e.kv), prevKv: kv(e.prevKv) })),
  });
  const putReq = create(rpc.PutRequestSchema, put);
  const c = (schema: unknown, msg: unknown): Codec => ({
    name: 'protobuf-es v2',
    encode: () => toBinary(schema, msg),
    decode: (b) => fromBinary(schema, b),
  });
  return { range: c(rpc.RangeResponseSchema, range), put: c(rpc.PutRequestSchema, putReq), watch: c(rpc.WatchResponseSchema, watch) };
}

async function protobufjsCodecs(dir: string): Promise<Record<string, Codec>> {
  const mod: Loose = await import(pathToFileURL(join(dir, 'pbjs', 'etcd.js')).href);
  const rpc = mod['etcdserverpb'];
  // protobufjs has no bigint: 64-bit fields are Long objects or numbers. Our fixtures fit in 53 bits
  // except IDs, which go through Long-compatible decimal strings.
  // It also writes every field that is present, default or not, so defaults are left out here.
  const n = (v: bigint) => (v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString());
  const kv = (k: PlainKv) => ({
    key: k.key,
    createRevision: n(k.createRevision),
    modRevision: n(k.modRevision),
    version: n(k.version),
    value: k.value,
    ...(k.lease === 0n ? {} : { lease: n(k.lease) }),
  });
  const header = { clusterId: n(HEADER.clusterId), memberId: n(HEADER.memberId), revision: n(HEADER.revision), raftTerm: n(HEADER.raftTerm) };
  const range = rpc.RangeResponse.create({ header, kvs: rangeKvs.map(kv), count: 1000 });
  const watch = rpc.WatchResponse.create({
    header,
    watchId: 1,
    events: watchEvents.map((e) => ({ ...(e.type === 0 ? {} : { type: e.type }), kv: kv(e.kv), prevKv: kv(e.prevKv) })),
  });
  const putReq = rpc.PutRequest.create({ key: put.key, value: put.value, lease: n(put.lease) });
  const c = (type: Loose, msg: unknown): Codec => ({
    name: 'protobufjs static (no bigint)',
    encode: () => type['encode'](msg).finish(),
    decode: (b) => type['decode'](b),
  });
  return { range: c(rpc.RangeResponse, range), put: c(rpc.PutRequest, putReq), watch: c(rpc.WatchResponse, watch) };
}

// ---------------------------------------------------------------- generation of the contenders

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'], timeout: 120_000 });
  if (r.status !== 0) throw new Error(`bench-codec: ${cmd} ${args.join(' ')} failed (${r.status ?? r.signal})`);
}

function generateContenders(): string {
  const cache = join(root, 'node_modules', '.cache');
  mkdirSync(cache, { recursive: true });
  const dir = mkdtempSync(join(cache, 'bench-codec-'));
  const files = ['proto/etcdserverpb/rpc.proto', 'proto/mvccpb/kv.proto', 'proto/authpb/auth.proto'];
  const template = {
    version: 'v2',
    plugins: [{ local: join(root, 'node_modules/.bin/protoc-gen-es'), out: join(dir, 'es'), opt: ['target=js', 'import_extension=js'] }],
  };
  run(join(root, 'node_modules/.bin/buf'), ['generate', 'proto', ...files.flatMap((f) => ['--path', f]), '--template', JSON.stringify(template)]);
  mkdirSync(join(dir, 'pbjs'));
  const out = join(dir, 'pbjs', 'etcd.js');
  run(process.execPath, [
    join(root, 'node_modules/protobufjs-cli/bin/pbjs'),
    '-t', 'static-module', '-w', 'es6', '--no-verify', '--no-convert', '--no-delimited', '--no-comments',
    '-p', 'proto', '-o', out, 'proto/etcdserverpb/rpc.proto',
  ]);
  // pbjs emits a namespace import of the bare CommonJS "protobufjs/minimal", which Node's ESM loader
  // rejects; a default import of the .js path works.
  writeFileSync(
    out,
    readFileSync(out, 'utf8').replace('import * as $protobuf from "protobufjs/minimal";', 'import $protobuf from "protobufjs/minimal.js";'),
  );
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n');
  return dir;
}

// ---------------------------------------------------------------- measurement

let sink = 0;
interface Timing {
  /** Process CPU time (user+sys, all threads) per operation: robust to other load on a shared machine. */
  cpuUs: number;
  wallUs: number;
}
function timeLoop(fn: () => unknown, ms: number): Timing {
  const budget = BigInt(ms) * 1_000_000n;
  const cpu0 = process.cpuUsage();
  const start = process.hrtime.bigint();
  let iters = 0;
  let now = start;
  while (iters < MAX_ITERS_PER_ROUND) {
    for (let i = 0; i < 8; i++) {
      const r = fn();
      if (r !== undefined) sink++;
    }
    iters += 8;
    now = process.hrtime.bigint();
    if (now - start >= budget) break;
  }
  const cpu = process.cpuUsage(cpu0);
  return { cpuUs: (cpu.user + cpu.system) / iters, wallUs: Number(now - start) / 1000 / iters };
}

interface Result {
  encode: Timing;
  decode: Timing;
  size: number;
}
const bestOf = (a: Timing | undefined, b: Timing): Timing =>
  a === undefined ? b : { cpuUs: Math.min(a.cpuUs, b.cpuUs), wallUs: Math.min(a.wallUs, b.wallUs) };

function measure(cases: Case[]): Map<string, Result> {
  const best = new Map<string, Result>();
  for (const c of cases) {
    for (const codec of c.codecs) {
      // Warm-up so every codec is measured with optimized code.
      const b = codec.encode();
      timeLoop(() => codec.encode(), 100);
      timeLoop(() => codec.decode(b), 100);
    }
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of cases) {
      for (const codec of c.codecs) {
        const b = codec.encode();
        const enc = timeLoop(() => codec.encode(), ROUND_MS / 2);
        const dec = timeLoop(() => codec.decode(b), ROUND_MS / 2);
        const k = `${c.name}\u0000${codec.name}`;
        const prev = best.get(k);
        best.set(k, { encode: bestOf(prev?.encode, enc), decode: bestOf(prev?.decode, dec), size: b.byteLength });
      }
    }
  }
  return best;
}

function fmt(us: number): string {
  return us >= 100 ? us.toFixed(0) : us >= 10 ? us.toFixed(1) : us.toFixed(2);
}

async function main(): Promise<void> {
  const dir = generateContenders();
  try {
    const tp = tsProtoCodecs();
    const es = await protobufEsCodecs(dir);
    const pj = await protobufjsCodecs(dir);
    const pick = (k: string, ...sets: Record<string, Codec>[]) => sets.map((s) => s[k]).filter((c): c is Codec => c !== undefined);
    const cases: Case[] = [
      { name: 'RangeResponse, 1000 kvs', codecs: pick('range', tp, es, pj).concat(pick('rangeGrpc', tp)) },
      { name: 'PutRequest', codecs: pick('put', tp, es, pj) },
      { name: 'WatchResponse, 100 events + prev_kv', codecs: pick('watch', tp, es, pj) },
    ];
    // Same bytes on the wire from every codec, or the comparison is meaningless.
    for (const c of cases) {
      const ref = Buffer.from(c.codecs[0]!.encode());
      for (const codec of c.codecs) {
        if (!ref.equals(Buffer.from(codec.encode()))) throw new Error(`bench-codec: ${codec.name} encodes ${c.name} differently`);
      }
    }
    const cpu = os.cpus()[0]?.model ?? 'unknown cpu';
    console.log(`# bench-codec ${new Date().toISOString()}`);
    console.log(`node ${process.version}, ${os.platform()} ${os.arch()}, ${os.cpus().length} x ${cpu}, load avg ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    console.log(`best of ${ROUNDS} rounds x ${ROUND_MS} ms; microseconds of process CPU time per operation (lower is better);`);
    console.log('wall-clock µs for encode+decode in the last column; "vs ts-proto" compares CPU encode+decode\n');
    const results = measure(cases);
    console.log('| message | codec | bytes | encode µs | decode µs | encode+decode µs | vs ts-proto | wall enc+dec µs |');
    console.log('|---|---|---:|---:|---:|---:|---:|---:|');
    for (const c of cases) {
      const ref = results.get(`${c.name}\u0000ts-proto`)!;
      const refTotal = ref.encode.cpuUs + ref.decode.cpuUs;
      for (const codec of c.codecs) {
        const r = results.get(`${c.name}\u0000${codec.name}`)!;
        const total = r.encode.cpuUs + r.decode.cpuUs;
        console.log(
          `| ${c.name} | ${codec.name} | ${r.size} | ${fmt(r.encode.cpuUs)} | ${fmt(r.decode.cpuUs)} | ${fmt(total)} | ` +
            `${(total / refTotal).toFixed(2)}x | ${fmt(r.encode.wallUs + r.decode.wallUs)} |`,
        );
      }
    }
    if (sink < 0) console.log(sink);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
