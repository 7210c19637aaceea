/**
 * Model files generated for the CLI tests (not part of the public API): the vendored stories260K model
 * with its feed-forward width widened (zero weights) until the file is big enough that an import is
 * still running when a test signals it, and a small GGUF whose `inspect --all` output outgrows a pipe.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { MemoryByteSource, openGguf, writeGguf, readGguf, type GgufTensorWithData } from '@smallmind/io-gguf';
import { MetadataValueType, ModelMetadata, type MetadataValue } from '@smallmind/io-smq';
import { GgmlType } from '@smallmind/quantization-tensors';
import { randomModelMetadata, randomModelTensors } from '@smallmind/runtime';

/** Writes a valid llama GGUF of about `bytes` bytes built from `storiesPath` (F32). */
export async function writeWideStories(storiesPath: string, destination: string, bytes: number): Promise<void> {
  const source = await readGguf(storiesPath);
  try {
    const embedding = source.metadata.getU32('llama.embedding_length');
    const blocks = source.metadata.getU32('llama.block_count');
    // Three feed-forward matrices of embedding x width F32 per block carry the size.
    const width = Math.max(1, Math.ceil(bytes / (blocks * 3 * embedding * 4)));
    const entries: Array<[string, MetadataValue]> = [...source.metadata.entries].map(([key, value]) =>
      key === 'llama.feed_forward_length' ? [key, { type: MetadataValueType.UINT32, value: width }] : [key, value],
    );
    const tensors: GgufTensorWithData[] = [];
    for (const t of source.tensors) {
      if (/ffn_(gate|up)\.weight$/.test(t.name)) tensors.push({ name: t.name, type: t.type, shape: [embedding, width], data: new Uint8Array(embedding * width * 4) });
      else if (/ffn_down\.weight$/.test(t.name)) tensors.push({ name: t.name, type: t.type, shape: [width, embedding], data: new Uint8Array(embedding * width * 4) });
      else tensors.push({ name: t.name, type: t.type, shape: t.shape, data: await source.readTensorData(t.name) });
    }
    await writeGguf(destination, { metadata: new ModelMetadata(entries), tensors });
  } finally {
    await source.close();
  }
}

/** A GGUF with no tensors and one string array of `items` entries (its `inspect --all` line is long). */
export async function writeLongMetadataGguf(destination: string, items: number): Promise<void> {
  const values = Array.from({ length: items }, (_, i) => `token-${i}`);
  const metadata = new ModelMetadata([
    ['general.architecture', { type: MetadataValueType.STRING, value: 'llama' }],
    ['test.long_array', { type: MetadataValueType.ARRAY, value: { elementType: MetadataValueType.STRING, values } }],
  ]);
  await writeGguf(destination, { metadata, tensors: [] });
}

/** The `tokenizer.*` entries of a vendored, gzipped vocabulary GGUF (fixtures/vocab, fixtures/chat-templates). */
export async function vocabularyEntries(vocabGz: string): Promise<Array<[string, MetadataValue]>> {
  const bytes = gunzipSync(readFileSync(vocabGz));
  const gguf = await openGguf(new MemoryByteSource(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)));
  try {
    return [...gguf.metadata.entries].filter(([key]) => key.startsWith('tokenizer.')) as Array<[string, MetadataValue]>;
  } finally {
    await gguf.close();
  }
}

/**
 * Writes a random-weight model of `architecture` (tiny layers) with a real vocabulary from a vocab GGUF (and
 * `chatTemplate` as its `tokenizer.chat_template` when given).
 */
export async function writeRandomModelWithVocabulary(architecture: string, vocabGz: string, path: string, seed = 3, chatTemplate?: string): Promise<void> {
  let vocabulary = await vocabularyEntries(vocabGz);
  if (chatTemplate !== undefined) {
    vocabulary = [...vocabulary.filter(([key]) => key !== 'tokenizer.chat_template'), ['tokenizer.chat_template', { type: MetadataValueType.STRING, value: chatTemplate }]];
  }
  const tokens = vocabulary.find(([key]) => key === 'tokenizer.ggml.tokens')![1].value as unknown as { values: readonly unknown[] };
  const shape = { vocabSize: tokens.values.length, embeddingLength: 32, feedForwardLength: 64, headCount: 2, headCountKv: 1, blockCount: 1, contextLength: 512 };
  await writeRandomF32Model(path, architecture, randomModelMetadata(architecture, shape, { vocabulary }), seed);
}

/**
 * Writes a random-weight llama with the tiny test vocabulary and a `contextLength`-token window: a greedy
 * generation with EOS banned runs to the end of the window, long enough that a test can interrupt it.
 */
export async function writeLongWindowLlama(path: string, contextLength: number, seed = 5): Promise<void> {
  const shape = { vocabSize: 48, embeddingLength: 32, feedForwardLength: 64, headCount: 2, headCountKv: 1, blockCount: 1, contextLength };
  await writeRandomF32Model(path, 'llama', randomModelMetadata('llama', shape), seed);
}

async function writeRandomF32Model(path: string, architecture: string, metadata: ModelMetadata, seed: number): Promise<void> {
  const include = architecture === 'phi3' ? ['attn_qkv.weight'] : ['attn_q.weight', 'attn_k.weight', 'attn_v.weight'];
  const raw = randomModelTensors(metadata, seed, { include });
  await writeGguf(path, {
    metadata,
    tensors: [...raw].map(([name, t]) => ({ name, type: GgmlType.F32, shape: t.shape, data: new Uint8Array(t.values.buffer, t.values.byteOffset, t.values.byteLength) })),
  });
}
