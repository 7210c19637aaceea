import { randomHex } from '@smallmind/io-smq';

/** Browser twin of temp-path.ts (no node:path, no pid); only used to name the file in errors there. */
export function temporaryPathFor(path: string): string {
  const slash = path.lastIndexOf('/');
  return `${path.slice(0, slash + 1)}.${path.slice(slash + 1)}.${randomHex(6)}.tmp`;
}
