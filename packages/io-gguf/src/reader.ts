/**
 * Opening a GGUF file: the header is read in growing chunks from the start of the file (so memory
 * depends on the header size, never on the tensor data), tensor data is read on demand with
 * positional reads.
 */
import { ByteSourceError, FileByteSource, pipelineReads, readIntoFrom, tensorChunks } from '@smallmind/io-smq';
import type { ByteSource, ModelMetadata } from '@smallmind/io-smq';
import { GgufReadError, GgufReadErrorCode } from './errors.js';
import { GGUF_DEFAULT_MAX_HEADER_BYTES } from './format.js';
import { NeedMoreBytes, parseGgufHeader } from './header-parser.js';
import type { GgufHeader, GgufTensorInfo, GgufVersion } from './header-parser.js';

/** One tensor of a `readTensorsInto` call: its name and where its bytes go (exactly `byteLength` long). */
export interface GgufTensorTarget {
  readonly name: string;
  readonly target: Uint8Array;
}

export interface GgufReadTensorsOptions {
  /** Called once per tensor, in file order, when its bytes are in place. */
  readonly onTensor?: (name: string, byteLength: number) => void;
}

export interface ReadGgufOptions {
  /** Refuse headers longer than this (GgufFormatError HEADER_TOO_LARGE). Default 256 MiB. */
  readonly maxHeaderBytes?: number;
  /** Size of the first read of the header; it grows 4x per retry as needed. Default 256 KiB. */
  readonly initialReadBytes?: number;
}

/**
 * Small enough that opening a model reads little beyond its header, big enough for headers without a
 * large tokenizer. Larger headers grow 4x per retry: the failed passes add at most ~1/3 of the final
 * pass, and memory stays bounded by the header size (never the tensor data).
 */
const DEFAULT_INITIAL_READ_BYTES = 256 * 1024;
const GROWTH_FACTOR = 4;

/**
 * Fills `target` from `position`; a source that cannot (it ends early, or the range is past its end) is a
 * `GgufReadError` SHORT_READ, with the source's `ByteSourceError` as its cause.
 */
async function readExactly(source: ByteSource, target: Uint8Array, position: number): Promise<void> {
  try {
    await readIntoFrom(source, target, position);
  } catch (error) {
    if (!(error instanceof ByteSourceError) || error.code === 'CLOSED') throw error;
    throw new GgufReadError(GgufReadErrorCode.SHORT_READ, undefined, `could not read ${target.length} bytes at ${position}: ${error.message}`, { cause: error });
  }
}

/** An open GGUF file: its parsed header, plus on-demand access to tensor data. */
export class GgufFile implements GgufHeader {
  readonly version: GgufVersion;
  readonly metadata: ModelMetadata;
  readonly alignment: number;
  readonly dataOffset: number;
  readonly headerByteLength: number;
  readonly tensors: readonly GgufTensorInfo[];
  private readonly byName: ReadonlyMap<string, GgufTensorInfo>;
  private closed = false;

  constructor(
    private readonly source: ByteSource,
    header: GgufHeader,
  ) {
    this.version = header.version;
    this.metadata = header.metadata;
    this.alignment = header.alignment;
    this.dataOffset = header.dataOffset;
    this.headerByteLength = header.headerByteLength;
    this.tensors = header.tensors;
    this.byName = new Map(header.tensors.map((t) => [t.name, t]));
  }

  /** Size of the whole file in bytes. */
  get fileSize(): number {
    return this.source.size;
  }

  /** The info of tensor `name`; throws `GgufReadError` (TENSOR_NOT_FOUND) if there is none. */
  tensor(name: string): GgufTensorInfo {
    const info = this.byName.get(name);
    if (info === undefined) throw new GgufReadError(GgufReadErrorCode.TENSOR_NOT_FOUND, name, `no tensor named ${JSON.stringify(name)} in this GGUF file`);
    return info;
  }

  /** The raw bytes of tensor `name`, exactly as stored (quantized blocks stay quantized). */
  async readTensorData(name: string): Promise<Uint8Array> {
    const info = this.tensor(name);
    const bytes = new Uint8Array(info.byteLength);
    await this.readRange(bytes, info.offset);
    return bytes;
  }

  /**
   * Streams tensor `name` in chunks of at most `chunkBytes`. Each yielded chunk is a view of one reused
   * buffer: it is valid until the consumer asks for the next one (constant memory for any tensor size).
   */
  async *readTensorChunks(name: string, chunkBytes: number): AsyncGenerator<Uint8Array, void, void> {
    if (!Number.isInteger(chunkBytes) || chunkBytes <= 0) throw new RangeError(`chunkBytes must be a positive integer, got ${chunkBytes}`);
    const info = this.tensor(name);
    const buffer = new Uint8Array(Math.min(chunkBytes, info.byteLength));
    for (let done = 0; done < info.byteLength; ) {
      const chunk = buffer.subarray(0, Math.min(buffer.length, info.byteLength - done));
      await this.readRange(chunk, info.offset + done);
      done += chunk.length;
      yield chunk;
    }
  }

  /**
   * Reads several tensors straight into their targets (e.g. WebAssembly memory) as one stream in file order:
   * 16 MiB chunks, 4 reads in flight across tensors (range requests on the wire for a URL source), so a
   * model loads from a GGUF in one pass with no intermediate copy. GGUF has no checksums: the bytes are
   * placed as read. Fails on the first tensor that fails; the targets after it may hold partial data then.
   */
  async readTensorsInto(targets: readonly GgufTensorTarget[], options: GgufReadTensorsOptions = {}): Promise<void> {
    const seen = new Set<string>();
    const jobs = targets.map(({ name, target }) => {
      const info = this.tensor(name);
      if (seen.has(name)) throw new GgufReadError(GgufReadErrorCode.DUPLICATE_TARGET, name, `tensor ${JSON.stringify(name)} is asked for twice in one read`);
      seen.add(name);
      if (target.length !== info.byteLength) {
        throw new GgufReadError(GgufReadErrorCode.TARGET_SIZE_MISMATCH, name, `tensor ${JSON.stringify(name)} has ${info.byteLength} bytes, the target holds ${target.length}`);
      }
      return { info, offset: info.offset, target };
    });
    jobs.sort((x, y) => x.offset - y.offset);
    await pipelineReads(
      tensorChunks(jobs),
      (chunk) => (chunk.bytes.length === 0 ? Promise.resolve() : this.readRange(chunk.bytes, chunk.position)),
      (chunk) => {
        if (!chunk.last) return;
        const { info } = jobs[chunk.job]!;
        options.onTensor?.(info.name, info.byteLength);
      },
    );
  }

  /** Reads `target.length` bytes at absolute file offset `position`. */
  async readRange(target: Uint8Array, position: number): Promise<void> {
    if (this.closed) throw new GgufReadError(GgufReadErrorCode.CLOSED, undefined, 'the GGUF file is closed');
    await readExactly(this.source, target, position);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.source.close();
  }
}

/** Parses the header of `source`, reading only as much of it as the header needs. */
export async function readGgufHeader(source: ByteSource, options: ReadGgufOptions = {}): Promise<GgufHeader> {
  const maxHeaderBytes = options.maxHeaderBytes ?? GGUF_DEFAULT_MAX_HEADER_BYTES;
  let buffer = new Uint8Array(Math.min(source.size, options.initialReadBytes ?? DEFAULT_INITIAL_READ_BYTES));
  await readExactly(source, buffer, 0);
  for (;;) {
    try {
      return parseGgufHeader(buffer, { fileSize: source.size, maxHeaderBytes });
    } catch (error) {
      if (!(error instanceof NeedMoreBytes)) throw error;
      // The parser has checked bytesNeeded against the file size and the header limit.
      const length = Math.max(error.bytesNeeded, Math.min(buffer.length * GROWTH_FACTOR, source.size, maxHeaderBytes));
      const grown = new Uint8Array(length);
      grown.set(buffer);
      await readExactly(source, grown.subarray(buffer.length), buffer.length);
      buffer = grown;
    }
  }
}

/** Opens a GGUF from any byte source; the source is closed if the header is invalid. */
export async function openGguf(source: ByteSource, options: ReadGgufOptions = {}): Promise<GgufFile> {
  try {
    return new GgufFile(source, await readGgufHeader(source, options));
  } catch (error) {
    await source.close();
    throw error;
  }
}

/** Opens the GGUF file at `path`: parses header, metadata and tensor infos; tensor data is read on demand. */
export async function readGguf(path: string, options: ReadGgufOptions = {}): Promise<GgufFile> {
  return openGguf(await FileByteSource.open(path), options);
}
