/**
 * GgufWriter: writes a GGUF v3 file from metadata and a tensor list, with tensor data streamed in
 * chunks. The layout is llama.cpp's: metadata in map order, tensor infos in list order, each tensor at
 * the running offset padded to the alignment, zero padding after every tensor (the last one included).
 * The file is written to a temporary path and appears under its name only when `finish()` succeeds.
 */
import { AtomicFile, MetadataValueType } from '@smallmind/io-smq';
import type { AtomicFileErrors, ModelMetadata } from '@smallmind/io-smq';
import { temporaryPathFor } from './temp-path.js';
import { UnknownGgmlTypeError, ggmlTypeInfo } from '@smallmind/quantization-tensors';
import type { GgmlTypeId } from '@smallmind/quantization-tensors';
import { encodeGgufHeader } from './encoder.js';
import { GgufWriteError, GgufWriteErrorCode } from './errors.js';
import { GGUF_ALIGNMENT_KEY, GGUF_DEFAULT_ALIGNMENT, GGUF_MAX_DIMS, GGUF_MAX_TENSOR_NAME_BYTES, alignUp, isPowerOfTwo } from './format.js';
import type { GgufTensorInfo } from './header-parser.js';

/** A tensor to write: its data size follows from type and shape. */
export interface GgufTensorSpec {
  readonly name: string;
  readonly type: GgmlTypeId;
  /** ggml `ne` order: shape[0] is the row length. */
  readonly shape: readonly number[];
}

/** Where everything goes in the file `GgufWriter` will write. */
export interface GgufLayout {
  readonly alignment: number;
  /** The encoded header, padded to the alignment when there are tensors. */
  readonly header: Uint8Array;
  readonly dataOffset: number;
  /** Tensor infos with absolute offsets, in list order. */
  readonly tensors: readonly GgufTensorInfo[];
  readonly fileSize: number;
}

function invalidTensor(name: string, detail: string): never {
  throw new GgufWriteError(GgufWriteErrorCode.INVALID_TENSOR, name, detail);
}

function tensorByteLength(spec: GgufTensorSpec): number {
  const { name, shape } = spec;
  let info;
  try {
    info = ggmlTypeInfo(spec.type);
  } catch (error) {
    if (error instanceof UnknownGgmlTypeError) throw new GgufWriteError(GgufWriteErrorCode.INVALID_TENSOR, name, `unknown ggml type id ${spec.type}`, { cause: error });
    throw error;
  }
  if (shape.length > GGUF_MAX_DIMS) invalidTensor(name, `${shape.length} dimensions (at most ${GGUF_MAX_DIMS})`);
  let elements = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d <= 0) invalidTensor(name, `dimension ${d} is not a positive integer`);
    elements *= d;
    if (!Number.isSafeInteger(elements)) invalidTensor(name, 'more than 2^53 elements');
  }
  if ((shape[0] ?? 1) % info.blockSize !== 0) invalidTensor(name, `row length ${shape[0]} is not a multiple of ${info.name}'s block size ${info.blockSize}`);
  const byteLength = (elements / info.blockSize) * info.typeSize;
  if (!Number.isSafeInteger(byteLength)) invalidTensor(name, 'more than 2^53 bytes');
  return byteLength;
}

function alignmentOf(metadata: ModelMetadata): number {
  const entry = metadata.get(GGUF_ALIGNMENT_KEY);
  if (entry === undefined) return GGUF_DEFAULT_ALIGNMENT;
  if (entry.type !== MetadataValueType.UINT32 || !isPowerOfTwo(entry.value)) {
    throw new GgufWriteError(GgufWriteErrorCode.INVALID_METADATA, GGUF_ALIGNMENT_KEY, 'must be a UINT32 power of two');
  }
  return entry.value;
}

/** Validates the tensor list and computes the file layout (header bytes, offsets, size). */
export function planGgufLayout(metadata: ModelMetadata, specs: readonly GgufTensorSpec[]): GgufLayout {
  const alignment = alignmentOf(metadata);
  const seen = new Set<string>();
  let relativeOffset = 0;
  const placed = specs.map((spec) => {
    if (seen.has(spec.name)) throw new GgufWriteError(GgufWriteErrorCode.DUPLICATE_TENSOR_NAME, spec.name, 'tensor name appears twice');
    seen.add(spec.name);
    if (new TextEncoder().encode(spec.name).length > GGUF_MAX_TENSOR_NAME_BYTES) invalidTensor(spec.name, `name longer than ${GGUF_MAX_TENSOR_NAME_BYTES} bytes`);
    const byteLength = tensorByteLength(spec);
    const t = { name: spec.name, type: spec.type, shape: [...spec.shape], relativeOffset, byteLength };
    relativeOffset = alignUp(relativeOffset + byteLength, alignment);
    return t;
  });
  const header = encodeGgufHeader(metadata, placed, alignment);
  const dataOffset = alignUp(header.length, alignment);
  const tensors = placed.map((t): GgufTensorInfo => ({ name: t.name, type: t.type, shape: t.shape, offset: dataOffset + t.relativeOffset, byteLength: t.byteLength }));
  return { alignment, header, dataOffset, tensors, fileSize: placed.length === 0 ? header.length : dataOffset + relativeOffset };
}

/** How the GGUF writer reports a refused destination or a second commit. */
const GGUF_ATOMIC_FILE_ERRORS: AtomicFileErrors = {
  destinationExists: (path, appeared, cause) =>
    appeared
      ? new GgufWriteError(GgufWriteErrorCode.DESTINATION_EXISTS, path, `${path} appeared while it was being written`, { cause })
      : new GgufWriteError(GgufWriteErrorCode.DESTINATION_EXISTS, path, `${path} already exists (pass overwrite: true to replace it)`),
  notOpen: (path, state) => new GgufWriteError(GgufWriteErrorCode.NOT_WRITABLE, path, `cannot commit: the file was already ${state}`),
};


export interface GgufWriterOptions {
  readonly metadata: ModelMetadata;
  readonly tensors: readonly GgufTensorSpec[];
  /** Replace an existing file at the destination. Default false (DESTINATION_EXISTS). */
  readonly overwrite?: boolean;
}

/**
 * Streams a GGUF file to disk. Call `writeTensorData(name, chunk)` any number of times per tensor (its
 * chunks in order; tensors in any order), then `finish()`; on any failure call `abort()`.
 */
export class GgufWriter {
  private readonly byName: ReadonlyMap<string, GgufTensorInfo>;
  private readonly written = new Map<string, number>();

  private constructor(
    private readonly file: AtomicFile,
    readonly layout: GgufLayout,
  ) {
    this.byName = new Map(layout.tensors.map((t) => [t.name, t]));
  }

  static async create(path: string, options: GgufWriterOptions): Promise<GgufWriter> {
    const layout = planGgufLayout(options.metadata, options.tensors);
    const file = await AtomicFile.create(path, { overwrite: options.overwrite ?? false, tempPath: temporaryPathFor(path), errors: GGUF_ATOMIC_FILE_ERRORS });
    try {
      await file.handle.write(layout.header, 0, layout.header.length, 0);
      return new GgufWriter(file, layout);
    } catch (error) {
      await file.abort();
      throw error;
    }
  }

  get tensors(): readonly GgufTensorInfo[] {
    return this.layout.tensors;
  }

  private writable(): void {
    if (!this.file.isOpen) throw new GgufWriteError(GgufWriteErrorCode.NOT_WRITABLE, this.file.path, 'the writer is already finished or aborted');
  }

  /** Appends `chunk` to tensor `name`'s data. The chunk may be reused once the promise resolves. */
  async writeTensorData(name: string, chunk: Uint8Array): Promise<void> {
    this.writable();
    const info = this.byName.get(name);
    if (info === undefined) throw new GgufWriteError(GgufWriteErrorCode.UNKNOWN_TENSOR, name, 'no such tensor in this writer');
    const done = this.written.get(name) ?? 0;
    if (done + chunk.length > info.byteLength) {
      throw new GgufWriteError(GgufWriteErrorCode.TOO_MUCH_DATA, name, `${done + chunk.length} bytes written, the tensor has ${info.byteLength}`);
    }
    // Claim the range before awaiting so concurrent calls for one tensor land in call order.
    this.written.set(name, done + chunk.length);
    let offset = 0;
    while (offset < chunk.length) {
      const { bytesWritten } = await this.file.handle.write(chunk, offset, chunk.length - offset, info.offset + done + offset);
      offset += bytesWritten;
    }
  }

  /** Checks every tensor is complete, pads the file, fsyncs and moves it into place. */
  async finish(): Promise<void> {
    this.writable();
    try {
      for (const t of this.layout.tensors) {
        const done = this.written.get(t.name) ?? 0;
        if (done !== t.byteLength) throw new GgufWriteError(GgufWriteErrorCode.INCOMPLETE_TENSOR, t.name, `${done} of ${t.byteLength} bytes written`);
      }
      // Padding between tensors and after the last one is zeros: extending the file provides them.
      await this.file.handle.truncate(this.layout.fileSize);
      await this.file.commit();
    } catch (error) {
      await this.file.abort();
      throw error;
    }
  }

  /** Discards everything written; nothing appears at the destination. */
  async abort(): Promise<void> {
    await this.file.abort();
  }
}

/** A tensor with all its data in memory, for `writeGguf`. */
export interface GgufTensorWithData extends GgufTensorSpec {
  readonly data: Uint8Array;
}

/** Writes a complete GGUF file in one call (small files, tests). */
export async function writeGguf(path: string, options: { metadata: ModelMetadata; tensors: readonly GgufTensorWithData[]; overwrite?: boolean }): Promise<void> {
  const writer = await GgufWriter.create(path, options);
  try {
    for (const t of options.tensors) await writer.writeTensorData(t.name, t.data);
  } catch (error) {
    await writer.abort();
    throw error;
  }
  await writer.finish();
}
