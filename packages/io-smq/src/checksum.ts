/**
 * CRC-32 (ISO-HDLC, as zlib/gzip/PNG) via node's native `zlib.crc32` (Node >= 20.15): about 4 GB/s on one
 * core, so checksumming never stands between an import and disk speed. SPEC.md §5 has the measurements.
 */
import * as zlib from 'node:zlib';

const nativeCrc32: ((data: Uint8Array, value?: number) => number) | undefined = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

/** CRC-32 of `data`, continuing from `previous` (the CRC of the bytes before it; 0 to start). */
export function crc32(data: Uint8Array, previous = 0): number {
  if (nativeCrc32 === undefined) throw new Error(`@smallmind/io-smq needs zlib.crc32 (Node >= 20.15); this is Node ${process.version}`);
  return nativeCrc32(data, previous);
}
