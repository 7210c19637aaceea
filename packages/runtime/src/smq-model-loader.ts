import { SmqReader, type ByteSource, type ModelMetadata, type TensorReadTarget } from '@smallmind/io-smq';
import { createBackend, type KernelBackend } from '@smallmind/quantization-kernels';
import { GgmlType, createWeightTensor, ggmlTypeInfo, shapeToRowsCols, type GgmlTypeId, type IWeightTensor } from '@smallmind/quantization-tensors';
import { ModelLoadError } from './errors.js';
import { consoleLogger, type Logger } from './logger.js';
import { architectureOf } from './architectures/index.js';
import { ConfigKeys } from './model/config.js';
import { Model } from './model/model.js';
import { checkTensorDirectory, tensorSpecs, type BoundValue } from './model/tensor-table.js';
import { createTokenizer } from './tokenizer/index.js';

/**
 * Something that can swap a weight for a faster implementation of the same matrix (the kernels
 * package's backend). The model only ever calls `IWeightTensor` methods, so it needs no change.
 */
export interface WeightBackend {
  prepare(tensor: IWeightTensor): IWeightTensor;
  /**
   * Zero-copy loading: reserves kernel memory for a matrix and returns its prepared tensor, whose `data` the
   * loader fills straight from the file (one copy, page cache -> kernel memory). undefined: use `prepare`.
   */
  allocate?(type: GgmlTypeId, cols: number, rows: number): IWeightTensor | undefined;
  /** Kernel memory and an attention kernel for a session's KV cache (see KernelBackend.createKvStore). */
  createKvStore?: NonNullable<KernelBackend['createKvStore']>;
  /** Releases what the backend holds (worker threads, kernel memory); called by `Model.dispose` for a backend the loader created. */
  dispose?(): Promise<void>;
}

/**
 * Where a model's tensors come from: an open `SmqReader` is one; the engine adapts an open GGUF file
 * (io-gguf's `GgufFile`) to load a model straight from it, without an SMQ in between. The source has
 * checked every tensor's byte length against its type and shape, and that it lies inside the file.
 */
export interface ModelTensorSource {
  readonly metadata: ModelMetadata;
  readonly tensors: ReadonlyArray<{ readonly name: string; readonly type: number; readonly shape: readonly number[]; readonly byteLength: number }>;
  /** Fills each target (exactly its tensor's byte length) as one stream; `onTensor` after each is in place. */
  readTensorsInto(targets: readonly TensorReadTarget[], options?: { readonly onTensor?: (name: string, byteLength: number) => void }): Promise<void>;
  /** One tensor's bytes in a buffer of their own. */
  readTensorData(name: string): Promise<Uint8Array>;
  close(): Promise<void>;
}

export interface LoadFromSmqOptions {
  /**
   * Keep each weight in its file's block format (default true). `false` dequantizes every weight
   * to F32: float math, about 4 bytes per weight in memory instead of the file's few bits.
   */
  readonly preserveQuantization?: boolean;
  /** Where load messages go; the console by default. */
  readonly logger?: Logger;
  /**
   * Multiplies every weight matrix. Default: a backend of its own from `createBackend()` in
   * @smallmind/quantization-kernels (WebAssembly SIMD, all cores; the TypeScript reference where
   * WebAssembly SIMD is missing), released by `Model.dispose()`. Pass one to share it between
   * models or to choose threads; `createBackend({ prefer: 'reference' })` gives the plain TS kernels.
   * A backend passed in is never disposed by the loader.
   */
  readonly backend?: WeightBackend;
  /**
   * Verify each tensor's CRC-32 as it is read (default true). Turn it off only when the bytes were verified
   * a moment ago (e.g. an SMQ just written in memory by the importer); structure and padding are checked anyway.
   */
  readonly verifyChecksums?: boolean;
  /** Called after each tensor is in place (every tensor of the file counts, in the order they are read). */
  readonly onProgress?: (progress: LoadProgress) => void;
}

/** How far a load has got: bytes and tensors of the file's tensor data placed so far. */
export interface LoadProgress {
  readonly bytesDone: number;
  readonly bytesTotal: number;
  readonly tensorsDone: number;
  readonly tensorsTotal: number;
}

function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(2)} MiB`;
}

/** Loads SMQ model files into a `Model` (config, weights, tokenizer, template, metadata). */
export class SmqModelLoader {
  /**
   * Opens `path`, reads the config through the file's architecture module, checks every tensor's name
   * and shape against the module's tensor table (ModelLoadError naming the tensor and the file), reads the
   * weights and builds the model. `model.dispose()` releases the kernel backend the loader created (a
   * backend passed in is left alone).
   */
  static async loadFromSmq(path: string, options: LoadFromSmqOptions = {}): Promise<Model> {
    return SmqModelLoader.loadFromTensors(await SmqReader.open(path, readerOptions(options)), path, options);
  }

  /**
   * As `loadFromSmq`, from any byte source (an OPFS file, a Blob, bytes in memory: the browser's way);
   * `name` stands for the file in messages. The source is closed when loading ends.
   */
  static async loadFromSource(source: ByteSource, name: string, options: LoadFromSmqOptions = {}): Promise<Model> {
    let reader: SmqReader;
    try {
      reader = await SmqReader.fromSource(source, readerOptions(options));
    } catch (error) {
      await source.close();
      throw error;
    }
    return SmqModelLoader.loadFromTensors(reader, name, options);
  }

  /**
   * As `loadFromSmq`, from any tensor source (an open `SmqReader`, or an adapted GGUF file); `name` stands
   * for the file in messages. The source is closed when loading ends (either way). `verifyChecksums` is the
   * source's business (an SmqReader takes it at open).
   */
  static async loadFromTensors(reader: ModelTensorSource, path: string, options: LoadFromSmqOptions = {}): Promise<Model> {
    const logger = options.logger ?? consoleLogger;
    const preserveQuantization = options.preserveQuantization ?? true;
    let ownBackend: WeightBackend | undefined;
    try {
      const metadata = reader.metadata;
      const architecture = architectureOf(metadata);
      const config = architecture.readConfig(new ConfigKeys(metadata, architecture.name));
      const entries = reader.tensors.map((t) => ({ name: t.name, type: t.type, shape: [...t.shape], byteLength: t.byteLength }));
      checkTensorDirectory(entries, tensorSpecs(architecture.tensors, config), architecture.name, path);
      const tokenizer = createTokenizer(metadata);

      const fileBytes = entries.reduce((sum, e) => sum + e.byteLength, 0);
      const floatBytes = entries.reduce((sum, e) => sum + elementCount(e.shape) * 4, 0);
      if (!preserveQuantization) {
        logger.warn(
          `preserveQuantization: false dequantizes every weight to F32 for plain float math: ${mib(floatBytes)} of weights in memory ` +
            `instead of the file's ${mib(fileBytes)} (${(floatBytes / fileBytes).toFixed(2)}x); keep the default to hold weights in their quantized form`,
        );
      }

      ownBackend = options.backend === undefined ? await createBackend({ logger }) : undefined;
      const backend = options.backend ?? ownBackend!;
      const tensors = new Map<string, BoundValue>();
      let quantizedCount = 0;
      let floatCount = 0;
      const count = (type: GgmlTypeId): void => {
        if (type === GgmlType.F32) floatCount++;
        else quantizedCount++;
      };
      let bytesDone = 0;
      let tensorsDone = 0;
      const placedOne = (byteLength: number): void => {
        bytesDone += byteLength;
        tensorsDone++;
        options.onProgress?.({ bytesDone, bytesTotal: fileBytes, tensorsDone, tensorsTotal: entries.length });
      };

      // Zero-copy loading: every matrix the backend can hold gets its kernel memory first, then one read
      // stream in file order fills them all (page cache -> kernel memory, the reads of the next tensors
      // overlapping the checksum of the current one).
      const placedTensors: { name: string; tensor: IWeightTensor }[] = [];
      const rest: typeof entries = [];
      for (const entry of entries) {
        if (entry.shape.length >= 2 && preserveQuantization && backend.allocate !== undefined) {
          const { rows, cols } = shapeToRowsCols(entry.shape);
          const placed = wrapTensorErrors(entry.name, () => backend.allocate!(entry.type, cols, rows));
          if (placed !== undefined) {
            placedTensors.push({ name: entry.name, tensor: placed });
            tensors.set(entry.name, placed);
            count(entry.type);
            continue;
          }
        }
        rest.push(entry);
      }
      // Views of kernel memory taken only now: growing an unshared memory (a page that is not cross-origin
      // isolated) detaches the views taken before; no allocation happens while the stream runs. The small
      // 1-D tensors (norms) join the same stream in buffers of their own: one pass over the file, which for
      // a URL source means no extra round trips after it.
      const vectors = new Map(rest.filter((e) => e.shape.length === 1).map((e) => [e.name, new Uint8Array(e.byteLength)]));
      const streamTargets = [...placedTensors.map(({ name, tensor }) => ({ name, target: tensor.data })), ...[...vectors].map(([name, target]) => ({ name, target }))];
      await reader.readTensorsInto(streamTargets, { onTensor: (_name, byteLength) => placedOne(byteLength) });

      for (const entry of rest) {
        const streamed = vectors.get(entry.name);
        const data = streamed ?? (await reader.readTensorData(entry.name));
        let tensor = wrapTensorErrors(entry.name, () => createWeightTensor(entry.type, data, entry.shape));
        if (streamed !== undefined) {
          // Norm weights are applied elementwise, never multiplied: hold them as floats.
          tensors.set(entry.name, wrapTensorErrors(entry.name, () => tensor.toFloat32()));
          floatCount++;
          continue;
        }
        if (!preserveQuantization && tensor.type !== GgmlType.F32) {
          const floats = wrapTensorErrors(entry.name, () => tensor.toFloat32());
          tensor = createWeightTensor(GgmlType.F32, new Uint8Array(floats.buffer, floats.byteOffset, floats.byteLength), entry.shape);
        }
        count(tensor.type);
        tensors.set(entry.name, backend.prepare(tensor));
        placedOne(entry.byteLength);
      }

      const owned = ownBackend;
      const model = Model.create({ metadata, tensors, tokenizer, source: path, kernels: backend, onDispose: async () => owned?.dispose?.() });
      const typeSummary = summarizeTypes(entries);
      logger.info(
        `Loaded ${tensors.size}/${entries.length} parameters (${quantizedCount} quantized, ${floatCount} FP32) from ${path}: ` +
          `${config.architecture}, ${config.blockCount} blocks, n_embd ${config.embeddingLength}, vocab ${config.vocabSize}, ` +
          `${tensors.has('output.weight') ? 'untied' : 'tied'} output; file tensor types: ${typeSummary}`,
      );
      ownBackend = undefined;
      return model;
    } catch (error) {
      await ownBackend?.dispose?.();
      throw error;
    } finally {
      await reader.close();
    }
  }
}

function readerOptions(options: LoadFromSmqOptions): { verifyChecksums?: boolean } {
  return options.verifyChecksums === undefined ? {} : { verifyChecksums: options.verifyChecksums };
}

function summarizeTypes(entries: ReadonlyArray<{ readonly type: number }>): string {
  const counts = new Map<string, number>();
  for (const e of entries) {
    const name = ggmlTypeInfo(e.type).name;
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return [...counts].map(([name, n]) => `${name} ${n}`).join(', ');
}

function wrapTensorErrors<T>(tensorName: string, build: () => T): T {
  try {
    return build();
  } catch (e) {
    if (e instanceof ModelLoadError) throw e;
    const reason = e instanceof Error ? e.message : String(e);
    throw new ModelLoadError('UNSUPPORTED_TYPE', tensorName, `tensor "${tensorName}" cannot be used: ${reason}`);
  }
}
