import { SmqReader, type ModelMetadata } from '@smallmind/io-smq';
import { createBackend } from '@smallmind/quantization-kernels';
import { GgmlType, createWeightTensor, ggmlTypeInfo, type IWeightTensor } from '@smallmind/quantization-tensors';
import { ModelLoadError } from './errors.js';
import { consoleLogger, type Logger } from './logger.js';
import { architectureDescriptor, type ModelConfig, type TensorSpec } from './model-config.js';
import { createTokenizer, type Tokenizer } from './tokenizer/index.js';
import { TransformerModel, llamaWeightsFromTensors } from './transformer-model.js';

/**
 * Something that can swap a weight for a faster implementation of the same matrix (the kernels
 * package's backend). The model only ever calls `IWeightTensor` methods, so it needs no change.
 */
export interface WeightBackend {
  prepare(tensor: IWeightTensor): IWeightTensor;
  /** Releases what the backend holds (worker threads, kernel memory); called by `LoadedModel.dispose` for a backend the loader created. */
  dispose?(): Promise<void>;
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
   * WebAssembly SIMD is missing), released by `LoadedModel.dispose()`. Pass one to share it between
   * models or to choose threads; `createBackend({ prefer: 'reference' })` gives the plain TS kernels.
   * A backend passed in is never disposed by the loader.
   */
  readonly backend?: WeightBackend;
  /** Context window to enforce instead of the file's `context_length`. */
  readonly contextLength?: number;
}

export interface LoadedModel {
  readonly model: TransformerModel;
  readonly tokenizer: Tokenizer;
  readonly metadata: ModelMetadata;
  readonly config: ModelConfig;
  /** Releases the kernel backend the loader created (a no-op when `backend` was passed in). */
  dispose(): Promise<void>;
}

interface TensorEntry {
  readonly name: string;
  readonly type: number;
  readonly shape: readonly number[];
  readonly byteLength: number;
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Compares the file's tensor directory with what the architecture needs. Every problem is listed
 * in the message; the error names the first one's tensor.
 */
function checkTensorDirectory(entries: readonly TensorEntry[], specs: readonly TensorSpec[]): void {
  const specByName = new Map(specs.map((s) => [s.name, s]));
  const present = new Set(entries.map((e) => e.name));
  const problems: Array<{ code: 'MISSING_TENSOR' | 'UNEXPECTED_TENSOR' | 'WRONG_SHAPE'; name: string; text: string }> = [];
  for (const spec of specs) {
    if (spec.optional !== true && !present.has(spec.name)) {
      problems.push({ code: 'MISSING_TENSOR', name: spec.name, text: `tensor "${spec.name}" is missing (expected shape ${shapeText(spec.shape)})` });
    }
  }
  for (const entry of entries) {
    const spec = specByName.get(entry.name);
    if (spec === undefined) {
      problems.push({ code: 'UNEXPECTED_TENSOR', name: entry.name, text: `tensor "${entry.name}" is not part of this architecture's graph` });
    } else if (entry.shape.length !== spec.shape.length || entry.shape.some((d, i) => d !== spec.shape[i])) {
      problems.push({ code: 'WRONG_SHAPE', name: entry.name, text: `tensor "${entry.name}" has shape ${shapeText(entry.shape)}, expected ${shapeText(spec.shape)}` });
    }
  }
  const first = problems[0];
  if (first !== undefined) {
    const more = problems.length > 1 ? ` (${problems.length} problems: ${problems.map((p) => p.text).join('; ')})` : '';
    throw new ModelLoadError(first.code, first.name, `${first.text}${more}`);
  }
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(2)} MiB`;
}

/** Loads SMQ model files into a runnable `TransformerModel` plus tokenizer. */
export class SmqModelLoader {
  /**
   * Opens `path`, derives the config from its metadata, checks every tensor's name and shape
   * against the architecture (throwing `ModelLoadError` naming the tensor), reads the weights and
   * builds the model and tokenizer. Weights without a matching file tensor never exist: a tied
   * model's LM head is the file's `token_embd.weight`.
   */
  static async loadFromSmq(path: string, options: LoadFromSmqOptions = {}): Promise<LoadedModel> {
    const logger = options.logger ?? consoleLogger;
    const preserveQuantization = options.preserveQuantization ?? true;
    const reader = await SmqReader.open(path);
    let ownBackend: WeightBackend | undefined;
    try {
      const metadata = reader.metadata;
      const descriptor = architectureDescriptor(metadata);
      const config = descriptor.readConfig(metadata);
      const entries: TensorEntry[] = reader.tensors.map((t) => ({ name: t.name, type: t.type, shape: [...t.shape], byteLength: t.byteLength }));
      checkTensorDirectory(entries, descriptor.tensorSpecs(config));
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
      const matrices = new Map<string, IWeightTensor>();
      const vectors = new Map<string, Float32Array>();
      let quantizedCount = 0;
      let floatCount = 0;
      for (const entry of entries) {
        const data = await reader.readTensorData(entry.name);
        let tensor = wrapTensorErrors(entry.name, () => createWeightTensor(entry.type, data, entry.shape));
        if (entry.shape.length === 1) {
          // Norm weights are applied elementwise, never multiplied: hold them as floats.
          vectors.set(entry.name, wrapTensorErrors(entry.name, () => tensor.toFloat32()));
          floatCount++;
          continue;
        }
        if (!preserveQuantization && tensor.type !== GgmlType.F32) {
          const floats = wrapTensorErrors(entry.name, () => tensor.toFloat32());
          tensor = createWeightTensor(GgmlType.F32, new Uint8Array(floats.buffer, floats.byteOffset, floats.byteLength), entry.shape);
        }
        if (tensor.type === GgmlType.F32) floatCount++;
        else quantizedCount++;
        matrices.set(entry.name, backend.prepare(tensor));
      }

      const weights = llamaWeightsFromTensors(config, matrices, vectors);
      const typeSummary = summarizeTypes(entries);
      logger.info(
        `Loaded ${matrices.size + vectors.size}/${entries.length} parameters (${quantizedCount} quantized, ${floatCount} FP32) from ${path}: ` +
          `${config.architecture}, ${config.blockCount} blocks, n_embd ${config.embeddingLength}, vocab ${config.vocabSize}, ` +
          `${weights.output === weights.tokenEmbedding ? 'tied' : 'untied'} output; file tensor types: ${typeSummary}`,
      );
      const model = new TransformerModel(config, weights, options.contextLength === undefined ? {} : { contextLength: options.contextLength });
      const owned = ownBackend;
      ownBackend = undefined;
      return { model, tokenizer, metadata, config, dispose: async () => owned?.dispose?.() };
    } catch (error) {
      await ownBackend?.dispose?.();
      throw error;
    } finally {
      await reader.close();
    }
  }
}

function summarizeTypes(entries: readonly TensorEntry[]): string {
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
