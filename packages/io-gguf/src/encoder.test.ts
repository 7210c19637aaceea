import { describe, expect, it } from 'vitest';
import { ByteWriter, utf8ByteLength } from './encoder.js';

describe('ByteWriter', () => {
  it('keeps every field intact across buffer growth', () => {
    const w = new ByteWriter(3);
    const expected: number[] = [];
    for (let i = 0; i < 2000; i++) {
      switch (i % 5) {
        case 0:
          w.u8(i & 0xff);
          expected.push(i & 0xff);
          break;
        case 1:
          w.u32(0x01020304 + i);
          expected.push(...new Uint8Array(Uint32Array.of(0x01020304 + i).buffer));
          break;
        case 2:
          w.bytes(Uint8Array.of(9, 8, 7));
          expected.push(9, 8, 7);
          break;
        case 3:
          w.zeros(5);
          expected.push(0, 0, 0, 0, 0);
          break;
        default:
          w.u64(BigInt(i) << 40n);
          expected.push(...new Uint8Array(BigUint64Array.of(BigInt(i) << 40n).buffer));
      }
    }
    expect(Array.from(w.finish())).toEqual(expected);
  });

  it('writes GGUF strings as u64 length + UTF-8 and refuses lone surrogates', () => {
    expect(Array.from(new ByteWriter(1).string('é🍎').finish())).toEqual([6, 0, 0, 0, 0, 0, 0, 0, 0xc3, 0xa9, 0xf0, 0x9f, 0x8d, 0x8e]);
    expect(() => new ByteWriter().string('a\udc00', 'key')).toThrow(expect.objectContaining({ code: 'INVALID_METADATA', subject: 'key' }));
    expect(utf8ByteLength('\ud83c\udf4e')).toBe(4);
    expect(utf8ByteLength('\ud83c')).toBe(-1);
  });
});
