/**
 * Differential harness for the architectures without a shared fixture (and, as a cross-check, those with
 * one): writes small random-weight GGUFs per family with our own io-gguf writer (the one random-model
 * builder of @smallmind/runtime, the tok512 vocabulary of stories260K so prompts tokenize to real pieces),
 * has llama.cpp run them (`llama-ref` from ../shared/tools/llama-ref: node-llama-cpp 3.21.1's libllama,
 * CPU, 1 thread, flash attention off, F32 KV), and compares our logits and greedy tokens.
 *
 *   pnpm conformance            # needs /tmp/llama-ref/llama-ref (see docs/parity.md), writes docs/parity-families.md
 *
 * The files marked `commit` (<= 1 MB each) are written with their llama.cpp outputs to fixtures/families/, and
 * src/conformance/families.test.ts checks them in default CI without llama.cpp.
 *
 * Tolerances (fixtures README §6, §9): F32 weights, plain float math against llama.cpp's F32-KV logits:
 * 1e-3 absolute, except the GELU families (gpt2, gemma2, gemma3), where llama.cpp's CPU GELU is an fp16
 * lookup table and an exact GELU differs by up to a few hundredths: 5e-2. Quantized weights (activations
 * quantized as llama.cpp does): 1 % of the prompt's logit range. Greedy tokens must agree up to the first
 * step whose reference margin is below the tolerance.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { importGgufToSmq, readGguf, writeGguf, type GgufTensorWithData } from '@smallmind/io-gguf';
import type { MetadataValue } from '@smallmind/io-smq';
import { GgmlType, ggmlTypeInfo, quantize, type GgmlTypeId } from '@smallmind/quantization-tensors';
import {
  Sampler,
  SmqModelLoader,
  architectureByName,
  randomModelMetadata,
  randomModelTensors,
  silentLogger,
  supportedArchitectures,
  u32,
  f32,
  type Model,
  type RandomModelShape,
} from '@smallmind/runtime';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const familyFixtureDir = join(repoRoot, 'fixtures/families');
export const familiesDocPath = join(repoRoot, 'docs/parity-families.md');
const vocabSource = join(repoRoot, 'fixtures/stories260K/stories260K-F32.gguf');

/** The three prompts of the shared fixtures (README §5). */
export const PROMPTS = [
  'Once upon a time',
  'Lily and Ben were best friends. One day, they went to the park to play with a ball. Lily threw the ball high in the sky and Ben',
  'Tom had 3 red apples and a café 🍎. He',
] as const;

export interface FamilyCase {
  /** File stem, e.g. `phi3-fused`. */
  readonly name: string;
  readonly architecture: string;
  readonly shape: RandomModelShape;
  readonly keys?: Readonly<Record<string, MetadataValue>>;
  readonly include?: readonly string[];
  /** Uses GELU (llama.cpp evaluates it through an fp16 table). */
  readonly gelu?: boolean;
}

const small: RandomModelShape = { vocabSize: 512, embeddingLength: 64, feedForwardLength: 128, headCount: 4, headCountKv: 2, blockCount: 2, contextLength: 128 };
const splitQkv = ['attn_q.weight', 'attn_k.weight', 'attn_v.weight'];

/** One or more cases per supported family, each exercising what sets it apart. */
const ALL_FAMILY_CASES: readonly FamilyCase[] = [
  { name: 'llama-untied', architecture: 'llama', shape: small, include: [...splitQkv, 'output.weight'] },
  { name: 'llama-ropefreqs', architecture: 'llama', shape: small, include: [...splitQkv, 'rope_freqs.weight'], keys: { 'rope.freq_base': f32(500000) } },
  { name: 'qwen2-bias', architecture: 'qwen2', shape: small, include: [...splitQkv, 'attn_q.bias', 'attn_k.bias', 'attn_v.bias'], keys: { 'rope.freq_base': f32(1e6) } },
  { name: 'qwen3-keylength', architecture: 'qwen3', shape: { ...small, headDim: 32 }, include: splitQkv },
  { name: 'gemma2-swa', architecture: 'gemma2', shape: { ...small, headCountKv: 1 }, include: splitQkv, keys: { 'attention.sliding_window': u32(16) }, gelu: true },
  {
    name: 'gemma3-swa',
    architecture: 'gemma3',
    shape: { ...small, headCountKv: 1 },
    include: splitQkv,
    keys: { 'attention.sliding_window': u32(16), 'attention.sliding_window_pattern': u32(2), 'rope.freq_base': f32(1e6), 'rope.freq_base_swa': f32(10000), final_logit_softcapping: f32(30) },
    gelu: true,
  },
  { name: 'gpt2-learnedpos', architecture: 'gpt2', shape: { ...small, headCountKv: 4 }, include: ['attn_qkv.weight', 'attn_qkv.bias', 'output.weight'], gelu: true },
  { name: 'phi3-fused', architecture: 'phi3', shape: { ...small, headCountKv: 4 }, include: ['attn_qkv.weight'] },
  {
    name: 'granite-scales',
    architecture: 'granite',
    shape: small,
    include: splitQkv,
    keys: { logit_scale: f32(4), residual_scale: f32(0.5), embedding_scale: f32(6), 'attention.scale': f32(0.2) },
  },
  { name: 'smollm3-nope', architecture: 'smollm3', shape: { ...small, blockCount: 4 }, include: splitQkv },
];

/** Every case, or those whose name contains $FAMILY_FILTER (a harness run for one family). */
export const FAMILY_CASES: readonly FamilyCase[] = ALL_FAMILY_CASES.filter((c) => process.env.FAMILY_FILTER === undefined || c.name.includes(process.env.FAMILY_FILTER));

export interface TypeCase {
  readonly label: string;
  /** Type of the 2-D weights (rows that do not fit its blocks stay F32). */
  readonly type: GgmlTypeId;
  /** Shape override (k-quants need rows of 256). */
  readonly wide?: boolean;
  /** Written to fixtures/families/ for default CI. */
  readonly commit: boolean;
}

export const TYPE_CASES: readonly TypeCase[] = [
  { label: 'F32', type: GgmlType.F32, commit: true },
  { label: 'Q8_0', type: GgmlType.Q8_0, commit: true },
  { label: 'Q4_K', type: GgmlType.Q4_K, wide: true, commit: false },
];

function widen(shape: RandomModelShape): RandomModelShape {
  const headDim = shape.headDim === undefined ? undefined : shape.headDim * 4;
  return { ...shape, embeddingLength: 256, feedForwardLength: 512, ...(headDim === undefined ? {} : { headDim }) };
}

/** The tokenizer entries of stories260K's tok512 vocabulary. */
async function vocabularyEntries(): Promise<Array<[string, MetadataValue]>> {
  const file = await readGguf(vocabSource);
  try {
    return [...file.metadata.entries].filter(([key]) => key.startsWith('tokenizer.')) as Array<[string, MetadataValue]>;
  } finally {
    await file.close();
  }
}

/** Writes the GGUF of one case x type; returns its path. */
export async function writeFamilyGguf(familyCase: FamilyCase, typeCase: TypeCase, path: string, vocabulary?: ReadonlyArray<readonly [string, MetadataValue]>): Promise<void> {
  const shape = typeCase.wide === true ? widen(familyCase.shape) : familyCase.shape;
  const metadata = randomModelMetadata(familyCase.architecture, shape, { ...(familyCase.keys === undefined ? {} : { keys: familyCase.keys }), vocabulary: vocabulary ?? (await vocabularyEntries()) });
  const raw = randomModelTensors(metadata, 20261204, familyCase.include === undefined ? {} : { include: familyCase.include });
  const block = ggmlTypeInfo(typeCase.type).blockSize;
  const tensors: GgufTensorWithData[] = [...raw].map(([name, t]) => {
    const type = t.shape.length === 2 && t.shape[0]! % block === 0 && !name.startsWith('position_embd') && !name.startsWith('token_types') ? typeCase.type : GgmlType.F32;
    const data = type === GgmlType.F32 ? new Uint8Array(t.values.buffer, t.values.byteOffset, t.values.byteLength) : quantize(type, t.values);
    return { name, type, shape: t.shape, data };
  });
  await writeGguf(path, { metadata, tensors, overwrite: true });
}

/** llama-ref's output for one prompt (F32 KV run). */
export interface LlamaRefPrompt {
  readonly tokens: number[];
  readonly last_logits: number[];
  readonly greedy_tokens: number[];
  readonly greedy_margin: number[];
}

export interface LlamaRefOutput {
  readonly runs: { readonly f16: LlamaRefPrompt[]; readonly f32: LlamaRefPrompt[] };
}

export function runLlamaRef(llamaRef: string, gguf: string, workDir: string): LlamaRefOutput {
  const prompts = join(workDir, 'prompts.txt');
  writeFileSync(prompts, `${PROMPTS.join('\n')}\n`);
  const out = execFileSync(llamaRef, ['run', gguf, prompts], { maxBuffer: 256 * 2 ** 20, stdio: ['ignore', 'pipe', 'pipe'] });
  return JSON.parse(out.toString('utf8')) as LlamaRefOutput;
}

export interface FamilyPromptResult {
  readonly tokensMatch: boolean;
  readonly maxDiff: number;
  readonly tolerance: number;
  readonly agreed: number;
  readonly required: number;
  readonly steps: number;
  readonly passed: boolean;
}

export function familyTolerance(gelu: boolean, quantized: boolean, reference: LlamaRefPrompt): number {
  if (quantized) return 0.01 * (Math.max(...reference.last_logits) - Math.min(...reference.last_logits));
  return gelu ? 5e-2 : 1e-3;
}

/** Our run of one prompt against llama.cpp's F32-KV reference. */
export function compareFamilyPrompt(model: Model, prompt: string, reference: LlamaRefPrompt, tolerance: number): FamilyPromptResult {
  const tokens = model.tokenizer.encode(prompt);
  const tokensMatch = tokens.length === reference.tokens.length && tokens.every((t, i) => t === reference.tokens[i]);
  const session = model.createSession();
  try {
    let logits = session.evaluate(reference.tokens);
    let maxDiff = 0;
    for (let i = 0; i < logits.length; i++) maxDiff = Math.max(maxDiff, Math.abs(logits[i]! - reference.last_logits[i]!));
    const sampler = new Sampler({ temperature: 0 });
    const greedy: number[] = [];
    while (greedy.length < reference.greedy_tokens.length) {
      const token = sampler.sample(logits);
      greedy.push(token);
      if (model.tokenizer.isEndOfGeneration(token) || greedy.length === reference.greedy_tokens.length) break;
      logits = session.evaluate([token]);
    }
    let agreed = 0;
    while (agreed < greedy.length && greedy[agreed] === reference.greedy_tokens[agreed]) agreed++;
    let required = reference.greedy_tokens.length;
    for (let step = 0; step < reference.greedy_margin.length; step++) {
      if (reference.greedy_margin[step]! < 2 * tolerance) {
        required = step;
        break;
      }
    }
    return { tokensMatch, maxDiff, tolerance, agreed, required, steps: reference.greedy_tokens.length, passed: tokensMatch && maxDiff <= tolerance && agreed >= required };
  } finally {
    session.dispose();
  }
}

export async function loadForComparison(gguf: string, workDir: string, stem: string): Promise<Model> {
  const smq = join(workDir, `${stem}.smq`);
  if (!existsSync(smq)) await importGgufToSmq(gguf, smq);
  return SmqModelLoader.loadFromSmq(smq, { logger: silentLogger });
}

export interface FamilyRow {
  readonly name: string;
  readonly architecture: string;
  readonly type: string;
  readonly results: readonly FamilyPromptResult[];
}

function renderDoc(rows: readonly FamilyRow[]): string {
  const lines = [
    '# Differential parity: random-weight models of every supported family vs llama.cpp',
    '',
    `Generated by \`pnpm conformance\` (packages/engine/scripts/families.ts) on ${new Date().toISOString().slice(0, 10)}: each file is a`,
    'seeded random model written by our own GGUF writer (tok512 vocabulary of stories260K), run by llama.cpp through',
    '`llama-ref` (node-llama-cpp 3.21.1\'s libllama, release v0.4.0 / 80fb11a, CPU, 1 thread, flash attention off, F32 KV) and by',
    'SmallMind (GGUF -> SMQ -> Model -> Session, WASM kernels). Three prompts each (fixtures README §5), 32 greedy tokens.',
    'Tolerance: F32 1e-3 (GELU families 5e-2: llama.cpp\'s CPU GELU is an fp16 table, ours is the exact tanh form);',
    'quantized 1 % of the logit range. Greedy: tokens must agree up to the first step whose reference margin is under',
    'twice the tolerance. The F32 and Q8_0 files are committed in `fixtures/families/` and re-checked by default CI.',
    '',
    '| family | case | weights | max \\|logit diff\\| (3 prompts) | tolerance | greedy agreement | result |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const row of rows) {
    const diffs = row.results.map((r) => r.maxDiff.toExponential(2)).join(' / ');
    const tol = Math.max(...row.results.map((r) => r.tolerance)).toExponential(1);
    const greedy = row.results.map((r) => `${r.agreed}/${r.steps}`).join(', ');
    lines.push(`| ${row.architecture} | ${row.name} | ${row.type} | ${diffs} | ${tol} | ${greedy} | ${row.results.every((r) => r.passed) ? 'pass' : 'FAIL'} |`);
  }
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<void> {
  const llamaRef = process.env.LLAMA_REF ?? ensureLlamaRef();
  if (!existsSync(llamaRef)) {
    console.error(`llama-ref not found at ${llamaRef}: build it with ../shared/tools/llama-ref/build.sh <dir> (installs node-llama-cpp 3.21.1 there), or set LLAMA_REF`);
    process.exitCode = 2;
    return;
  }
  const covered = new Set(ALL_FAMILY_CASES.map((c) => c.architecture));
  // Encoders have no logits: scripts/embeddings-diff.ts covers them.
  const missing = supportedArchitectures().filter((a) => !covered.has(a) && architectureByName(a).embeddingOnly !== true);
  if (missing.length > 0) throw new Error(`no differential case for: ${missing.join(', ')}`);
  const workDir = join(tmpdir(), `smallmind-families-${process.pid}`);
  mkdirSync(workDir, { recursive: true });
  mkdirSync(familyFixtureDir, { recursive: true });
  const rows: FamilyRow[] = [];
  for (const familyCase of FAMILY_CASES) {
    for (const typeCase of TYPE_CASES) {
      const stem = `${familyCase.name}-${typeCase.label}`;
      const gguf = typeCase.commit ? join(familyFixtureDir, `${stem}.gguf`) : join(workDir, `${stem}.gguf`);
      await writeFamilyGguf(familyCase, typeCase, gguf);
      const reference = runLlamaRef(llamaRef, gguf, workDir);
      if (typeCase.commit) writeFileSync(join(familyFixtureDir, `${stem}.llama-ref.json`), `${JSON.stringify(referenceFixture(familyCase, typeCase, reference))}\n`);
      const model = await loadForComparison(gguf, workDir, stem);
      try {
        const results = PROMPTS.map((prompt, i) => {
          const ref = reference.runs.f32[i]!;
          return compareFamilyPrompt(model, prompt, ref, familyTolerance(familyCase.gelu === true, typeCase.type !== GgmlType.F32, ref));
        });
        rows.push({ name: familyCase.name, architecture: familyCase.architecture, type: typeCase.label, results });
        console.log(`${stem}: ${results.map((r) => `Δ ${r.maxDiff.toExponential(2)} greedy ${r.agreed}/${r.required}${r.passed ? '' : ' FAIL'}`).join('; ')}`);
      } finally {
        await model.dispose();
      }
    }
  }
  writeFileSync(familiesDocPath, renderDoc(rows));
  const failed = rows.filter((r) => !r.results.every((p) => p.passed));
  console.log(`wrote ${familiesDocPath}: ${rows.length} files, ${failed.length} failing`);
  if (failed.length > 0) process.exitCode = 1;
}

/**
 * llama-ref in a folder of its own (never the default install): an existing /tmp/llama-ref build, else the
 * workplace's build script (../shared/tools/llama-ref/build.sh: node-llama-cpp exactly 3.21.1, ~700 MB) into
 * $LLAMA_REF_DIR or /tmp/llama-ref.
 */
function ensureLlamaRef(): string {
  const dir = process.env.LLAMA_REF_DIR ?? '/tmp/llama-ref';
  const wrapper = join(dir, 'llama-ref');
  if (existsSync(wrapper)) return wrapper;
  const script = resolve(repoRoot, '../shared/tools/llama-ref/build.sh');
  if (!existsSync(script)) return wrapper;
  console.log(`building llama-ref into ${dir} (node-llama-cpp 3.21.1; takes a few minutes the first time)`);
  execFileSync('bash', [script, dir], { stdio: 'inherit' });
  return wrapper;
}

/** What a committed fixture keeps: provenance and llama.cpp's F32-KV run. */
export interface FamilyFixture {
  readonly case: string;
  readonly architecture: string;
  readonly type: string;
  readonly gelu: boolean;
  readonly produced_by: string;
  readonly prompts: readonly string[];
  readonly f32_kv: readonly LlamaRefPrompt[];
}

function referenceFixture(familyCase: FamilyCase, typeCase: TypeCase, reference: LlamaRefOutput): FamilyFixture {
  return {
    case: familyCase.name,
    architecture: familyCase.architecture,
    type: typeCase.label,
    gelu: familyCase.gelu === true,
    produced_by:
      'packages/engine/scripts/families.ts (random weights, seed 20261204, our GGUF writer); reference: llama-ref (../shared/tools/llama-ref) = node-llama-cpp 3.21.1 libllama (llama.cpp v0.4.0, 80fb11a), CPU, 1 thread, flash attention off, F32 KV, n_ctx 512',
    prompts: PROMPTS,
    f32_kv: reference.runs.f32.map((r) => ({ tokens: r.tokens, last_logits: r.last_logits, greedy_tokens: r.greedy_tokens, greedy_margin: r.greedy_margin })),
  };
}

/** Committed fixtures (GGUF + reference) in fixtures/families/. */
export function committedFamilyFixtures(): Array<{ readonly stem: string; readonly gguf: string; readonly fixture: FamilyFixture }> {
  if (!existsSync(familyFixtureDir)) return [];
  return FAMILY_CASES.flatMap((c) =>
    TYPE_CASES.filter((t) => t.commit).flatMap((t) => {
      const stem = `${c.name}-${t.label}`;
      const json = join(familyFixtureDir, `${stem}.llama-ref.json`);
      if (!existsSync(json)) return [];
      return [{ stem, gguf: join(familyFixtureDir, `${stem}.gguf`), fixture: JSON.parse(readFileSync(json, 'utf8')) as FamilyFixture }];
    }),
  );
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  await main();
}
