/**
 * Test support: hand-built `tokenizer.ggml.*` metadata for tiny vocabularies, so each tokenizer rule can
 * be exercised on a vocabulary small enough to reason about by hand. Not exported from the package.
 */
import { MetadataValueType, ModelMetadata, type MetadataValue } from '@smallmind/io-smq';
import { TokenType } from './vocabulary.js';

export const str = (value: string): MetadataValue => ({ type: MetadataValueType.STRING, value });
export const u32 = (value: number): MetadataValue => ({ type: MetadataValueType.UINT32, value });
export const bool = (value: boolean): MetadataValue => ({ type: MetadataValueType.BOOL, value });
export const strings = (values: readonly string[]): MetadataValue => ({ type: MetadataValueType.ARRAY, value: { elementType: MetadataValueType.STRING, values } });
export const f32s = (values: readonly number[]): MetadataValue => ({ type: MetadataValueType.ARRAY, value: { elementType: MetadataValueType.FLOAT32, values } });
export const i32s = (values: readonly number[]): MetadataValue => ({ type: MetadataValueType.ARRAY, value: { elementType: MetadataValueType.INT32, values } });

export interface TestToken {
  readonly text: string;
  readonly type?: TokenType;
  readonly score?: number;
}

export interface TestVocab {
  readonly model: string;
  readonly tokens: readonly TestToken[];
  readonly merges?: readonly string[];
  /** Further keys, e.g. `tokenizer.ggml.pre`, special ids, flags. */
  readonly extra?: Readonly<Record<string, MetadataValue>>;
}

export function vocabMetadata(v: TestVocab): ModelMetadata {
  const entries: Array<[string, MetadataValue]> = [
    ['tokenizer.ggml.model', str(v.model)],
    ['tokenizer.ggml.tokens', strings(v.tokens.map((t) => t.text))],
    ['tokenizer.ggml.scores', f32s(v.tokens.map((t) => t.score ?? 0))],
    ['tokenizer.ggml.token_type', i32s(v.tokens.map((t) => t.type ?? TokenType.NORMAL))],
  ];
  if (v.merges !== undefined) entries.push(['tokenizer.ggml.merges', strings(v.merges)]);
  for (const [key, value] of Object.entries(v.extra ?? {})) entries.push([key, value]);
  return new ModelMetadata(entries);
}

/** `<unk>`, `<s>`, `</s>` then the 256 byte tokens `<0x00>`..`<0xFF>` (ids 3..258), as llama SPM vocabularies start. */
export function spmBaseTokens(): TestToken[] {
  const tokens: TestToken[] = [
    { text: '<unk>', type: TokenType.UNKNOWN },
    { text: '<s>', type: TokenType.CONTROL },
    { text: '</s>', type: TokenType.CONTROL },
  ];
  for (let b = 0; b < 256; b++) tokens.push({ text: `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`, type: TokenType.BYTE });
  return tokens;
}

/** Id of a token text in a list (throws if absent, so tests cannot silently compare against -1). */
export function idOf(tokens: readonly TestToken[], text: string): number {
  const id = tokens.findIndex((t) => t.text === text);
  if (id < 0) throw new Error(`test vocab has no token ${JSON.stringify(text)}`);
  return id;
}
