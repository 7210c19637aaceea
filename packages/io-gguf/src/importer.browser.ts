/**
 * Browser twin of importer.ts: no file paths, no lock files. `GgufImporter.fromSource(...).importOnto(target)`
 * is the browser's import; the path-based calls reject with a typed UNSUPPORTED error.
 */
import { ByteSourceError, SmqWriteError, type ByteSource } from '@smallmind/io-smq';
import { GgufSourceImporter, type GgufImportOptions, type GgufImportResult } from './import-core.js';
import { openGguf, type ReadGgufOptions } from './reader.js';

export type { GgufImportOptions, GgufImportProgress, GgufImportResult } from './import-core.js';

export interface SweepOptions {
  readonly destination?: string;
  readonly now?: number;
}

const noPaths = (path: string): ByteSourceError =>
  new ByteSourceError('UNSUPPORTED', `cannot open the file path ${JSON.stringify(path)} in a browser; use GgufImporter.fromSource with a BlobByteSource or UrlByteSource`, { offset: 0, length: 0 });

/** Nothing to sweep without a file system of paths. */
export function sweepAbandonedImports(_dir: string, _options: SweepOptions = {}): Promise<string[]> {
  return Promise.resolve([]);
}

export class GgufImporter extends GgufSourceImporter {
  static open(sourcePath: string, _options: ReadGgufOptions = {}): Promise<GgufImporter> {
    return Promise.reject(noPaths(sourcePath));
  }

  static override async fromSource(source: ByteSource, name: string, options: ReadGgufOptions = {}): Promise<GgufImporter> {
    return new GgufImporter(await openGguf(source, options), name);
  }

  importTo(destination: string, _options: GgufImportOptions = {}): Promise<GgufImportResult> {
    return Promise.reject(new SmqWriteError('UNSUPPORTED', `cannot write the file path ${JSON.stringify(destination)} in a browser; use importOnto with an SmqWriteTarget`, destination));
  }
}

export function importGgufToSmq(source: string, _destination: string, _options: GgufImportOptions = {}): Promise<GgufImportResult> {
  return Promise.reject(noPaths(source));
}
