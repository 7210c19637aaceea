/**
 * Lazy SMQ reader: `open` reads and verifies only the header; tensor data is fetched on demand with
 * positional reads and verified against its CRC-32 as it arrives.
 */
import { MemoryByteSource, readIntoFrom, type ByteSource } from './byte-source.js';
import { MAX_BUFFER_BYTES } from './buffer-limit.js';
import { crc32 } from './checksum.js';
import { SMQ_PREFIX_BYTES, align64 } from './constants.js';
import { ByteSourceError, SmqFormatError, SmqFormatErrorCode, SmqReadError } from './errors.js';
import { FileByteSource } from './file-byte-source.js';
import { checkZero, parseHeader, parsePrefix, type SmqTensorInfo } from './header.js';
import type { ModelMetadata } from './metadata.js';
import type { SmqProvenance } from './provenance.js';
import { pipelineReads, tensorChunks } from './read-pipeline.js';

export interface SmqReaderOptions {
  /**
   * Verify each tensor's CRC-32 when it is read (default true). The header's checksums and all structural
   * rules are verified at open regardless; padding is always checked to be zero.
   */
  readonly verifyChecksums?: boolean;
}

/** One tensor of a `readTensorsInto` call: its name and where its bytes go (exactly `byteLength` long). */
export interface TensorReadTarget {
  readonly name: string;
  readonly target: Uint8Array;
}

export interface ReadTensorsOptions {
  /** Called once per tensor, in file order, when its bytes are in place and verified. */
  readonly onTensor?: (name: string, byteLength: number) => void;
}

/**
 * Fills `target` from `position`. The source ending early (a file truncated since open) is the file's
 * fault, so it becomes a TRUNCATED format error naming the byte where the data ran out.
 */
async function readFully(source: ByteSource, target: Uint8Array, position: number, field: string, tensor?: string): Promise<void> {
  try {
    await readIntoFrom(source, target, position);
  } catch (error) {
    if (!(error instanceof ByteSourceError) || error.code === 'CLOSED') throw error;
    const offset = error.code === 'SHORT_READ' ? error.offset : Math.min(position, source.size);
    const where = tensor === undefined ? { offset, field } : { offset, field, tensor };
    throw new SmqFormatError(SmqFormatErrorCode.TRUNCATED, `file ends at byte ${offset}, ${position + target.length - offset} more bytes expected`, where);
  }
}

export class SmqReader {
  private readonly byName: ReadonlyMap<string, SmqTensorInfo>;
  private closed = false;

  private constructor(
    private readonly source: ByteSource,
    private readonly verifyChecksums: boolean,
    /** Format version of the file. */
    readonly version: number,
    readonly metadata: ModelMetadata,
    readonly provenance: SmqProvenance,
    /** Tensors in file order. */
    readonly tensors: readonly SmqTensorInfo[],
    readonly fileLength: number,
  ) {
    this.byName = new Map(tensors.map((t) => [t.name, t]));
  }

  /** Opens an SMQ file; throws `SmqFormatError` if its header is damaged or breaks a rule of SPEC.md. */
  static async open(path: string, options: SmqReaderOptions = {}): Promise<SmqReader> {
    const source = await FileByteSource.open(path);
    try {
      return await SmqReader.fromSource(source, options);
    } catch (e) {
      await source.close();
      throw e;
    }
  }

  /** Reads an SMQ file held in memory (e.g. fetched in a browser). */
  static fromBytes(bytes: Uint8Array | ArrayBuffer, options: SmqReaderOptions = {}): Promise<SmqReader> {
    return SmqReader.fromSource(new MemoryByteSource(bytes), options);
  }

  /** Reads from any random-access source; the reader closes it on `close()` (not when opening fails). */
  static async fromSource(source: ByteSource, options: SmqReaderOptions = {}): Promise<SmqReader> {
    const prefixBytes = new Uint8Array(Math.min(SMQ_PREFIX_BYTES, source.size));
    await readFully(source, prefixBytes, 0, 'prefix');
    const prefix = parsePrefix(prefixBytes, source.size);
    // parsePrefix bounded dataOffset by the file size and SMQ_MAX_HEADER_BYTES, so this allocation is safe.
    const headerBytes = new Uint8Array(prefix.dataOffset);
    await readFully(source, headerBytes, 0, 'header');
    const header = parseHeader(headerBytes, prefix);
    return new SmqReader(source, options.verifyChecksums ?? true, prefix.version, header.metadata, header.provenance, header.tensors, prefix.fileLength);
  }

  /** The tensor called `name`, or undefined. */
  tensor(name: string): SmqTensorInfo | undefined {
    return this.byName.get(name);
  }

  private need(name: string): SmqTensorInfo {
    if (this.closed) throw new SmqReadError('READER_CLOSED', `cannot read tensor ${JSON.stringify(name)}: the reader is closed`);
    const info = this.byName.get(name);
    if (info === undefined) throw new SmqReadError('TENSOR_NOT_FOUND', `no tensor named ${JSON.stringify(name)} in this file`);
    return info;
  }

  /** The raw bytes of tensor `name`, verified (see `SmqReaderOptions`). */
  async readTensorData(name: string): Promise<Uint8Array> {
    const info = this.need(name);
    if (info.byteLength > MAX_BUFFER_BYTES) {
      throw new SmqReadError('TENSOR_TOO_LARGE', `tensor ${JSON.stringify(name)} has ${info.byteLength} bytes, more than one buffer can hold (${MAX_BUFFER_BYTES})`);
    }
    const data = new Uint8Array(info.byteLength);
    await this.stream([{ info, target: data }]);
    return data;
  }

  /**
   * Reads tensor `name` into `target` (exactly `byteLength` bytes long), e.g. straight into WebAssembly
   * memory, verified like `readTensorData`. On a verification error `target` holds the unverified bytes.
   */
  async readTensorDataInto(name: string, target: Uint8Array): Promise<void> {
    await this.readTensorsInto([{ name, target }]);
  }

  /**
   * Reads several tensors into their targets as one stream in file order (the way to load a model: the
   * reads of the next tensors overlap the checksum of the current one), each verified like
   * `readTensorData`. Fails on the first tensor in file order that fails; the targets after it may hold
   * partial data then.
   */
  async readTensorsInto(targets: readonly TensorReadTarget[], options: ReadTensorsOptions = {}): Promise<void> {
    const seen = new Set<string>();
    const jobs = targets.map(({ name, target }) => {
      const info = this.need(name);
      if (seen.has(name)) throw new SmqReadError('DUPLICATE_TARGET', `tensor ${JSON.stringify(name)} is asked for twice in one read`);
      seen.add(name);
      if (target.length !== info.byteLength) {
        throw new SmqReadError('TARGET_SIZE_MISMATCH', `tensor ${JSON.stringify(name)} has ${info.byteLength} bytes, the target holds ${target.length}`);
      }
      return { info, target };
    });
    jobs.sort((x, y) => x.info.offset - y.info.offset);
    await this.stream(jobs, options.onTensor);
  }

  /**
   * The read pipeline: every tensor's data cut into chunks, then its padding (read and checked to be zero),
   * read through `pipelineReads` (16 MiB chunks, 4 reads in flight across tensors), consumed (checksummed) in order.
   */
  private async stream(jobs: ReadonlyArray<{ info: SmqTensorInfo; target: Uint8Array }>, onTensor?: (name: string, byteLength: number) => void): Promise<void> {
    interface Chunk {
      readonly info: SmqTensorInfo;
      readonly bytes: Uint8Array;
      readonly position: number;
      /** Padding after the tensor's data; the last chunk of its tensor. */
      readonly padding: boolean;
    }
    function* chunks(): Generator<Chunk> {
      for (const { info, target } of jobs) {
        for (const piece of tensorChunks([{ offset: info.offset, target }])) {
          if (piece.bytes.length > 0) yield { info, bytes: piece.bytes, position: piece.position, padding: false };
        }
        const end = info.offset + info.byteLength;
        yield { info, bytes: new Uint8Array(align64(end) - end), position: end, padding: true };
      }
    }
    const read = (chunk: Chunk): Promise<void> => {
      const field = `tensors[${JSON.stringify(chunk.info.name)}].${chunk.padding ? 'padding' : 'data'}`;
      return chunk.bytes.length === 0 ? Promise.resolve() : readFully(this.source, chunk.bytes, chunk.position, field, chunk.info.name);
    };
    let crc = 0;
    await pipelineReads(chunks(), read, (chunk) => {
      const info = chunk.info;
      if (!chunk.padding) {
        if (this.verifyChecksums) crc = crc32(chunk.bytes, crc);
        return;
      }
      if (this.verifyChecksums && crc !== info.checksum) {
        throw new SmqFormatError(SmqFormatErrorCode.TENSOR_CHECKSUM_MISMATCH, `tensor ${JSON.stringify(info.name)} data CRC-32 is ${crc >>> 0}, the directory says ${info.checksum}: its data is corrupted`, {
          offset: info.offset,
          field: `tensors[${JSON.stringify(info.name)}].data`,
          tensor: info.name,
        });
      }
      crc = 0;
      checkZero(chunk.bytes, 0, chunk.bytes.length, `tensors[${JSON.stringify(info.name)}].padding`, chunk.position, info.name);
      onTensor?.(info.name, info.byteLength);
    });
  }

  /** Releases the file. Further reads throw `SmqReadError` READER_CLOSED. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.source.close();
  }
}
