import type { ConfigKeys, ModelConfig } from '../model/config.js';
import type { Forward, Rows } from '../model/forward.js';
import type { TensorDefs, TensorTable, Weights } from '../model/tensor-table.js';

/**
 * One model family: how its metadata becomes a config, which tensors it has (the table drives loading,
 * shape checks and errors) and its forward pass over the shared operations of `Forward`.
 */
export interface Architecture<G extends TensorDefs = TensorDefs, L extends TensorDefs = TensorDefs> {
  /** `general.architecture` value. */
  readonly name: string;
  /** An encoder without an LM head (BERT): `forward` returns hidden states, so only `Model.embed` runs it. */
  readonly embeddingOnly?: boolean;
  /** Reads the `{name}.*` keys (the reader's prefix is `name`). */
  readConfig(keys: ConfigKeys): ModelConfig;
  readonly tensors: TensorTable<G, L>;
  /**
   * Runs the batch `f` describes through the model and returns the logits of `f.outputRows`. Must call
   * `f.beginLayer(il)` before each block's ops.
   */
  forward(f: Forward, weights: Weights<G, L>, config: ModelConfig): Rows;
  /** Rules the table cannot state (e.g. "fused QKV or all of Q, K, V"); throws ModelLoadError. */
  validate?(weights: Weights<G, L>, config: ModelConfig): void;
  /** Per-pair RoPE frequency factors (Llama 3's `rope_freqs.weight`), applied to every roped layer. */
  ropeFactors?(weights: Weights<G, L>): Float32Array | undefined;
}

/** Declares an architecture with its weights typed from its tensor table. */
export function defineArchitecture<G extends TensorDefs, L extends TensorDefs>(architecture: Architecture<G, L>): Architecture<G, L> {
  return architecture;
}

/** Any architecture, as the registry holds them. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyArchitecture = Architecture<any, any>;
