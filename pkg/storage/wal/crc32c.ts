/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum RocksDB, iSCSI and ext4 use.
 * Pure TypeScript, slicing-by-8: eight 256-entry tables let the loop consume 8 bytes per step.
 */
const POLY = 0x82f63b78;

const TABLES: Uint32Array[] = (() => {
  const t: Uint32Array[] = [];
  for (let k = 0; k < 8; k++) t.push(new Uint32Array(256));
  const t0 = t[0] as Uint32Array;
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let b = 0; b < 8; b++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t0[n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    let c = t0[n] as number;
    for (let k = 1; k < 8; k++) {
      c = ((t0[c & 0xff] as number) ^ (c >>> 8)) >>> 0;
      (t[k] as Uint32Array)[n] = c;
    }
  }
  return t;
})();

const [T0, T1, T2, T3, T4, T5, T6, T7] = TABLES as [
  Uint32Array, Uint32Array, Uint32Array, Uint32Array,
  Uint32Array, Uint32Array, Uint32Array, Uint32Array,
];

/**
 * CRC-32C of `bytes`, continuing from `crc` (the value a previous call returned over the preceding
 * bytes; 0 to start). Returns an unsigned 32-bit integer. Pass a subarray to checksum part of a buffer.
 */
export function crc32c(bytes: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  let i = 0;
  const b = bytes;
  const end = b.length;
  // The `as number` reads are in bounds by the loop conditions.
  for (; i + 8 <= end; i += 8) {
    const lo = (c ^ ((b[i] as number) | ((b[i + 1] as number) << 8) | ((b[i + 2] as number) << 16) | ((b[i + 3] as number) << 24))) >>> 0;
    c =
      (T7[lo & 0xff] as number) ^
      (T6[(lo >>> 8) & 0xff] as number) ^
      (T5[(lo >>> 16) & 0xff] as number) ^
      (T4[lo >>> 24] as number) ^
      (T3[b[i + 4] as number] as number) ^
      (T2[b[i + 5] as number] as number) ^
      (T1[b[i + 6] as number] as number) ^
      (T0[b[i + 7] as number] as number);
  }
  for (; i < end; i++) c = (T0[(c ^ (b[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return ~c >>> 0;
}
