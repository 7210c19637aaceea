/**
 * Test support (not exported by the package): locating fixtures, reading their NAME.ref.json, and
 * materialising the gzipped vocab GGUFs as temporary files.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

/** The repository's vendored fixture subset (always present). */
export const REPO_FIXTURES = fileURLToPath(new URL('../../../../fixtures/', import.meta.url));
/** The full workplace fixture set next to the repository (optional). */
export const SHARED_FIXTURES = fileURLToPath(new URL('../../../../../shared/fixtures/', import.meta.url));
export const hasSharedFixtures = existsSync(join(SHARED_FIXTURES, 'README.md'));

export interface RefScalar {
  readonly type: string;
  readonly value: number | string | boolean;
}
export interface RefArray {
  readonly type: 'array';
  readonly elem_type: string;
  readonly length: number;
  readonly first: ReadonlyArray<number | string | boolean>;
}
export interface RefTensor {
  readonly name: string;
  readonly type: string;
  readonly ne: readonly number[];
  readonly offset: number;
  readonly nbytes: number;
  readonly sha256: string;
}
export interface RefJson {
  readonly file: string;
  readonly size_bytes: number;
  readonly sha256: string;
  readonly metadata: Readonly<Record<string, RefScalar | RefArray>>;
  readonly tensors: readonly RefTensor[];
}

export interface GgufFixture {
  /** Path relative to the fixture root, e.g. `stories260K/stories260K-Q4_0.gguf` or `vocab/x.gguf.gz`. */
  readonly name: string;
  /** Absolute path of the (possibly gzipped) file. */
  readonly path: string;
  readonly gzipped: boolean;
  /** NAME.ref.json next to it, when there is one. */
  readonly refPath: string | undefined;
}

function walk(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path, out);
    else out.push(path);
  }
  return out;
}

/** Every GGUF (plain or `.gguf.gz`) under `root`, sorted by name. */
export function listGgufFixtures(root: string): GgufFixture[] {
  if (!existsSync(root)) return [];
  return walk(root)
    .filter((p) => p.endsWith('.gguf') || p.endsWith('.gguf.gz'))
    .sort()
    .map((path) => {
      const gzipped = path.endsWith('.gz');
      const refPath = path.replace(/\.gguf(\.gz)?$/, '.ref.json');
      return { name: path.slice(root.length).replace(/^\/+/, ''), path, gzipped, refPath: existsSync(refPath) ? refPath : undefined };
    });
}

export function readRef(fixture: GgufFixture): RefJson | undefined {
  return fixture.refPath === undefined ? undefined : (JSON.parse(readFileSync(fixture.refPath, 'utf8')) as RefJson);
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** A scratch directory removed by `cleanup()`. */
export function scratchDir(prefix = 'smallmind-io-gguf-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A plain GGUF path for `fixture`: gunzipped into `scratch` when needed. */
export function materialise(fixture: GgufFixture, scratch: string): string {
  if (!fixture.gzipped) return fixture.path;
  const out = join(scratch, fixture.name.replace(/[\\/]/g, '__').replace(/\.gz$/, ''));
  if (!existsSync(out)) writeFileSync(out, gunzipSync(readFileSync(fixture.path)));
  return out;
}
