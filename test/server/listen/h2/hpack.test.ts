/**
 * The HPACK decoder and encoder of the gRPC HTTP/2 server (pkg/server/listen/h2/hpack.ts), against
 * hpack.js as an oracle: blocks its stateful compressor produces (Huffman, incremental indexing,
 * eviction) decode to the same lists, and its decompressor reads our encoder's blocks; the RFC 7541
 * Appendix C examples; and every malformed input is an HpackError.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import hpack, { type HpackHeader } from 'hpack.js';
import { HpackDecoder, HpackError, STATIC_TABLE, encodeHeaders, huffmanDecode } from '../../../../pkg/server/listen/h2/hpack.js';
import { rng } from '../../../storage/mvcc/gen.js';

function compressBlocks(lists: HpackHeader[][], tableSize: number): Buffer[] {
  const c = hpack.compressor.create({ table: { maxSize: tableSize } });
  return lists.map((l) => {
    c.write(l);
    const chunks: Buffer[] = [];
    for (let b = c.read() as Buffer | null; b !== null; b = c.read() as Buffer | null) chunks.push(b);
    return Buffer.concat(chunks);
  });
}

const NAMES = [':method', ':path', ':scheme', ':authority', 'content-type', 'te', 'user-agent', 'grpc-timeout', 'authorization', 'token', 'x-custom', 'hasleader'];
const PATHS = ['/etcdserverpb.KV/Range', '/etcdserverpb.KV/Put', '/etcdserverpb.Watch/Watch', '/etcdserverpb.Lease/LeaseKeepAlive'];

function randomValue(r: () => number): string {
  const len = Math.floor(r() * 40);
  let s = '';
  // every octet value, so Huffman codes of all lengths (up to 30 bits) are exercised
  for (let i = 0; i < len; i++) s += String.fromCharCode(r() < 0.7 ? 32 + Math.floor(r() * 95) : Math.floor(r() * 256));
  return s;
}

for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
  test(`decodes hpack.js's blocks on one connection (seed ${String(seed)})`, () => {
    const r = rng(seed);
    const tableSize = seed % 2 === 0 ? 4096 : 256; // small tables evict
    const lists: HpackHeader[][] = [];
    for (let i = 0; i < 60; i++) {
      const l: HpackHeader[] = [
        { name: ':method', value: 'POST' },
        { name: ':path', value: PATHS[Math.floor(r() * PATHS.length)] as string },
      ];
      const n = Math.floor(r() * 8);
      for (let j = 0; j < n; j++) {
        const h: HpackHeader = { name: NAMES[Math.floor(r() * NAMES.length)] as string, value: r() < 0.5 ? 'application/grpc' : randomValue(r) };
        const mode = r();
        if (mode < 0.2) h.incremental = false;
        else if (mode < 0.3) h.neverIndex = true;
        if (r() < 0.3) h.huffman = false;
        l.push(h);
      }
      lists.push(l);
    }
    const blocks = compressBlocks(lists, tableSize);
    const d = new HpackDecoder(tableSize);
    blocks.forEach((b, i) => {
      const want = (lists[i] as HpackHeader[]).flatMap((h) => [h.name, h.value]);
      assert.deepEqual(d.decode(b), want, `block ${String(i)}`);
      assert.ok(d.tableSize <= tableSize);
    });
  });
}

test("the static table is RFC 7541's (as hpack.js has it)", async () => {
  const { createRequire } = await import('node:module');
  const theirs = (createRequire(import.meta.url)('hpack.js/lib/hpack/static-table.js') as { table: { name: string; value: string }[] }).table;
  assert.deepEqual(
    STATIC_TABLE.map(([n, v]) => [n, v]),
    theirs.map((e) => [e.name, e.value]),
  );
  assert.equal(STATIC_TABLE.length, 61);
});

test('RFC 7541 C.4: requests with Huffman coding, the dynamic table carried between blocks', () => {
  const d = new HpackDecoder();
  assert.deepEqual(d.decode(Buffer.from('828684418cf1e3c2e5f23a6ba0ab90f4ff', 'hex')), [':method', 'GET', ':scheme', 'http', ':path', '/', ':authority', 'www.example.com']);
  assert.equal(d.tableSize, 57);
  assert.deepEqual(d.decode(Buffer.from('828684be5886a8eb10649cbf', 'hex')), [':method', 'GET', ':scheme', 'http', ':path', '/', ':authority', 'www.example.com', 'cache-control', 'no-cache']);
  assert.equal(d.tableSize, 110);
  assert.deepEqual(d.decode(Buffer.from('828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf', 'hex')), [
    ':method',
    'GET',
    ':scheme',
    'https',
    ':path',
    '/index.html',
    ':authority',
    'www.example.com',
    'custom-key',
    'custom-value',
  ]);
  assert.equal(d.tableSize, 164);
});

test('RFC 7541 C.5: responses evicting from a 256-octet table', () => {
  const d = new HpackDecoder(256);
  const first = Buffer.from(
    '4803333032580770726976617465611d4d6f6e2c203231204f637420323031332032303a31333a323120474d546e1768747470733a2f2f7777772e6578616d706c652e636f6d',
    'hex',
  );
  assert.deepEqual(d.decode(first), [':status', '302', 'cache-control', 'private', 'date', 'Mon, 21 Oct 2013 20:13:21 GMT', 'location', 'https://www.example.com']);
  assert.equal(d.tableSize, 222);
  assert.deepEqual(d.decode(Buffer.from('4803333037c1c0bf', 'hex')), [':status', '307', 'cache-control', 'private', 'date', 'Mon, 21 Oct 2013 20:13:21 GMT', 'location', 'https://www.example.com']);
  assert.equal(d.tableSize, 222);
});

test('a table size update: within the limit shrinks (evicts), above it or after a field is an error', () => {
  const d = new HpackDecoder(4096);
  d.decode(Buffer.from('400178017a', 'hex')); // x: z, indexed
  assert.equal(d.tableSize, 34);
  assert.deepEqual(d.decode(Buffer.from('20', 'hex')), []); // size 0: emptied
  assert.equal(d.tableSize, 0);
  assert.throws(() => d.decode(Buffer.from('be', 'hex')), HpackError); // index 62 is gone
  assert.deepEqual(d.decode(Buffer.from('3fe11f', 'hex')), []); // 4096: the limit itself
  assert.throws(() => d.decode(Buffer.from('3fe21f', 'hex')), /above the limit/); // 4097
  assert.throws(() => d.decode(Buffer.from('8220', 'hex')), /after a header field/);
});

test('malformed blocks are HpackErrors', () => {
  const bad: [string, RegExp][] = [
    ['80', /index 0/],
    ['ff00', /beyond the tables/], // 127
    ['7f', /truncated integer/],
    ['ffffffffff0f', /integer overflow/],
    ['0003616263', /truncated string/], // literal, new name "abc", no value
    ['000561', /string beyond the block/],
    ['00838cf1e3', /truncated string/], // a Huffman-coded name, then no value
    ['0081ff00', /invalid Huffman padding/], // 0xff: 8 one-bits, a padding longer than 7 bits
    ['008100', /invalid Huffman padding/], // "0" then zero padding
  ];
  for (const [hex, re] of bad) {
    assert.throws(() => new HpackDecoder().decode(Buffer.from(hex, 'hex')), (e: unknown) => e instanceof HpackError && re.test(e.message), hex);
  }
  // EOS (30 one-bits) inside a string
  assert.throws(() => huffmanDecode(Buffer.from('fffffffc', 'hex'), 0, 4), /EOS/);
});

test("our literal blocks decode the same with hpack.js's decompressor and ours, and touch no table", () => {
  const list: [string, string][] = [
    [':status', '200'],
    ['content-type', 'application/grpc+proto'],
    ['grpc-accept-encoding', 'identity,deflate,gzip'],
    ['grpc-status', '5'],
    ['grpc-message', 'not%20found'],
    ['x-long', 'v'.repeat(300)],
    ['x-binary-bin', '\u00ff\u0000\u0080'],
  ];
  const block = encodeHeaders(list);
  const mine = new HpackDecoder();
  assert.deepEqual(mine.decode(block), list.flat());
  assert.equal(mine.tableSize, 0);
  const theirs = hpack.decompressor.create({ table: { maxSize: 4096 } });
  theirs.write(block);
  theirs.execute();
  const got: string[] = [];
  for (let h = theirs.read() as HpackHeader | null; h !== null; h = theirs.read() as HpackHeader | null) got.push(h.name, h.value);
  assert.deepEqual(got, list.flat());
});
