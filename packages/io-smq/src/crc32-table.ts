/**
 * CRC-32 (ISO-HDLC, the zlib/gzip/PNG polynomial) in plain TypeScript, slicing by 16 bytes read as four
 * aligned 32-bit words (1.2 GB/s in V8 here, against 0.8 GB/s for slicing by 8 with byte loads): the browser
 * build's checksum (Node's build uses the native `zlib.crc32`). Same results as zlib, checked in
 * web-sources.test.ts.
 */
const TABLES: Int32Array = (() => {
  const tables = new Int32Array(16 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    tables[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    let c = tables[n]!;
    for (let t = 1; t < 16; t++) {
      c = tables[c & 0xff]! ^ (c >>> 8);
      tables[t * 256 + n] = c;
    }
  }
  return tables;
})();

/** Word loads see the bytes in file order only on a little-endian machine (every browser's); else bytes one by one. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** CRC-32 of `data`, continuing from `previous` (the CRC of the bytes before it; 0 to start). */
export function crc32Slicing(data: Uint8Array, previous = 0): number {
  const t = TABLES;
  let crc = ~previous;
  let i = 0;
  const n = data.length;
  if (LITTLE_ENDIAN) {
    // Bytes up to a 4-byte boundary, then 16-byte steps over an Int32Array view of the same memory.
    while (i < n && ((data.byteOffset + i) & 3) !== 0) crc = t[(crc ^ data[i++]!) & 0xff]! ^ (crc >>> 8);
    const steps = (n - i) >>> 4;
    const w = new Int32Array(data.buffer, data.byteOffset + i, steps * 4);
    for (let k = 0; k < w.length; k += 4) {
      const a = crc ^ w[k]!;
      const b = w[k + 1]!;
      const c = w[k + 2]!;
      const d = w[k + 3]!;
      crc =
        t[15 * 256 + (a & 0xff)]! ^ t[14 * 256 + ((a >>> 8) & 0xff)]! ^ t[13 * 256 + ((a >>> 16) & 0xff)]! ^ t[12 * 256 + (a >>> 24)]! ^
        t[11 * 256 + (b & 0xff)]! ^ t[10 * 256 + ((b >>> 8) & 0xff)]! ^ t[9 * 256 + ((b >>> 16) & 0xff)]! ^ t[8 * 256 + (b >>> 24)]! ^
        t[7 * 256 + (c & 0xff)]! ^ t[6 * 256 + ((c >>> 8) & 0xff)]! ^ t[5 * 256 + ((c >>> 16) & 0xff)]! ^ t[4 * 256 + (c >>> 24)]! ^
        t[3 * 256 + (d & 0xff)]! ^ t[2 * 256 + ((d >>> 8) & 0xff)]! ^ t[256 + ((d >>> 16) & 0xff)]! ^ t[d >>> 24]!;
    }
    i += steps * 16;
  }
  for (; i < n; i++) crc = t[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}
