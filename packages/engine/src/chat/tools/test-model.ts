/** Test helper (not exported by the package): a random-weight chat model with a real vocabulary and a chosen template. */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { MemoryByteSource, openGguf, writeGguf } from '@smallmind/io-gguf';
import { MetadataValueType, type MetadataValue } from '@smallmind/io-smq';
import { GgmlType } from '@smallmind/quantization-tensors';
import { randomModelMetadata, randomModelTensors } from '@smallmind/runtime';

/** Writes a tiny qwen2 GGUF whose `tokenizer.*` entries come from `vocabGz` and whose chat template is `template`. */
export async function writeToolChatModel(vocabGz: string, template: string, path: string, seed = 3): Promise<void> {
  const bytes = gunzipSync(readFileSync(vocabGz));
  const gguf = await openGguf(new MemoryByteSource(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)));
  let vocabulary: Array<[string, MetadataValue]>;
  try {
    vocabulary = [...gguf.metadata.entries].filter(([key]) => key.startsWith('tokenizer.') && key !== 'tokenizer.chat_template') as Array<[string, MetadataValue]>;
  } finally {
    await gguf.close();
  }
  vocabulary.push(['tokenizer.chat_template', { type: MetadataValueType.STRING, value: template }]);
  const tokens = vocabulary.find(([key]) => key === 'tokenizer.ggml.tokens')![1].value as unknown as { values: readonly unknown[] };
  const shape = { vocabSize: tokens.values.length, embeddingLength: 32, feedForwardLength: 64, headCount: 2, headCountKv: 1, blockCount: 1, contextLength: 1024 };
  const metadata = randomModelMetadata('qwen2', shape, { vocabulary });
  const raw = randomModelTensors(metadata, seed, { include: ['attn_q.weight', 'attn_k.weight', 'attn_v.weight'] });
  await writeGguf(path, {
    metadata,
    tensors: [...raw].map(([name, t]) => ({ name, type: GgmlType.F32, shape: t.shape, data: new Uint8Array(t.values.buffer, t.values.byteOffset, t.values.byteLength) })),
  });
}
