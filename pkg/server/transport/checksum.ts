/**
 * CRC-32 (IEEE 802.3, the polynomial node:zlib and the snapshot chunks use). node:zlib has crc32
 * from Node 20.15; older Node 20 releases get the table version below, which gives the same values.
 */
import * as zlib from 'node:zlib';

let table: Uint32Array | undefined;

function tableCrc32(data: Uint8Array, value = 0): number {
  if (table === undefined) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let crc = ~value >>> 0;
  for (let i = 0; i < data.length; i++) crc = (table[(crc ^ (data[i] as number)) & 0xff] as number) ^ (crc >>> 8);
  return ~crc >>> 0;
}

const native = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

export function crc32(data: Uint8Array): number {
  return native !== undefined ? native(data) : tableCrc32(data);
}

/** Exported for the test that pins the fallback to node:zlib's values. */
export const crc32Fallback: (data: Uint8Array) => number = (d) => tableCrc32(d);
