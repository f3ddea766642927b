import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as der from '../../pkg/tls/der.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

test('OIDs encode first two arcs together and later arcs base-128', () => {
  assert.equal(hex(der.oid('1.2.840.10045.4.3.2')), '06082a8648ce3d040302'); // ecdsa-with-SHA256
  assert.equal(hex(der.oid('2.5.29.17')), '0603551d11'); // subjectAltName
  assert.equal(hex(der.oid('1.3.6.1.5.5.7.3.1')), '06082b06010505070301'); // serverAuth
  assert.throws(() => der.oid('1'), /bad OID/);
  assert.throws(() => der.oid('3.1'), /bad OID/);
  assert.throws(() => der.oid('1.2.x'), /bad OID/);
});

test('lengths switch to the long form at 128 bytes', () => {
  assert.equal(hex(der.octetString(Buffer.alloc(127)).subarray(0, 2)), '047f');
  assert.equal(hex(der.octetString(Buffer.alloc(128)).subarray(0, 3)), '048180');
  assert.equal(hex(der.octetString(Buffer.alloc(256)).subarray(0, 4)), '04820100');
  assert.equal(der.octetString(Buffer.alloc(70_000)).length, 70_000 + 5);
});

test('integers are minimal and positive', () => {
  assert.equal(hex(der.smallInteger(0)), '020100');
  assert.equal(hex(der.smallInteger(2)), '020102');
  assert.equal(hex(der.smallInteger(127)), '02017f');
  assert.equal(hex(der.smallInteger(128)), '02020080'); // sign byte
  assert.equal(hex(der.smallInteger(256)), '02020100');
  assert.equal(hex(der.unsignedInteger(Buffer.from([0, 0, 0x01]))), '020101'); // leading zeros trimmed
  assert.equal(hex(der.unsignedInteger(Buffer.from([0xff]))), '020200ff');
  assert.throws(() => der.smallInteger(-1), RangeError);
});

test('times: UTCTime before 2050, GeneralizedTime from 2050', () => {
  assert.equal(der.time(new Date(Date.UTC(2026, 10, 26, 22, 1, 2))).toString('latin1').slice(2), '261126220102Z');
  assert.equal(der.time(new Date(Date.UTC(2026, 0, 1))).at(0), 0x17);
  const g = der.time(new Date(Date.UTC(2050, 0, 1, 0, 0, 0)));
  assert.equal(g.at(0), 0x18);
  assert.equal(g.toString('latin1').slice(2), '20500101000000Z');
});

test('booleans, bit strings, context tags', () => {
  assert.equal(hex(der.boolean(true)), '0101ff');
  assert.equal(hex(der.boolean(false)), '010100');
  assert.equal(hex(der.bitString(Buffer.from([0xa0]), 5)), '030205a0');
  assert.equal(hex(der.explicit(0, der.smallInteger(2))), 'a003020102');
  assert.equal(hex(der.implicitPrimitive(7, Buffer.from([127, 0, 0, 1]))), '87047f000001');
  assert.equal(hex(der.sequence()), '3000');
  assert.equal(hex(der.set(der.boolean(true))), '31030101ff');
});
