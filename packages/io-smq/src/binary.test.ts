import { describe, expect, it } from 'vitest';
import { ByteCursor, ByteWriter } from './binary.js';
import { SmqFormatError } from './errors.js';

describe('ByteWriter', () => {
  it('keeps every value intact across many growths of its buffer', () => {
    const w = new ByteWriter();
    const n = 20_000; // 20,000 * 27 bytes: grows from 4 KiB through several doublings, mid-value included
    for (let i = 0; i < n; i++) {
      w.u8(i & 0xff);
      w.i16(-i % 32768);
      w.u32(i * 7919);
      w.f64(i / 3);
      w.u64(BigInt(i) * 1_000_000_007n);
      w.bytes(Uint8Array.of(1, 2, 3));
      w.zeros(1);
    }
    const bytes = w.toBytes();
    expect(bytes.length).toBe(n * 27);
    const c = new ByteCursor(bytes, 0, bytes.length);
    for (let i = 0; i < n; i++) {
      expect(c.u8('u8')).toBe(i & 0xff);
      expect(c.i16('i16')).toBe(-i % 32768 || 0);
      expect(c.u32('u32')).toBe(i * 7919);
      expect(c.f64('f64')).toBe(i / 3);
      expect(c.u64('u64')).toBe(BigInt(i) * 1_000_000_007n);
      expect([...c.bytesView(3, 'bytes'), c.u8('zero')]).toEqual([1, 2, 3, 0]);
    }
    expect(c.remaining).toBe(0);
  });

  it('chains, grows from any initial capacity, and hands out claimed bytes in place', () => {
    const w = new ByteWriter(0).u32(0x0a0b0c0d).u64(3);
    w.claim(3).set([7, 8, 9]);
    expect(w.length).toBe(15);
    expect([...w.toBytes()]).toEqual([0x0d, 0x0c, 0x0b, 0x0a, 3, 0, 0, 0, 0, 0, 0, 0, 7, 8, 9]);
  });
});

describe('ByteCursor', () => {
  it('refuses to read past its end with an offset-bearing format error', () => {
    const c = new ByteCursor(new Uint8Array(100), 90, 96);
    c.u32('a');
    expect(() => c.u32('b')).toThrow(SmqFormatError);
    expect(() => c.u32('b')).toThrow(/HEADER_LENGTH_MISMATCH at byte 94 \(b\)/);
  });
  it('refuses u64 numbers beyond 2^53', () => {
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setBigUint64(0, 2n ** 53n, true);
    expect(() => new ByteCursor(bytes, 0, 8).u64Number('n')).toThrow(/NUMBER_TOO_LARGE/);
  });
});
