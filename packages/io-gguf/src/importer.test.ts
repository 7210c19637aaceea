import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SmqReader } from '@smallmind/io-smq';
import { afterAll, describe, expect, it } from 'vitest';
import { GgufImporter, importGgufToSmq, readGguf, sweepAbandonedImports } from './index.js';
import type { GgufImportProgress } from './index.js';
import { diffMetadata } from './test-support/metadata-diff.js';
import { REPO_FIXTURES, SHARED_FIXTURES, hasSharedFixtures, listGgufFixtures, materialise, readRef, scratchDir, sha256 } from './test-support/fixtures.js';
import type { GgufFixture } from './test-support/fixtures.js';

const scratch = scratchDir();
afterAll(() => scratch.cleanup());
let counter = 0;
const smqPath = (): string => join(scratch.dir, `${counter++}.smq`);
const q4Fixture = join(REPO_FIXTURES, 'stories260K/stories260K-Q4_0.gguf');

/** Imports and checks the SMQ against the GGUF: metadata, tensor list, every tensor's sha256. */
async function importAndCompare(ggufPath: string, refSha: ReadonlyMap<string, string> | undefined, chunkBytes?: number): Promise<GgufImportProgress[]> {
  const out = smqPath();
  const progress: GgufImportProgress[] = [];
  await importGgufToSmq(ggufPath, out, { onProgress: (p) => progress.push(p), ...(chunkBytes === undefined ? {} : { chunkBytes }) });
  const gguf = await readGguf(ggufPath);
  const smq = await SmqReader.open(out);
  try {
    expect(diffMetadata(smq.metadata, gguf.metadata)).toEqual([]);
    expect(smq.tensors.map((t) => [t.name, t.type, t.shape, t.byteLength])).toEqual(gguf.tensors.map((t) => [t.name, t.type, t.shape, t.byteLength]));
    for (const t of gguf.tensors) {
      const want = sha256(await gguf.readTensorData(t.name));
      expect(sha256(await smq.readTensorData(t.name)), t.name).toBe(want);
      if (refSha !== undefined) expect(want, t.name).toBe(refSha.get(t.name));
    }
    expect(smq.provenance).toMatchObject({ sourceFileSize: gguf.fileSize, importerName: '@smallmind/io-gguf' });
  } finally {
    await smq.close();
    await gguf.close();
  }
  return progress;
}

function importSuite(fixtures: readonly GgufFixture[]): void {
  it('has fixtures', () => expect(fixtures.length).toBeGreaterThan(0));
  for (const fixture of fixtures) {
    it(`${fixture.name}: GGUF -> SMQ keeps every tensor byte and all metadata`, async () => {
      const ref = readRef(fixture);
      await importAndCompare(materialise(fixture, scratch.dir), ref === undefined ? undefined : new Map(ref.tensors.map((t) => [t.name, t.sha256])));
    });
  }
}

describe('importGgufToSmq on the vendored fixtures', () => {
  importSuite(listGgufFixtures(REPO_FIXTURES));
});

describe.skipIf(!hasSharedFixtures)('importGgufToSmq conformance on ../shared/fixtures', () => {
  importSuite(listGgufFixtures(SHARED_FIXTURES));
});

describe('importGgufToSmq behaviour', () => {
  it('streams in small chunks and reports monotonic progress ending at the totals', async () => {
    const progress = await importAndCompare(q4Fixture, undefined, 1000);
    const gguf = await readGguf(q4Fixture);
    const bytesTotal = gguf.tensors.reduce((s, t) => s + t.byteLength, 0);
    await gguf.close();
    expect(progress.length).toBeGreaterThan(gguf.tensors.length);
    for (let i = 1; i < progress.length; i++) {
      expect(progress[i]!.bytesDone).toBeGreaterThan(progress[i - 1]!.bytesDone);
      expect(progress[i]!.bytesDone - progress[i - 1]!.bytesDone).toBeLessThanOrEqual(1000);
      expect(progress[i]!.tensorsDone).toBeGreaterThanOrEqual(progress[i - 1]!.tensorsDone);
    }
    expect(progress.at(-1)).toEqual({ bytesDone: bytesTotal, bytesTotal, tensorsDone: gguf.tensors.length, tensorsTotal: gguf.tensors.length, tensorName: gguf.tensors.at(-1)!.name });
  });

  it('GgufImporter exposes the source before importing', async () => {
    const importer = await GgufImporter.open(q4Fixture);
    try {
      expect(importer.gguf.tensors).toHaveLength(48);
      expect(importer.bytesTotal).toBe(importer.gguf.tensors.reduce((s, t) => s + t.byteLength, 0));
      const out = smqPath();
      expect(await importer.importTo(out, { provenance: { sourceSha256: 'a'.repeat(64) } })).toEqual({ tensors: 48, bytes: importer.bytesTotal });
      const smq = await SmqReader.open(out);
      expect(smq.provenance.sourceSha256).toBe('a'.repeat(64));
      await smq.close();
    } finally {
      await importer.close();
    }
  });

  it('refuses to overwrite unless overwrite: true', async () => {
    const out = smqPath();
    writeFileSync(out, 'keep me');
    await expect(importGgufToSmq(q4Fixture, out)).rejects.toMatchObject({ code: 'TARGET_EXISTS' });
    await importGgufToSmq(q4Fixture, out, { overwrite: true });
    const smq = await SmqReader.open(out);
    expect(smq.tensors).toHaveLength(48);
    await smq.close();
  });

  const leavesNothing = async (out: string): Promise<void> => {
    expect(existsSync(out)).toBe(false);
    await expect(SmqReader.open(out)).rejects.toThrow();
    expect(readdirSync(scratch.dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  };

  it('an AbortSignal mid-import leaves nothing that loads', async () => {
    const out = smqPath();
    const controller = new AbortController();
    const reason = new Error('user cancelled');
    let calls = 0;
    const run = importGgufToSmq(q4Fixture, out, {
      chunkBytes: 4096,
      signal: controller.signal,
      onProgress: () => {
        if (++calls === 3) controller.abort(reason);
      },
    });
    await expect(run).rejects.toBe(reason);
    expect(calls).toBe(3);
    await leavesNothing(out);
  });

  it('an already-aborted signal fails before anything is written', async () => {
    const out = smqPath();
    await expect(importGgufToSmq(q4Fixture, out, { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
    await leavesNothing(out);
  });

  it('a throwing progress callback abandons the import and leaves nothing', async () => {
    const out = smqPath();
    const boom = new Error('progress sink failed');
    await expect(
      importGgufToSmq(q4Fixture, out, {
        chunkBytes: 8192,
        onProgress: (p) => {
          if (p.tensorsDone === 10) throw boom;
        },
      }),
    ).rejects.toBe(boom);
    await leavesNothing(out);
  });

  it('rejects an invalid GGUF with a GgufFormatError', async () => {
    const bad = join(scratch.dir, 'bad.gguf');
    writeFileSync(bad, 'GGUF\x00\x00\x00\x00');
    await expect(importGgufToSmq(bad, smqPath())).rejects.toMatchObject({ name: 'GgufFormatError', code: 'INVALID_VERSION' });
  });
});

describe('abandoned imports', () => {
  /** A pid no process has any more: a child that already exited. */
  const deadPid = (): number => spawnSync(process.execPath, ['-e', '']).pid!;

  it('an import holds a lock naming its pid while it runs, and first sweeps temp files of dead importers of its destination', async () => {
    const dir = join(scratch.dir, `sweep-${counter++}`);
    mkdirSync(dir);
    const out = join(dir, 'model.smq');
    const deadTemp = 'model.smq.0a1b.tmp';
    const deadLock = `model.smq.${deadPid()}-0001.import-lock`;
    const otherTemp = 'other.smq.0c2d.tmp'; // another destination: not this import's business
    for (const name of [deadTemp, deadLock, otherTemp]) writeFileSync(join(dir, name), 'left by a killed import');
    const seen: string[][] = [];
    await importGgufToSmq(q4Fixture, out, { onProgress: () => seen.push(readdirSync(dir).sort()) });
    const during = seen[0]!;
    expect(during).not.toContain(deadTemp);
    expect(during).not.toContain(deadLock);
    expect(during.filter((f) => f.endsWith('.import-lock'))).toEqual([expect.stringMatching(new RegExp(`^model\\.smq\\.${process.pid}-[0-9a-f]+\\.import-lock$`))]);
    expect(readdirSync(dir).sort()).toEqual(['model.smq', otherTemp]);
  });

  it('keeps the temp files of a live importer (two concurrent imports of one model both complete)', async () => {
    const dir = join(scratch.dir, `sweep-${counter++}`);
    mkdirSync(dir);
    const [a, b] = await Promise.all([
      importGgufToSmq(q4Fixture, join(dir, 'same.smq'), { chunkBytes: 4096 }).then(() => 'done', (e: { code?: string }) => e.code),
      importGgufToSmq(q4Fixture, join(dir, 'same.smq'), { chunkBytes: 4096 }).then(() => 'done', (e: { code?: string }) => e.code),
    ]);
    // One publishes; the other either finishes first too or finds the target there: never a vanished temp file.
    expect([a, b].sort()).toEqual(['TARGET_EXISTS', 'done']);
    expect(readdirSync(dir)).toEqual(['same.smq']);
    const live = `x.smq.${process.pid}-0002.import-lock`;
    writeFileSync(join(dir, live), '');
    writeFileSync(join(dir, 'x.smq.0e3f.tmp'), '');
    expect(await sweepAbandonedImports(dir)).toEqual([]);
    expect(await sweepAbandonedImports(dir, { now: Date.now() + 2 * 60 * 60 * 1000 })).toEqual([join(dir, 'x.smq.0e3f.tmp')]);
    expect(await sweepAbandonedImports(join(dir, 'missing'))).toEqual([]);
  });
});
