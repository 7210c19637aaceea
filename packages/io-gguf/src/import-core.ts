/**
 * The platform-free part of the GGUF -> SMQ import: tensor bytes copied exactly, in bounded chunks (memory
 * stays constant whatever the model size), reading the next chunk while the current one is written, onto any
 * SMQ writer (a file in Node, memory or an OPFS file in a browser). No node:* here; `importer.ts` adds files.
 */
import { SmqWriter, type ByteSource, type SmqProvenance, type SmqWriteTarget, type SmqWriterOptions } from '@smallmind/io-smq';
import type { GgufTensorInfo } from './header-parser.js';
import { openGguf, type GgufFile, type GgufReadTensorsOptions, type GgufTensorTarget, type ReadGgufOptions } from './reader.js';

export interface GgufImportProgress {
  /** Tensor bytes copied so far. */
  readonly bytesDone: number;
  /** Tensor bytes to copy in total. */
  readonly bytesTotal: number;
  /** Tensors completely copied. */
  readonly tensorsDone: number;
  readonly tensorsTotal: number;
  /** The tensor the last chunk belonged to. */
  readonly tensorName: string;
}

export interface GgufImportOptions {
  /** Replace an existing SMQ file at the destination (default false: io-smq's TARGET_EXISTS). */
  readonly overwrite?: boolean;
  /** Aborting stops the import at the next chunk and leaves no file behind; the promise rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /** Called after every chunk. If it throws, the import is abandoned and the error propagates. */
  readonly onProgress?: (progress: GgufImportProgress) => void;
  /** Size of each copy buffer (two are used). Default 16 MiB. */
  readonly chunkBytes?: number;
  /** Extra provenance fields for the SMQ file; source name and size and the importer name are filled in. */
  readonly provenance?: SmqProvenance;
}

export interface GgufImportResult {
  readonly tensors: number;
  /** Tensor bytes copied. */
  readonly bytes: number;
}


const DEFAULT_CHUNK_BYTES = 16 * 1024 * 1024;
const IMPORTER_NAME = '@smallmind/io-gguf';

/** Checks the options every import takes; returns the chunk size. */
export function checkImportOptions(options: GgufImportOptions): number {
  const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  if (!Number.isSafeInteger(chunkBytes) || chunkBytes <= 0) throw new RangeError(`chunkBytes must be a positive integer, got ${chunkBytes}`);
  options.signal?.throwIfAborted();
  return chunkBytes;
}

/** One contiguous piece of one tensor, at most `chunkBytes` long. */
interface CopyPiece {
  readonly tensor: GgufTensorInfo;
  readonly tensorIndex: number;
  readonly position: number;
  readonly length: number;
  /** This piece completes its tensor. */
  readonly last: boolean;
}

function* pieces(tensors: readonly GgufTensorInfo[], chunkBytes: number): Generator<CopyPiece> {
  for (let tensorIndex = 0; tensorIndex < tensors.length; tensorIndex++) {
    const tensor = tensors[tensorIndex]!;
    for (let done = 0; done < tensor.byteLength; done += chunkBytes) {
      const length = Math.min(chunkBytes, tensor.byteLength - done);
      yield { tensor, tensorIndex, position: tensor.offset + done, length, last: done + length === tensor.byteLength };
    }
  }
}

/** A GGUF source ready to be imported onto any SMQ writer target; inspect `gguf` first if useful. Close it when done. */
export class GgufSourceImporter {
  constructor(
    /** The source (header parsed, data not read). */
    readonly gguf: GgufFile,
    /** Where it came from (a path, a URL, a file name); its last segment is recorded as the source file name. */
    readonly sourcePath: string,
  ) {}

  /** Imports from any byte source (a URL, a Blob, bytes in memory); `name` is recorded as the source file name. */
  static async fromSource(source: ByteSource, name: string, options: ReadGgufOptions = {}): Promise<GgufSourceImporter> {
    return new GgufSourceImporter(await openGguf(source, options), name);
  }

  /** Tensor bytes an import copies. */
  get bytesTotal(): number {
    return this.gguf.tensors.reduce((sum, t) => sum + t.byteLength, 0);
  }

  /**
   * Writes the SMQ file onto a target (see io-smq's `SmqWriter.createOn`): `open(fileLength)` is called once
   * the header is planned; the target is committed when the import completed and aborted on any failure
   * (abort signal, a throwing progress callback, a read error).
   */
  async importOnto(open: (fileLength: number) => Promise<SmqWriteTarget>, options: GgufImportOptions = {}): Promise<GgufImportResult> {
    const chunkBytes = checkImportOptions(options);
    return this.copyOnto((declarations) => SmqWriter.createOn(open, declarations), options, chunkBytes);
  }

  /** The SMQ file's declarations: this GGUF's metadata, `tensors` in that order, and the provenance. */
  protected declarations(tensors: readonly GgufTensorInfo[], options: GgufImportOptions): SmqWriterOptions {
    const sourceFileName = this.sourcePath.split(/[\\/]/).pop() ?? this.sourcePath;
    return {
      metadata: this.gguf.metadata,
      tensors: tensors.map((t) => ({ name: t.name, type: t.type, shape: t.shape, byteLength: t.byteLength })),
      provenance: { sourceFileName, sourceFileSize: this.gguf.fileSize, importerName: IMPORTER_NAME, ...options.provenance },
    };
  }

  /**
   * The GGUF as a tensor source (runtime's `SmqModelLoader.loadFromTensors` takes it) that writes the SMQ
   * import onto `open`'s target as the tensors are read: a model's first load imports it in the same pass
   * over its source. See `GgufTeeSource`.
   */
  async teeOnto(open: (fileLength: number) => Promise<SmqWriteTarget>, options: GgufImportOptions = {}): Promise<GgufTeeSource> {
    checkImportOptions(options);
    // Declared in file order: the tensor stream reads (and so writes) them in that order.
    const inFileOrder = [...this.gguf.tensors].sort((a, b) => a.offset - b.offset);
    const writer = await SmqWriter.createOn(open, this.declarations(inFileOrder, options));
    return new GgufTeeSource(this.gguf, writer, options);
  }

  /** Copies every tensor into the writer `create` makes from the SMQ declarations (metadata, tensors, provenance). */
  protected async copyOnto(create: (declarations: SmqWriterOptions) => Promise<SmqWriter>, options: GgufImportOptions, chunkBytes: number): Promise<GgufImportResult> {
    const { signal, onProgress } = options;
    const tensors = this.gguf.tensors;
    const writer = await create(this.declarations(tensors, options));
    let pending: Promise<Uint8Array> | undefined;
    try {
      const bytesTotal = this.bytesTotal;
      let bytesDone = 0;
      const largest = Math.max(0, ...tensors.map((t) => t.byteLength));
      const size = Math.min(chunkBytes, largest);
      const buffers = [new Uint8Array(size), new Uint8Array(size)] as const;
      const read = async (piece: CopyPiece, buffer: Uint8Array): Promise<Uint8Array> => {
        const target = buffer.subarray(0, piece.length);
        await this.gguf.readRange(target, piece.position);
        return target;
      };
      const plan = pieces(tensors, size);
      let current = plan.next();
      pending = current.done ? undefined : read(current.value, buffers[0]);
      for (let i = 0; !current.done; i++) {
        const piece: CopyPiece = current.value;
        const chunk = await pending!;
        signal?.throwIfAborted();
        // Read ahead into the other buffer while this one is written.
        current = plan.next();
        pending = current.done ? undefined : read(current.value, buffers[(i + 1) % 2]!);
        // A rejected read-ahead is awaited (and thrown) on the next turn; keep it from counting as unhandled meanwhile.
        pending?.catch(() => undefined);
        await writer.writeTensorData(piece.tensor.name, chunk);
        bytesDone += chunk.length;
        onProgress?.({ bytesDone, bytesTotal, tensorsDone: piece.tensorIndex + (piece.last ? 1 : 0), tensorsTotal: tensors.length, tensorName: piece.tensor.name });
      }
      signal?.throwIfAborted();
      await writer.finish();
      return { tensors: tensors.length, bytes: bytesDone };
    } catch (error) {
      await pending?.catch(() => undefined); // no read may still be filling a buffer once we return
      await writer.abort();
      throw error;
    }
  }

  async close(): Promise<void> {
    await this.gguf.close();
  }
}

/**
 * A GGUF read as a model's tensor source while its SMQ import is written from the same bytes: every tensor
 * of the file joins the read stream (those the caller did not ask for into buffers of their own, handed out
 * by a later `readTensorData`), and each is written to the SMQ (declared in file order) from where it landed
 * once it is in place. `readTensorsInto` resolves only when those writes are done and the SMQ is committed,
 * so the caller may move or reuse its targets afterwards (an unshared WebAssembly memory that grows detaches
 * them). A failing write does not fail the read: the import is abandoned (its target aborted), `imported`
 * stays false and `cacheError` says why. `close()` before the import completed aborts it.
 */
export class GgufTeeSource {
  /** Why the import was abandoned, if it was. */
  cacheError: unknown;
  private readonly spare = new Map<string, Uint8Array>();
  private settled = false;
  private committed = false;

  constructor(
    private readonly gguf: GgufFile,
    private readonly writer: SmqWriter,
    private readonly options: GgufImportOptions,
  ) {}

  get metadata(): GgufFile['metadata'] {
    return this.gguf.metadata;
  }

  get tensors(): GgufFile['tensors'] {
    return this.gguf.tensors;
  }

  async readTensorsInto(targets: readonly GgufTensorTarget[], options: GgufReadTensorsOptions = {}): Promise<void> {
    const asked = new Set(targets.map((t) => t.name));
    const extra = this.gguf.tensors.filter((t) => !asked.has(t.name)).map((t) => ({ name: t.name, target: new Uint8Array(t.byteLength) }));
    const where = new Map([...targets, ...extra].map((t) => [t.name, t.target]));
    const { signal, onProgress } = this.options;
    const bytesTotal = this.gguf.tensors.reduce((sum, t) => sum + t.byteLength, 0);
    let bytesDone = 0;
    let tensorsDone = 0;
    let writes = Promise.resolve();
    const write = async (name: string): Promise<void> => {
      if (this.cacheError !== undefined) return;
      try {
        const bytes = where.get(name)!;
        await this.writer.writeTensorData(name, bytes);
        bytesDone += bytes.length;
        tensorsDone++;
        onProgress?.({ bytesDone, bytesTotal, tensorsDone, tensorsTotal: this.gguf.tensors.length, tensorName: name });
      } catch (error) {
        await this.abandon(error);
      }
    };
    try {
      await this.gguf.readTensorsInto([...targets, ...extra], {
        onTensor: (name, byteLength) => {
          signal?.throwIfAborted();
          writes = writes.then(() => write(name));
          if (asked.has(name)) options.onTensor?.(name, byteLength);
        },
      });
    } finally {
      // No write may still be reading a target once this returns (either way).
      await writes;
    }
    for (const { name, target } of extra) this.spare.set(name, target);
    // Every tensor written: the SMQ is complete, whatever the caller does with it next.
    if (this.cacheError !== undefined || this.settled) return;
    this.settled = true;
    try {
      await this.writer.finish();
      this.committed = true;
    } catch (error) {
      this.cacheError = error;
      await this.writer.abort().catch(() => undefined);
    }
  }

  async readTensorData(name: string): Promise<Uint8Array> {
    const kept = this.spare.get(name);
    if (kept === undefined) return this.gguf.readTensorData(name);
    this.spare.delete(name);
    return kept;
  }

  /** The import is complete and committed. */
  get imported(): boolean {
    return this.committed;
  }

  /** Closes the GGUF; an import not finished by then is aborted (its temp file removed). */
  async close(): Promise<void> {
    this.spare.clear();
    if (!this.settled) {
      this.settled = true;
      await this.writer.abort().catch(() => undefined);
    }
    await this.gguf.close();
  }

  private async abandon(error: unknown): Promise<void> {
    this.cacheError = error;
    this.settled = true;
    await this.writer.abort().catch(() => undefined);
  }
}
