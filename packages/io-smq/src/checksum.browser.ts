/** Browser twin of checksum.ts (no node:zlib): the plain TypeScript CRC-32. */
import { crc32Slicing } from './crc32-table.js';

/** CRC-32 of `data`, continuing from `previous` (the CRC of the bytes before it; 0 to start). */
export const crc32: typeof import('./checksum.js').crc32 = crc32Slicing;
