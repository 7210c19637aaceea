/**
 * Real llama.cpp models through SMQ. For every fixture's `NAME.ref.json` (fixtures README §5): our byte-length
 * rule must give llama.cpp's `nbytes` for every tensor (the writer refuses anything else, so a disagreement
 * would block imports); and where the GGUF is present, its tensor bytes (cut out at the absolute offsets
 * the reference lists) and scalar metadata go through writeSmq and SmqReader unchanged (sha256 per tensor).
 * The repo's vendored subset runs by default; all of ../shared/fixtures when it exists.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GgmlType, type GgmlTypeName } from '@smallmind/quantization-tensors';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MetadataValueType as T, ModelMetadata, type MetadataValue } from './metadata.js';
import { SmqReader } from './reader.js';
import { tensorByteLength } from './tensor-rules.js';
import { makeTempDir } from './test-helpers.js';
import { writeSmq } from './writer.js';

const repoFixtures = fileURLToPath(new URL('../../../fixtures/', import.meta.url));
const sharedFixtures = fileURLToPath(new URL('../../../../shared/fixtures/', import.meta.url));

interface RefTensor {
  name: string;
  type: string;
  ne: number[];
  offset: number;
  nbytes: number;
  sha256: string;
}
interface RefJson {
  file: string;
  metadata: Record<string, { type: string; value?: unknown }>;
  tensors: RefTensor[];
}

function refFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return refFiles(path);
    return name.endsWith('.ref.json') ? [path] : [];
  });
}

function typeId(name: string): number {
  const id = (GgmlType as Record<string, number>)[name.toUpperCase() as GgmlTypeName];
  if (id === undefined) throw new Error(`fixture tensor type ${name} is not in the ggml type registry`);
  return id;
}

/** The reference's scalar metadata as typed values (arrays are listed only in part, so they are left out). */
function scalarMetadata(ref: RefJson): ModelMetadata {
  const entries: Array<[string, MetadataValue]> = [];
  for (const [key, { type, value }] of Object.entries(ref.metadata)) {
    if (key.startsWith('GGUF.')) continue; // header facts, not metadata keys
    if (type === 'uint32') entries.push([key, { type: T.UINT32, value: value as number }]);
    else if (type === 'uint64') entries.push([key, { type: T.UINT64, value: BigInt(value as number) }]);
    else if (type === 'float32') entries.push([key, { type: T.FLOAT32, value: Math.fround(value as number) }]);
    else if (type === 'bool') entries.push([key, { type: T.BOOL, value: value as boolean }]);
    else if (type === 'string') entries.push([key, { type: T.STRING, value: value as string }]);
    else if (type !== 'array') throw new Error(`unexpected metadata type ${type} for ${key}`);
  }
  return new ModelMetadata(entries);
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

function fixtureSuite(refs: string[]): void {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => ({ dir, cleanup } = await makeTempDir()));
  afterAll(() => cleanup());

  it.each(refs.map((path) => [path.slice(path.lastIndexOf('/') + 1), path]))('%s', async (_name, refPath) => {
    const ref = JSON.parse(await readFile(refPath, 'utf8')) as RefJson;
    expect(ref.tensors.length).toBeGreaterThan(0);
    for (const t of ref.tensors) expect(tensorByteLength(typeId(t.type), 0, t.ne), t.name).toBe(t.nbytes);

    const ggufPath = join(refPath, '..', ref.file);
    if (!existsSync(ggufPath)) return; // reference only (vendored for its per-tensor hashes)
    const gguf = await open(ggufPath, 'r');
    const tensors = [];
    try {
      for (const t of ref.tensors) {
        const data = new Uint8Array(t.nbytes);
        await gguf.read(data, 0, t.nbytes, t.offset);
        tensors.push({ name: t.name, type: typeId(t.type), shape: t.ne, data });
      }
    } finally {
      await gguf.close();
    }
    const smqPath = join(dir, ref.file.replace(/\.gguf$/, '.smq'));
    const metadata = scalarMetadata(ref);
    await writeSmq(smqPath, { metadata, tensors, provenance: { sourceFileName: ref.file } });
    const reader = await SmqReader.open(smqPath);
    try {
      expect(reader.metadata.entries).toEqual(metadata.entries);
      expect(reader.tensors.map((t) => [t.name, t.shape, t.byteLength])).toEqual(ref.tensors.map((t) => [t.name, t.ne, t.nbytes]));
      for (const t of ref.tensors) expect(sha256(await reader.readTensorData(t.name)), t.name).toBe(t.sha256);
    } finally {
      await reader.close();
    }
  });
}

describe('vendored fixtures (repo fixtures/)', () => {
  const refs = refFiles(repoFixtures);
  it('are present', () => expect(refs.length).toBeGreaterThanOrEqual(12));
  fixtureSuite(refs);
});

describe.skipIf(!existsSync(sharedFixtures))('conformance: every fixture in ../shared/fixtures', () => {
  fixtureSuite(refFiles(sharedFixtures));
});
