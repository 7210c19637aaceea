/**
 * The platform-free part of the GGUF -> SMQ import: tensor bytes copied exactly, in bounded chunks (memory
 * stays constant whatever the model size), reading the next chunk while the current one is written, onto any
 * SMQ writer (a file in Node, memory or an OPFS file in a browser). No node:* here; `importer.ts` adds files.
 */
import { SmqWriter, type ByteSource, type SmqProvenance, type SmqWriteTarget, type SmqWriterOptions } from '@smallmind/io-smq';
import type { GgufTensorInfo } from './header-parser.js';
import { openGguf, type GgufFile, type ReadGgufOptions } from './reader.js';

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

  /** Copies every tensor into the writer `create` makes from the SMQ declarations (metadata, tensors, provenance). */
  protected async copyOnto(create: (declarations: SmqWriterOptions) => Promise<SmqWriter>, options: GgufImportOptions, chunkBytes: number): Promise<GgufImportResult> {
    const { signal, onProgress } = options;
    const tensors = this.gguf.tensors;
    const sourceFileName = this.sourcePath.split(/[\\/]/).pop() ?? this.sourcePath;
    const writer = await create({
      metadata: this.gguf.metadata,
      tensors: tensors.map((t) => ({ name: t.name, type: t.type, shape: t.shape, byteLength: t.byteLength })),
      provenance: { sourceFileName, sourceFileSize: this.gguf.fileSize, importerName: IMPORTER_NAME, ...options.provenance },
    });
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
