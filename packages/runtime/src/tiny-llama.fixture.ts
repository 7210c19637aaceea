// Test helpers (not exported): tiny llama models from the one random-model builder (testing/random-model.ts).
import type { MetadataValue, ModelMetadata } from '@smallmind/io-smq';
import { architectureByName } from './architectures/index.js';
import { ConfigKeys, type ModelConfig } from './model/config.js';
import { Model } from './model/model.js';
import type { Session, SessionOptions } from './model/session.js';
import {
  boundF32Tensors,
  defaultRandomShape,
  randomModelMetadata,
  randomModelTensors,
  u32,
  type RandomModelShape,
  type RawTensor,
} from './testing/random-model.js';

export type { RawTensor } from './testing/random-model.js';
export const defaultTinyShape: RandomModelShape = defaultRandomShape;

/** Metadata of a tiny llama model; `ropeDimensionCount` writes `llama.rope.dimension_count`. */
export function tinyLlamaMetadata(shape: RandomModelShape = defaultTinyShape, ropeDimensionCount?: number): ModelMetadata {
  const keys: Record<string, MetadataValue> = ropeDimensionCount === undefined ? {} : { 'rope.dimension_count': u32(ropeDimensionCount) };
  return randomModelMetadata('llama', shape, { keys });
}

export function configOf(metadata: ModelMetadata): ModelConfig {
  const architecture = architectureByName(metadata.getString('general.architecture'));
  return architecture.readConfig(new ConfigKeys(metadata, architecture.name));
}

/** The config a tiny llama of `shape` reads back from its metadata. */
export function tinyConfig(shape: RandomModelShape = defaultTinyShape): ModelConfig {
  return configOf(tinyLlamaMetadata(shape));
}

/** Random llama tensors; `tied` leaves out `output.weight`. */
export function randomLlamaTensors(shape: RandomModelShape, seed: number, tied: boolean, ropeDimensionCount?: number): Map<string, RawTensor> {
  const include = ['attn_q.weight', 'attn_k.weight', 'attn_v.weight', ...(tied ? [] : ['output.weight'])];
  return randomModelTensors(tinyLlamaMetadata(shape, ropeDimensionCount), seed, { include });
}

export function f32Bytes(values: Float32Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

/** A model over F32 tensors (plain TS kernels). */
export function tinyModel(metadata: ModelMetadata, tensors: ReadonlyMap<string, RawTensor>): Model {
  return Model.create({ metadata, tensors: boundF32Tensors(tensors) });
}

/** A fresh session of a tiny llama built from `tensors`. */
export function tinySession(shape: RandomModelShape, tensors: ReadonlyMap<string, RawTensor>, options: SessionOptions = {}, ropeDimensionCount?: number): Session {
  return tinyModel(tinyLlamaMetadata(shape, ropeDimensionCount), tensors).createSession(options);
}
