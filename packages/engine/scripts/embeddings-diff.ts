/**
 * Differential harness for embeddings: writes small random-weight GGUFs with our own io-gguf writer (the one
 * random-model builder of @smallmind/runtime) — `bert` encoders on a pruned real WPM vocabulary (BGE's, from
 * ../shared/fixtures/vocab), a `nomic-bert` encoder on the same vocabulary, and a `llama` decoder with a pooling type (stories260K's tok512 vocabulary) —
 * has node-llama-cpp 3.21.1 embed each text (`createEmbeddingContext().getEmbeddingFor(text)`: llama.cpp's
 * pooled `llama_get_embeddings_seq`, not normalised; CPU, 1 thread, F32 KV, flash attention off), and compares SmallMind's
 * `model.embed(tokenizer.encode(text), { normalize: false })`: same tokens, cosine > 0.9999, max |diff|.
 *
 *   pnpm conformance:embeddings   # needs node-llama-cpp 3.21.1 at $NLC_DIR (default /tmp/llama-ref/nlc)
 *
 * Writes the GGUFs and node-llama-cpp's vectors to fixtures/embeddings/ (src/conformance/embeddings.test.ts
 * re-checks them in default CI without node-llama-cpp) and the figures to docs/embeddings.md.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { readGguf } from '@smallmind/io-gguf';
import { MetadataValueType, type MetadataValue } from '@smallmind/io-smq';
import { GgmlType } from '@smallmind/quantization-tensors';
import { cosineSimilarity, createTokenizer, f32, u32, type EmbedPooling, type Model, type RandomModelShape } from '@smallmind/runtime';
import { ModelMetadata } from '@smallmind/io-smq';
import { TYPE_CASES, loadForComparison, writeFamilyGguf, type FamilyCase } from './families.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const embeddingFixtureDir = join(repoRoot, 'fixtures/embeddings');
const docPath = join(repoRoot, 'docs/embeddings.md');
const bgeVocabSource = resolve(repoRoot, '../shared/fixtures/vocab/ggml-vocab-bert-bge.gguf.gz');

/** Texts for the WPM encoders: ASCII, accents (BERT lowercases and strips them), digits, punctuation, unknown words. */
export const BERT_TEXTS = [
  'Hello world',
  'The quick brown fox jumps over the lazy dog.',
  'Führer ied 4 ½ months',
  '   Leading spaces, UPPER case and zyxwvutsrq!',
  'Café naïve résumé — “quotes” & 1234',
] as const;

/** Texts for the decoder (stories260K tok512 pieces). */
export const DECODER_TEXTS = [
  'Once upon a time',
  'Lily and Ben were best friends. One day, they went to the park to play with a ball.',
  'Tom had 3 red apples and a café 🍎. He',
] as const;

export interface EmbeddingCase {
  readonly family: FamilyCase;
  readonly vocabulary: 'bert-pruned' | 'tok512';
  readonly pooling: EmbedPooling;
  readonly types: readonly string[];
}

const bertShape: RandomModelShape = { vocabSize: 0, embeddingLength: 32, feedForwardLength: 64, headCount: 4, headCountKv: 4, blockCount: 2, contextLength: 64 };
const decoderShape: RandomModelShape = { vocabSize: 512, embeddingLength: 32, feedForwardLength: 64, headCount: 4, headCountKv: 2, blockCount: 2, contextLength: 64 };
const poolingNumber: Record<EmbedPooling, number> = { mean: 1, cls: 2, last: 3 };

function bertCase(name: string, pooling: EmbedPooling, types: readonly string[]): EmbeddingCase {
  return { family: { name, architecture: 'bert', shape: bertShape, include: ['token_types.weight'], keys: { pooling_type: u32(poolingNumber[pooling]) }, gelu: true }, vocabulary: 'bert-pruned', pooling, types };
}

function nomicCase(name: string, pooling: EmbedPooling, types: readonly string[]): EmbeddingCase {
  const keys = { pooling_type: u32(poolingNumber[pooling]), 'rope.freq_base': f32(1000) };
  return { family: { name, architecture: 'nomic-bert', shape: bertShape, include: ['token_types.weight'], keys }, vocabulary: 'bert-pruned', pooling, types };
}

function decoderCase(name: string, pooling: EmbedPooling, types: readonly string[]): EmbeddingCase {
  // Tied output (no output.weight): an embedding never reads the LM head, and the file stays small.
  const include = ['attn_q.weight', 'attn_k.weight', 'attn_v.weight'];
  return { family: { name, architecture: 'llama', shape: decoderShape, include, keys: { pooling_type: u32(poolingNumber[pooling]) } }, vocabulary: 'tok512', pooling, types };
}

export const EMBEDDING_CASES: readonly EmbeddingCase[] = [
  bertCase('bert-mean', 'mean', ['F32', 'Q8_0']),
  bertCase('bert-cls', 'cls', ['Q8_0']),
  nomicCase('nomic-bert-mean', 'mean', ['F32', 'Q8_0']),
  decoderCase('llama-mean', 'mean', ['F32', 'Q8_0']),
  decoderCase('llama-last', 'last', ['Q8_0']),
];

/**
 * BGE's WordPiece vocabulary cut down to what the texts need, so a committed file stays small: ids 0..103
 * unchanged ([PAD] 0, [UNK] 100, [CLS] 101, [SEP] 102, [MASK] 103, the defaults llama.cpp and our tokenizer
 * use), then every single-character piece below U+0250 (word-initial and continuation forms) and every piece
 * the full vocabulary uses for the texts. llama.cpp tokenizes the pruned file with the same WPM algorithm.
 */
export async function prunedBertVocabulary(): Promise<Array<[string, MetadataValue]>> {
  const dir = mkdtempSync(join(tmpdir(), 'smallmind-bge-'));
  try {
    const path = join(dir, 'bge.gguf');
    writeFileSync(path, gunzipSync(readFileSync(bgeVocabSource)));
    const file = await readGguf(path);
    try {
      const entries = [...file.metadata.entries].filter(([key]) => key.startsWith('tokenizer.')) as Array<[string, MetadataValue]>;
      const tokens = file.metadata.getArray('tokenizer.ggml.tokens', MetadataValueType.STRING).values as string[];
      const types = file.metadata.getArray('tokenizer.ggml.token_type', MetadataValueType.INT32).values as number[];
      const full = createTokenizer(new ModelMetadata(entries));
      const keep = new Set<number>(Array.from({ length: 104 }, (_, i) => i));
      tokens.forEach((piece, id) => {
        const bare = piece.startsWith('\u2581') ? piece.slice(1) : piece;
        if ([...bare].length === 1 && bare.codePointAt(0)! < 0x250) keep.add(id);
      });
      for (const text of BERT_TEXTS) for (const id of full.encode(text)) keep.add(id);
      const ids = [...keep].sort((a, b) => a - b);
      const replaced = new Map<string, MetadataValue>([
        ['tokenizer.ggml.tokens', { type: MetadataValueType.ARRAY, value: { elementType: MetadataValueType.STRING, values: ids.map((id) => tokens[id]!) } }],
        ['tokenizer.ggml.token_type', { type: MetadataValueType.ARRAY, value: { elementType: MetadataValueType.INT32, values: ids.map((id) => types[id]!) } }],
      ]);
      return entries.map(([key, value]) => [key, replaced.get(key) ?? value]);
    } finally {
      await file.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** node-llama-cpp's answer for one text, as committed. */
export interface RecordedEmbedding {
  readonly text: string;
  readonly tokens: number[];
  /** Pooled, not normalised (llama_get_embeddings_seq). */
  readonly embedding: number[];
}

export interface EmbeddingFixture {
  readonly source: string;
  readonly architecture: string;
  readonly type: string;
  readonly pooling: EmbedPooling;
  readonly texts: RecordedEmbedding[];
}

export interface EmbeddingComparison {
  readonly tokensMatch: boolean;
  readonly cosine: number;
  readonly maxAbsDiff: number;
}

/** Our embedding of one text against node-llama-cpp's (like for like: the file's pooling, not normalised). */
export function compareEmbedding(model: Model, reference: RecordedEmbedding): EmbeddingComparison {
  const tokens = model.tokenizer.encode(reference.text);
  const tokensMatch = tokens.length === reference.tokens.length && tokens.every((t, i) => t === reference.tokens[i]);
  const { vector } = model.embed(reference.tokens, { normalize: false });
  let maxAbsDiff = vector.length === reference.embedding.length ? 0 : Infinity;
  for (let i = 0; i < vector.length; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(vector[i]! - reference.embedding[i]!));
  return { tokensMatch, cosine: cosineSimilarity(vector, reference.embedding), maxAbsDiff };
}

/** The committed fixtures: `<stem>.gguf` + `<stem>.nlc.json`. */
export function committedEmbeddingFixtures(): Array<{ stem: string; gguf: string; fixture: EmbeddingFixture }> {
  if (!existsSync(embeddingFixtureDir)) return [];
  return readdirSync(embeddingFixtureDir)
    .filter((f) => f.endsWith('.nlc.json'))
    .sort()
    .map((f) => {
      const stem = f.slice(0, -'.nlc.json'.length);
      return { stem, gguf: join(embeddingFixtureDir, `${stem}.gguf`), fixture: JSON.parse(readFileSync(join(embeddingFixtureDir, f), 'utf8')) as EmbeddingFixture };
    });
}

/* eslint-disable @typescript-eslint/no-explicit-any -- node-llama-cpp is loaded from outside the repo, untyped */
async function nodeLlamaCppEmbeddings(nlcDir: string, gguf: string, texts: readonly string[], contextSize: number): Promise<RecordedEmbedding[]> {
  const entry = join(nlcDir, 'node_modules/node-llama-cpp/dist/index.js');
  const nlc: any = await import(pathToFileURL(entry).href);
  const llama = await nlc.getLlama({ gpu: false, logLevel: 'error' });
  // llama-ref's settings (F32 KV, flash attention off): node-llama-cpp's defaults (F16 KV, flash attention
  // auto) round K and V to half precision, which alone moves Q8_0 embeddings by up to 2e-4 in cosine.
  const model = await llama.loadModel({ modelPath: gguf, defaultContextFlashAttention: false, experimentalDefaultContextKvCacheKeyType: 'F32', experimentalDefaultContextKvCacheValueType: 'F32' });
  const context = await model.createEmbeddingContext({ contextSize, threads: 1 });
  try {
    const out: RecordedEmbedding[] = [];
    for (const text of texts) {
      // The tokens getEmbeddingFor evaluates: tokenize without specials, then its own BOS/CLS and EOS/SEP.
      const tokens: number[] = model.tokenize(text, false);
      context._prepareInput(tokens);
      const embedding = await context.getEmbeddingFor(text);
      out.push({ text, tokens: [...tokens], embedding: [...embedding.vector] });
    }
    return out;
  } finally {
    await context.dispose();
    await model.dispose();
  }
}
/* eslint-enable @typescript-eslint/no-explicit-any */

interface Row {
  readonly stem: string;
  readonly architecture: string;
  readonly pooling: string;
  readonly results: readonly EmbeddingComparison[];
}

function renderDoc(rows: readonly Row[]): string {
  const lines = [
    '# Embeddings: SmallMind vs llama.cpp (node-llama-cpp 3.21.1)',
    '',
    `Generated by \`pnpm conformance:embeddings\` (packages/engine/scripts/embeddings-diff.ts) on ${new Date().toISOString().slice(0, 10)}.`,
    'Each file is a seeded random-weight model written by our own GGUF writer: `bert` and `nomic-bert` on a pruned BGE',
    'WordPiece vocabulary, `llama` (a decoder with `llama.pooling_type`) on stories260K\'s tok512 vocabulary. node-llama-cpp',
    '3.21.1 (llama.cpp release v0.4.0, CPU, 1 thread) embeds each text with `createEmbeddingContext().getEmbeddingFor(text)`,',
    'which returns llama.cpp\'s pooled vector (the file\'s pooling type) without normalisation; SmallMind runs',
    '`model.embed(tokens, { normalize: false })` on the same tokens (GGUF -> SMQ -> Model, WASM kernels). Both vectors',
    'are compared like for like. Requirement: identical tokens, cosine > 0.9999 per text. The files and vectors are',
    'committed in `fixtures/embeddings/` and re-checked by default CI (`src/conformance/embeddings.test.ts`).',
    'node-llama-cpp runs with llama-ref\'s settings (F32 KV cache, flash attention off); its defaults (F16 KV, flash',
    'attention auto) alone move these vectors by up to 2e-4 in cosine. bert evaluates GELU as llama.cpp\'s CPU backend',
    'does (an fp16 table); with the exact tanh GELU the bert Q8_0 vectors were up to 1.4e-4 off in cosine (0.99986).',
    'Max |diff| is float noise (~1e-6) except where a last-bit difference of a GELU input crosses an fp16 rounding',
    'boundary of that table, which moves one element by an fp16 step and the vector by up to ~1e-4 (bert-mean-F32).',
    '',
    '| file | architecture | pooling | texts | tokens match | min cosine | max (1 - cosine) | max \\|diff\\| | result |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const row of rows) {
    const minCosine = Math.min(...row.results.map((r) => r.cosine));
    const maxDiff = Math.max(...row.results.map((r) => r.maxAbsDiff));
    const tokens = row.results.every((r) => r.tokensMatch);
    const pass = tokens && minCosine > 0.9999;
    lines.push(`| ${row.stem} | ${row.architecture} | ${row.pooling} | ${row.results.length} | ${tokens ? 'yes' : 'NO'} | ${minCosine.toFixed(7)} | ${Math.max(0, 1 - minCosine).toExponential(1)} | ${maxDiff.toExponential(2)} | ${pass ? 'pass' : 'FAIL'} |`);
  }
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<void> {
  const nlcDir = process.env.NLC_DIR ?? '/tmp/llama-ref/nlc';
  if (!existsSync(join(nlcDir, 'node_modules/node-llama-cpp'))) {
    console.error(`node-llama-cpp not found in ${nlcDir}: run ../shared/tools/llama-ref/build.sh /tmp/llama-ref (installs node-llama-cpp 3.21.1 into /tmp/llama-ref/nlc), or set NLC_DIR`);
    process.exitCode = 2;
    return;
  }
  const workDir = mkdtempSync(join(tmpdir(), 'smallmind-embeddings-'));
  mkdirSync(embeddingFixtureDir, { recursive: true });
  const bertVocabulary = await prunedBertVocabulary();
  const rows: Row[] = [];
  try {
    for (const embeddingCase of EMBEDDING_CASES) {
      const texts = embeddingCase.vocabulary === 'bert-pruned' ? BERT_TEXTS : DECODER_TEXTS;
      for (const label of embeddingCase.types) {
        const typeCase = TYPE_CASES.find((t) => t.label === label)!;
        const stem = `${embeddingCase.family.name}-${label}`;
        const gguf = join(embeddingFixtureDir, `${stem}.gguf`);
        const vocabulary = embeddingCase.vocabulary === 'bert-pruned' ? bertVocabulary : undefined;
        const family = vocabulary === undefined ? embeddingCase.family : { ...embeddingCase.family, shape: { ...embeddingCase.family.shape, vocabSize: bertVocabulary.length } };
        await writeFamilyGguf(family, typeCase, gguf, vocabulary);
        const recorded = await nodeLlamaCppEmbeddings(nlcDir, gguf, texts, family.shape.contextLength);
        const fixture: EmbeddingFixture = { source: 'node-llama-cpp 3.21.1 createEmbeddingContext().getEmbeddingFor(text)', architecture: family.architecture, type: label, pooling: embeddingCase.pooling, texts: recorded };
        writeFileSync(join(embeddingFixtureDir, `${stem}.nlc.json`), `${JSON.stringify(fixture)}\n`);
        const model = await loadForComparison(gguf, workDir, stem);
        try {
          const results = recorded.map((r) => compareEmbedding(model, r));
          rows.push({ stem, architecture: family.architecture, pooling: embeddingCase.pooling, results });
          console.log(`${stem}: ${results.map((r) => `cos ${r.cosine.toFixed(7)} Δ ${r.maxAbsDiff.toExponential(2)}${r.tokensMatch ? '' : ' TOKENS DIFFER'}`).join('; ')}`);
        } finally {
          await model.dispose();
        }
      }
    }
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
  writeFileSync(docPath, renderDoc(rows));
  const failed = rows.filter((r) => !r.results.every((x) => x.tokensMatch && x.cosine > 0.9999));
  console.log(`wrote ${docPath}: ${rows.length} files, ${failed.length} failing`);
  if (failed.length > 0) process.exitCode = 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
