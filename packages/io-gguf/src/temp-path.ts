import { basename, dirname, join } from 'node:path';
import { randomHex } from '@smallmind/io-smq';

/** A hidden temporary name next to the destination (same filesystem, so the final rename is atomic). */
export function temporaryPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomHex(6)}.tmp`);
}
