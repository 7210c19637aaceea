/**
 * Streaming, atomic SMQ writer. Tensor data streams into `<path>.<random>.tmp` next to the target, is
 * checksummed on the way, and the header (with every checksum) is written last; `finish()` fsyncs and
 * moves the file into place, so a file at `path` is always complete (SPEC.md §7).
 */
import { AtomicFile, type AtomicFileErrors } from './atomic-file.js';
import { encodeUtf8Strict } from './binary.js';
import { crc32 } from './checksum.js';
import { SMQ_LAYOUT_GGML, SMQ_MAX_TENSOR_NAME_BYTES, align64 } from './constants.js';
import { SmqWriteError } from './errors.js';
import { HeaderImage, type TensorPlan } from './header.js';
import type { ModelMetadata } from './metadata.js';
import { provenanceEntries, type SmqProvenance } from './provenance.js';
import { checkTensor } from './tensor-rules.js';
import { randomHex, type SmqWriteTarget } from './write-target.js';

/** A tensor to be written: its data follows through `writeTensorData`. */
export interface SmqTensorDeclaration {
  readonly name: string;
  /** ggml type id. */
  readonly type: number;
  /** Dimensions in ggml `ne` order. */
  readonly shape: readonly number[];
  readonly byteLength: number;
  /** 0 (default) = ggml blocks as in GGUF; the only layout of format version 1. */
  readonly layout?: number;
}

export interface SmqWriterOptions {
  readonly metadata: ModelMetadata;
  /** In the order their data will be written (and stored). */
  readonly tensors: readonly SmqTensorDeclaration[];
  readonly provenance?: SmqProvenance;
  /** Replace an existing file at the target path (default false: an existing file is `TARGET_EXISTS`). */
  readonly overwrite?: boolean;
}

/**
 * Data chunks smaller than this are gathered into one write call; larger ones are written straight from the
 * caller's buffer (a copy would cost more than the syscall it saves).
 */
const STAGING_BYTES = 1 << 20;

/** Checks the declarations; returns the plans with layouts filled in. */
function planTensors(tensors: readonly SmqTensorDeclaration[]): TensorPlan[] {
  if (!Array.isArray(tensors)) throw new SmqWriteError('INVALID_TENSOR', 'tensors must be an array', 'tensors');
  const names = new Set<string>();
  return tensors.map((t, i) => {
    const field = `tensors[${i}]`;
    const nameBytes = typeof t.name === 'string' ? encodeUtf8Strict(t.name) : undefined;
    if (nameBytes === undefined || nameBytes.length === 0 || nameBytes.length > SMQ_MAX_TENSOR_NAME_BYTES) {
      throw new SmqWriteError('INVALID_TENSOR', `tensor name must be 1..${SMQ_MAX_TENSOR_NAME_BYTES} bytes of valid UTF-8`, `${field}.name`);
    }
    if (names.has(t.name)) throw new SmqWriteError('DUPLICATE_TENSOR', `tensor ${JSON.stringify(t.name)} is declared twice`, `${field}.name`);
    names.add(t.name);
    const layout = t.layout ?? SMQ_LAYOUT_GGML;
    const violation = Array.isArray(t.shape) ? checkTensor(t.type, layout, t.shape, t.byteLength) : { code: 'NO_DIMS', detail: 'shape must be an array', part: 'shape' };
    if (violation !== undefined) {
      throw new SmqWriteError('INVALID_TENSOR', `${violation.code}: tensor ${JSON.stringify(t.name)}: ${violation.detail}`, `${field}.${violation.part}`);
    }
    return { name: t.name, type: t.type, layout, shape: [...t.shape], byteLength: t.byteLength };
  });
}

function targetExists(path: string): SmqWriteError {
  return new SmqWriteError('TARGET_EXISTS', `${path} exists; pass overwrite: true to replace it`, path);
}

/** How the SMQ writer reports a refused target or a second commit. */
const SMQ_ATOMIC_FILE_ERRORS: AtomicFileErrors = {
  destinationExists: (path) => targetExists(path),
  notOpen: (_path, state) => new SmqWriteError('WRITER_CLOSED', `the file was already ${state}`),
};

type WriterState = 'open' | 'finished' | 'aborted' | 'failed';

export class SmqWriter {
  private state: WriterState = 'open';
  private busy = false;
  /** Tensor currently receiving data, and how many of its bytes arrived. */
  private current = 0;
  private written = 0;
  private crc = 0;
  /** Next file position to write (data region), and bytes staged for it. */
  private position: number;
  private readonly staging: Uint8Array;
  private staged = 0;

  private constructor(
    /** The temp file (or other target) the data goes to until `finish()` publishes it. */
    private readonly file: SmqWriteTarget,
    private readonly plans: readonly TensorPlan[],
    private readonly header: HeaderImage,
  ) {
    this.position = header.dataOffset;
    this.staging = new Uint8Array(Math.min(STAGING_BYTES, header.fileLength - header.dataOffset));
  }

  /**
   * Validates everything (metadata values, tensor names, types, shapes and byte lengths) and creates the
   * temp file. Throws `SmqWriteError` (`TARGET_EXISTS`, `INVALID_*`, `DUPLICATE_TENSOR`, `HEADER_TOO_LARGE`).
   */
  static async create(path: string, options: SmqWriterOptions): Promise<SmqWriter> {
    return SmqWriter.createOn(
      () =>
        AtomicFile.create(path, {
          overwrite: options.overwrite ?? false,
          tempPath: `${path}.${randomHex(6)}.tmp`,
          errors: SMQ_ATOMIC_FILE_ERRORS,
        }),
      options,
    );
  }

  /**
   * Like `create`, onto any target (memory, a browser's OPFS file): everything is validated first, then
   * `open(fileLength)` is called once with the size the finished file will have. `finish()` commits the
   * target, `abort()` and failures abort it. `options.overwrite` is the target's business here.
   */
  static async createOn(open: (fileLength: number) => Promise<SmqWriteTarget>, options: SmqWriterOptions): Promise<SmqWriter> {
    if (!(options.metadata?.entries instanceof Map)) throw new SmqWriteError('INVALID_METADATA', 'metadata must be a ModelMetadata', 'metadata');
    const plans = planTensors(options.tensors);
    const provenance = provenanceEntries({ createdAt: new Date().toISOString(), ...options.provenance });
    const header = HeaderImage.build(options.metadata, provenance, plans);
    return new SmqWriter(await open(header.fileLength), plans, header);
  }

  /** The target path. */
  get path(): string {
    return this.file.path;
  }

  /** The temp file the data goes to until `finish()`. */
  get tempPath(): string {
    return this.file.tempPath;
  }

  /** Total size the finished file will have. */
  get fileLength(): number {
    return this.header.fileLength;
  }

  private checkUsable(): void {
    if (this.state !== 'open') throw new SmqWriteError('WRITER_CLOSED', `the writer is ${this.state}`);
    if (this.busy) throw new SmqWriteError('CONCURRENT_CALL', 'await the previous writeTensorData/finish call first');
  }

  /** Runs an I/O step; an I/O failure leaves the temp file in an unknown state, so the writer is done for. */
  private async io<T>(step: () => Promise<T>): Promise<T> {
    this.busy = true;
    try {
      return await step();
    } catch (e) {
      if (!(e instanceof SmqWriteError)) this.state = 'failed';
      throw e;
    } finally {
      this.busy = false;
    }
  }

  private async writeAt(bytes: Uint8Array, position: number): Promise<void> {
    await this.file.write(bytes, position);
  }

  private async flush(): Promise<void> {
    if (this.staged === 0) return;
    await this.writeAt(this.staging.subarray(0, this.staged), this.position);
    this.position += this.staged;
    this.staged = 0;
  }

  /** Appends data bytes after everything appended so far, gathering small pieces into one write. */
  private async append(bytes: Uint8Array): Promise<void> {
    if (this.staged + bytes.length <= this.staging.length) {
      this.staging.set(bytes, this.staged);
      this.staged += bytes.length;
      return;
    }
    await this.flush();
    if (bytes.length < this.staging.length) {
      this.staging.set(bytes, 0);
      this.staged = bytes.length;
      return;
    }
    await this.writeAt(bytes, this.position);
    this.position += bytes.length;
  }

  /** Completes the current tensor: records its checksum and pads its data to the next 64-byte boundary. */
  private async closeCurrentTensor(): Promise<void> {
    const plan = this.plans[this.current] as TensorPlan;
    this.header.setTensorChecksum(this.current, this.crc);
    const padding = align64(plan.byteLength) - plan.byteLength;
    if (padding > 0) await this.append(new Uint8Array(padding));
    this.current++;
    this.written = 0;
    this.crc = 0;
  }

  /**
   * Appends `chunk` to tensor `name`'s data. Tensors come in declared order, each in any number of
   * chunks; moving on to the next tensor requires the current one to be complete. `chunk` may be reused
   * by the caller once the returned promise settles.
   */
  async writeTensorData(name: string, chunk: Uint8Array): Promise<void> {
    this.checkUsable();
    let plan = this.plans[this.current];
    if (plan !== undefined && plan.name !== name && this.written === plan.byteLength && this.plans[this.current + 1]?.name === name) {
      await this.io(() => this.closeCurrentTensor());
      plan = this.plans[this.current];
    }
    if (plan === undefined || plan.name !== name) {
      const expected = plan === undefined ? 'no more tensors' : `tensor ${JSON.stringify(plan.name)} (${this.written} of ${plan.byteLength} bytes written)`;
      const known = this.plans.some((p) => p.name === name);
      throw new SmqWriteError('OUT_OF_ORDER', `${known ? 'data for' : 'undeclared'} tensor ${JSON.stringify(name)} arrived, expected ${expected}`, name);
    }
    if (chunk.length > plan.byteLength - this.written) {
      throw new SmqWriteError('TOO_MUCH_DATA', `tensor ${JSON.stringify(name)} is ${plan.byteLength} bytes; ${this.written} written, ${chunk.length} more offered`, name);
    }
    this.crc = crc32(chunk, this.crc);
    this.written += chunk.length;
    await this.io(() => this.append(chunk));
  }

  /**
   * Checks every tensor got exactly its byte length, writes the header, fsyncs, and moves the file to
   * `path`. On `INCOMPLETE` the writer stays usable; on any other failure the temp file is removed.
   */
  async finish(): Promise<void> {
    this.checkUsable();
    const plan = this.plans[this.current];
    const currentDone = plan === undefined || this.written === plan.byteLength;
    const firstShort = currentDone ? this.plans[this.current + 1] : plan;
    if (firstShort !== undefined) {
      const got = currentDone ? 0 : this.written;
      const after = this.plans.length - 1 - this.plans.indexOf(firstShort);
      throw new SmqWriteError('INCOMPLETE', `tensor ${JSON.stringify(firstShort.name)} has ${got} of ${firstShort.byteLength} bytes${after > 0 ? `; ${after} later tensors have none` : ''}`, firstShort.name);
    }
    try {
      await this.io(async () => {
        if (plan !== undefined) await this.closeCurrentTensor();
        await this.flush();
        await this.writeAt(this.header.seal(), 0);
        await this.file.commit();
        this.state = 'finished';
      });
    } catch (e) {
      this.state = 'failed';
      await this.file.abort();
      throw e;
    }
  }

  /** Abandons the file: closes and removes the temp file. Safe to call at any time, more than once. */
  async abort(): Promise<void> {
    if (this.state === 'finished') return;
    if (this.state !== 'aborted') {
      this.state = 'aborted';
      await this.file.abort();
    }
  }
}

/** A tensor with its data, for `writeSmq`. */
export interface SmqTensorWithData {
  readonly name: string;
  readonly type: number;
  readonly shape: readonly number[];
  readonly data: Uint8Array;
  readonly layout?: number;
}

export interface WriteSmqOptions extends Omit<SmqWriterOptions, 'tensors'> {
  readonly tensors: readonly SmqTensorWithData[];
}

/** Writes a whole SMQ file from tensors held in memory, atomically. */
export async function writeSmq(path: string, options: WriteSmqOptions): Promise<void> {
  const declarations = options.tensors.map(({ data, ...t }) => ({ ...t, byteLength: data.length }));
  const writer = await SmqWriter.create(path, { ...options, tensors: declarations });
  try {
    for (const t of options.tensors) await writer.writeTensorData(t.name, t.data);
    await writer.finish();
  } catch (e) {
    await writer.abort();
    throw e;
  }
}

