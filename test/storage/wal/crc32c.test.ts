import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { crc32c } from '../../../pkg/storage/wal/index.js';

describe('crc32c', () => {
  it('matches the RFC 3720 (iSCSI) test vectors', () => {
    assert.equal(crc32c(new TextEncoder().encode('123456789')), 0xe3069283);
    assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
    assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
    assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
    assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c);
  });

  it('is the same computed in pieces, over subarrays and copies, and at every length around the 8-byte stride', () => {
    const data = Uint8Array.from({ length: 100 }, (_, i) => (i * 37 + 11) & 0xff);
    for (let n = 0; n <= 20; n++) {
      const whole = crc32c(data.subarray(0, n));
      assert.equal(crc32c(data.slice(0, n)), whole);
      const cut = n >> 1;
      assert.equal(crc32c(data.subarray(cut, n), crc32c(data.subarray(0, cut))), whole, `length ${n}`);
    }
  });

  it('detects a single flipped bit', () => {
    const data = new Uint8Array(64).fill(7);
    const before = crc32c(data);
    data[40] = (data[40] ?? 0) ^ 0x10;
    assert.notEqual(crc32c(data), before);
  });
});
