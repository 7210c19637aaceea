/**
 * Parity with llama.cpp: imports each llama GGUF fixture to SMQ, loads it, runs the three prompts
 * of its NAME.ref.json and compares last-position logits and greedy continuations with the
 * references. The conformance test (src/conformance/parity.test.ts) asserts on these measurements;
 * run as a script (`pnpm --filter @smallmind/engine parity`) it writes docs/parity.md.
 *
 * Tolerances (fixtures README §6; the numbers behind them are in docs/parity.md):
 * - `preserveQuantization: true` on a non-F32 file: we quantize activations like llama.cpp, so the
 *   reference is `f32_kv_cache`, within QUANTIZED_RANGE_FRACTION of the prompt's logit range.
 * - Everything else (F32 files; any file with `preserveQuantization: false`, i.e. float math on
 *   the dequantized weights, against `exact_f64`): FLOAT_LOGIT_TOLERANCE absolute.
 * Greedy tokens must agree up to the first step whose reference margin is below the tolerance
 * (F32 files: all of them).
 */
import { closeSync, existsSync, fsyncSync, mkdtempSync, openSync, readFileSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { importGgufToSmq } from '@smallmind/io-gguf';
import { Sampler, SmqModelLoader, silentLogger, type Model } from '@smallmind/runtime';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
/** The 5 MB subset vendored in the repository (always present). */
export const vendoredFixtureDir = join(repoRoot, 'fixtures');
/** The full workplace fixture set next to the repository (optional). */
export const sharedFixtureDir = resolve(repoRoot, '../shared/fixtures');
export const parityDocPath = join(repoRoot, 'docs/parity.md');

/**
 * Float math (F32 files, or any file with `preserveQuantization: false`) against a float reference:
 * only float32-vs-float64 rounding separates us, as README §6 suggests for F32 files.
 */
export const FLOAT_LOGIT_TOLERANCE = 1e-4;
/**
 * Activation-quantized math against llama.cpp's `f32_kv_cache`, as a fraction of the prompt's logit
 * range (max - min). One activation rounding that lands on the other side of a .5 boundary moves
 * the logits by 0.1-0.9; llama.cpp's own batch-vs-sequential evaluation of the same prompt, which
 * differs only in kernel summation order, moves them by up to 0.97 % of the range over the 87
 * quantized/F16/BF16 prompt runs. Our kernels differ from llama.cpp's in the same way, so that
 * envelope is the tolerance.
 */
export const QUANTIZED_RANGE_FRACTION = 0.01;
/** Runs this close to the activation-quantized reference count as bit-level emulations. */
export const EMULATION_MATCH_TOLERANCE = 1e-4;

/** The fields of NAME.ref.json this harness reads (fixtures README §5). */
export interface ReferencePrompt {
  readonly prompt: string;
  readonly tokens: number[];
  readonly greedy_tokens: number[];
  readonly greedy_text: string;
  readonly greedy_margin: number[];
  readonly batch_vs_sequential_prompt_max_abs_diff: number;
  readonly f32_kv_cache: { readonly last_logits: number[]; readonly greedy_tokens: number[]; readonly max_abs_diff_vs_default: number };
  readonly exact_f64: { readonly last_logits: number[]; readonly greedy_tokens: number[]; readonly greedy_margin: number[] };
}

export interface Reference {
  readonly file: string;
  readonly tensors: ReadonlyArray<{ readonly name: string; readonly type: string }>;
  readonly metadata: Record<string, { readonly value?: unknown }>;
  readonly prompts: ReferencePrompt[];
}

export interface ParityFixture {
  /** File name without `.gguf`, e.g. `stories260K-Q4_0`. */
  readonly name: string;
  /** `general.architecture` of the file. */
  readonly architecture: string;
  readonly ggufPath: string;
  readonly reference: Reference;
  /** Every tensor is F32: the tight tolerance and full greedy agreement apply. */
  readonly allF32: boolean;
}

/** `quantized`: `preserveQuantization: true` (vs `f32_kv_cache`); `float`: `false` (vs `exact_f64`). */
export type ParityMode = 'quantized' | 'float';

export interface PromptParity {
  readonly prompt: string;
  /** Our tokenization of the prompt (BOS added), to compare with the reference `tokens`. */
  readonly tokens: number[];
  readonly tokensMatch: boolean;
  readonly maxDiffF32Kv: number;
  readonly maxDiffExact: number;
  /** Max |logit diff| against the reference this mode is held to. */
  readonly maxDiff: number;
  readonly tolerance: number;
  readonly greedy: number[];
  /** `greedy` decoded by the model's tokenizer. */
  readonly greedyText: string;
  readonly referenceGreedy: number[];
  /** Leading greedy tokens identical to the reference. */
  readonly agreed: number;
  /** Leading greedy tokens that must be identical (margin rule). */
  readonly required: number;
  readonly passed: boolean;
}

export interface FixtureParity {
  readonly fixture: ParityFixture;
  readonly mode: ParityMode;
  readonly prompts: PromptParity[];
}

function readReference(path: string): Reference {
  return JSON.parse(readFileSync(path, 'utf8')) as Reference;
}

/** The fixture folders: llama (stories260K, synthetic) and the other architectures (arch, README §9). */
export const FIXTURE_FOLDERS = ['stories260K', 'synthetic', 'arch'] as const;

/**
 * Every model fixture (GGUF with its NAME.ref.json) under `root`'s `folders`, any architecture.
 * `architecture` in the result comes from the reference's metadata.
 */
export function modelFixtures(root: string, folders: readonly string[] = FIXTURE_FOLDERS): ParityFixture[] {
  const fixtures: ParityFixture[] = [];
  for (const family of folders) {
    const dir = join(root, family);
    if (!existsSync(dir)) continue;
    for (const file of readdirSync(dir).sort()) {
      if (!file.endsWith('.gguf')) continue;
      const refPath = join(dir, file.replace(/\.gguf$/, '.ref.json'));
      if (!existsSync(refPath)) continue;
      const reference = readReference(refPath);
      fixtures.push({
        name: file.replace(/\.gguf$/, ''),
        architecture: String(reference.metadata['general.architecture']?.value),
        ggufPath: join(dir, file),
        reference,
        allF32: reference.tensors.every((t) => t.type === 'f32'),
      });
    }
  }
  return fixtures;
}

export function logitRange(logits: readonly number[]): number {
  return Math.max(...logits) - Math.min(...logits);
}

/** The logit tolerance of one prompt in one mode (see the file comment). */
export function logitTolerance(fixture: ParityFixture, prompt: ReferencePrompt, mode: ParityMode): number {
  if (fixture.allF32 || mode === 'float') return FLOAT_LOGIT_TOLERANCE;
  return QUANTIZED_RANGE_FRACTION * logitRange(prompt.f32_kv_cache.last_logits);
}

/**
 * Leading greedy steps that must agree: all of them for F32 fixtures; otherwise up to the first
 * step whose reference margin is below the tolerance. `f32_kv_cache` has no margins of its own,
 * so the default run's margins stand in for them while both runs chose the same tokens.
 */
export function requiredGreedyAgreement(fixture: ParityFixture, prompt: ReferencePrompt, mode: ParityMode, tolerance: number): number {
  const reference = mode === 'quantized' ? prompt.f32_kv_cache.greedy_tokens : prompt.exact_f64.greedy_tokens;
  if (fixture.allF32) return reference.length;
  for (let step = 0; step < reference.length; step++) {
    const margin = mode === 'quantized' ? prompt.greedy_margin[step] : prompt.exact_f64.greedy_margin[step];
    if (margin === undefined || margin < tolerance) return step;
    if (mode === 'quantized' && prompt.greedy_tokens[step] !== reference[step]) return step;
  }
  return reference.length;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

function commonPrefix(a: readonly number[], b: readonly number[]): number {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
}

/**
 * Runs one prompt: the reference prompt tokens go through the model in one batch (the tokenizer's
 * own output is compared separately), then greedy decoding for as many steps as the reference.
 */
export function measurePrompt(model: Model, fixture: ParityFixture, prompt: ReferencePrompt, mode: ParityMode): PromptParity {
  const { tokenizer } = model;
  const tokens = tokenizer.encode(prompt.prompt, { addBos: true });
  const referenceGreedy = mode === 'quantized' ? prompt.f32_kv_cache.greedy_tokens : prompt.exact_f64.greedy_tokens;
  const session = model.createSession();
  const logits = session.evaluate(prompt.tokens);
  const maxDiffF32Kv = maxAbsDiff(logits, prompt.f32_kv_cache.last_logits);
  const maxDiffExact = maxAbsDiff(logits, prompt.exact_f64.last_logits);
  const greedySampler = new Sampler({ temperature: 0 });
  const greedy: number[] = [];
  let next = logits;
  while (greedy.length < referenceGreedy.length) {
    const token = greedySampler.sample(next);
    greedy.push(token);
    if (tokenizer.isEndOfGeneration(token) || greedy.length === referenceGreedy.length) break;
    next = session.evaluate([token]);
  }
  session.dispose();
  const tolerance = logitTolerance(fixture, prompt, mode);
  // F32 files may match either reference (README §6); otherwise the mode picks the reference.
  const maxDiff = fixture.allF32 ? Math.min(maxDiffF32Kv, maxDiffExact) : mode === 'quantized' ? maxDiffF32Kv : maxDiffExact;
  const required = requiredGreedyAgreement(fixture, prompt, mode, tolerance);
  const agreed = commonPrefix(greedy, referenceGreedy);
  const tokensMatch = tokens.length === prompt.tokens.length && commonPrefix(tokens, prompt.tokens) === tokens.length;
  return {
    prompt: prompt.prompt,
    tokens,
    tokensMatch,
    maxDiffF32Kv,
    maxDiffExact,
    maxDiff,
    tolerance,
    greedy,
    greedyText: tokenizer.decode(greedy),
    referenceGreedy,
    agreed,
    required,
    passed: tokensMatch && maxDiff <= tolerance && agreed >= required,
  };
}

/** Imports `fixture` to SMQ in `workDir` once (reused by later calls) and returns the SMQ path. */
export async function smqFor(fixture: ParityFixture, workDir: string): Promise<string> {
  const smqPath = join(workDir, `${fixture.name}.smq`);
  if (!existsSync(smqPath)) await importGgufToSmq(fixture.ggufPath, smqPath);
  return smqPath;
}

export async function measureFixture(fixture: ParityFixture, mode: ParityMode, workDir: string): Promise<FixtureParity> {
  // The loader's default backend: the WebAssembly kernels the runtime uses by default.
  const loaded = await SmqModelLoader.loadFromSmq(await smqFor(fixture, workDir), { preserveQuantization: mode === 'quantized', logger: silentLogger });
  try {
    return { fixture, mode, prompts: fixture.reference.prompts.map((prompt) => measurePrompt(loaded, fixture, prompt, mode)) };
  } finally {
    await loaded.dispose();
  }
}

function percent(fraction: number): string {
  return `${(100 * fraction).toFixed(2)} %`;
}

/**
 * The numbers behind the tolerances, measured on this run and read from the references: how far
 * float math lands from float64, how often activation-quantized runs reproduce llama.cpp exactly
 * and how far the others land, against how far llama.cpp moves under its own kernel-order changes.
 */
function toleranceRationale(results: readonly FixtureParity[]): string[] {
  const floatRuns = results.filter((r) => r.mode === 'float' || r.fixture.allF32).flatMap((r) => r.prompts.map((p) => p.maxDiffExact));
  const quantized = results.filter((r) => r.mode === 'quantized' && !r.fixture.allF32);
  const quantizedRuns = quantized.flatMap((r) => r.prompts.map((p, i) => ({ diff: p.maxDiffF32Kv, range: logitRange(r.fixture.reference.prompts[i]!.f32_kv_cache.last_logits) })));
  const emulated = quantizedRuns.filter((q) => q.diff <= EMULATION_MATCH_TOLERANCE).length;
  const flipped = quantizedRuns.filter((q) => q.diff > EMULATION_MATCH_TOLERANCE);
  const worstFlip = Math.max(0, ...flipped.map((q) => q.diff / q.range));
  const references = quantized.flatMap((r) => r.fixture.reference.prompts);
  const envelope = (pick: (p: ReferencePrompt) => number): number => Math.max(0, ...references.map((p) => pick(p) / logitRange(p.f32_kv_cache.last_logits)));
  const floatVsLlama = references.map((p) => maxAbsDiff(p.exact_f64.last_logits, p.f32_kv_cache.last_logits) / logitRange(p.f32_kv_cache.last_logits)).sort((x, y) => x - y);
  const median = floatVsLlama[Math.floor(floatVsLlama.length / 2)] ?? 0;
  return [
    `- Float math differs from a float64 pass only by float32 rounding: at most ${formatDiff(Math.max(0, ...floatRuns))} over the`,
    `  ${floatRuns.length} float-math runs here, so ${FLOAT_LOGIT_TOLERANCE} (README §6) leaves room without hiding a real error.`,
    `- With activation quantization, ${emulated} of ${quantizedRuns.length} runs on non-F32 files reproduce llama.cpp's \`f32_kv_cache\``,
    `  logits within ${EMULATION_MATCH_TOLERANCE} (bit-level emulation of its arithmetic). The other ${flipped.length} land up to ${percent(worstFlip)} of the`,
    '  range away: somewhere an activation fell on the other side of an int8/fp16 rounding boundary because our',
    "  float summation order differs from llama.cpp's SIMD kernels in the last bits. One flipped int8 rounding moves",
    '  the logits by 0.1-0.5 (an fp16/bf16 one by less); jittering our own matmul inputs by 4 ulp produces jumps of',
    '  the same size.',
    `- llama.cpp itself moves by up to ${percent(envelope((p) => p.batch_vs_sequential_prompt_max_abs_diff))} of the range between batched and token-by-token`,
    `  evaluation of the same prompt (same math, other kernel order; F16 instead of F32 K/V: ${percent(envelope((p) => p.f32_kv_cache.max_abs_diff_vs_default))}).`,
    `  ${percent(QUANTIZED_RANGE_FRACTION)} of the range is that envelope. On a single run it cannot tell emulated from float arithmetic`,
    `  (\`exact_f64\` sits ${percent(median)} of the range from llama.cpp in the median), so the conformance test also requires`,
    `  that most quantized runs match within ${EMULATION_MATCH_TOLERANCE}, which float math never does.`,
  ];
}

function formatDiff(value: number): string {
  return value < 1e-3 ? value.toExponential(1) : value.toFixed(3);
}

/** docs/parity.md: a header on the tolerances and one row per fixture x prompt. */
export function renderParityMarkdown(results: readonly FixtureParity[], fixtureRoot: string): string {
  const byFixture = new Map<string, { quantized?: FixtureParity; float?: FixtureParity }>();
  for (const r of results) {
    const entry = byFixture.get(r.fixture.name) ?? {};
    entry[r.mode] = r;
    byFixture.set(r.fixture.name, entry);
  }
  const lines = [
    '# Parity with llama.cpp',
    '',
    `Written by \`pnpm --filter @smallmind/engine parity\` (packages/engine/scripts/parity-report.ts) from the model`,
    `fixtures in \`${relative(repoRoot, fixtureRoot) || '.'}\` (llama: stories260K, synthetic; qwen2, qwen3, gemma3, gpt2: arch/): each GGUF is imported to SMQ, loaded with`,
    '`SmqModelLoader` with its default kernels (`@smallmind/quantization-kernels`, WebAssembly SIMD), and run on the',
    'three prompts of its `NAME.ref.json` (fixtures README §5). Logits are those of',
    'the last prompt position; greedy = 32 new tokens (fewer if the reference stopped at end of generation).',
    '',
    '## References and tolerances',
    '',
    '- **quantized** = `preserveQuantization: true`: weights stay in their file format and every matmul quantizes its',
    "  activations to the weight type's partner (Q8_0/Q8_1/Q8_K/F16/BF16) as llama.cpp does, so the reference is",
    `  llama.cpp's \`f32_kv_cache\` run (our KV cache is F32 too). Tolerance: ${QUANTIZED_RANGE_FRACTION} x the prompt's reference logit`,
    '  range (max - min), i.e. about 0.28 for stories260K and 0.6 for the synthetic model.',
    '- **float** = `preserveQuantization: false`: every weight is dequantized to F32 and multiplied in float, so the',
    '  reference is `exact_f64` (a float64 forward pass over the same dequantized weights, no activation rounding).',
    `  Tolerance: ${FLOAT_LOGIT_TOLERANCE} absolute, the same as for F32 files (which may match either reference).`,
    '- Greedy tokens (32, fewer if the reference stopped at end of generation) must agree with the reference of the',
    "  mode up to the first step whose reference margin (chosen minus runner-up logit) is below that run's",
    '  tolerance; F32 files must agree on all of them. Past a smaller margin a difference within the tolerance may',
    "  legitimately pick the other token and the sequences part ways. `f32_kv_cache` has no margins of its own, so",
    "  llama.cpp's default-run margins stand in while both llama.cpp runs chose the same tokens.",
    '',
    '### How the tolerances were chosen',
    '',
    ...toleranceRationale(results),
    '',
    '## Results',
    '',
    '| fixture | prompt | tokens | quantized: Δ f32_kv | quantized: Δ exact_f64 | quantized: tol | quantized: greedy agree / required | float: Δ exact_f64 | float: tol | float: greedy agree / required | pass |',
    '|---|---|---|---:|---:|---:|---|---:|---:|---|---|',
  ];
  for (const [name, { quantized, float }] of byFixture) {
    const count = Math.max(quantized?.prompts.length ?? 0, float?.prompts.length ?? 0);
    for (let i = 0; i < count; i++) {
      const q = quantized?.prompts[i];
      const f = float?.prompts[i];
      const p = q ?? f!;
      const label = p.prompt.length > 24 ? `${p.prompt.slice(0, 24)}…` : p.prompt;
      lines.push(
        [
          name,
          `${i + 1}: ${label.replace(/\|/g, '\\|')}`,
          p.tokensMatch ? `= (${p.tokens.length})` : 'DIFFER',
          q ? formatDiff(q.maxDiffF32Kv) : '',
          q ? formatDiff(q.maxDiffExact) : '',
          q ? formatDiff(q.tolerance) : '',
          q ? `${q.agreed} / ${q.required}` : '',
          f ? formatDiff(f.maxDiffExact) : '',
          f ? formatDiff(f.tolerance) : '',
          f ? `${f.agreed} / ${f.required}` : '',
          (q?.passed ?? true) && (f?.passed ?? true) ? 'yes' : '**NO**',
        ].join(' | ').replace(/^/, '| ').replace(/$/, ' |'),
      );
    }
  }
  const all = results.flatMap((r) => r.prompts);
  lines.push('', `Summary: ${all.filter((p) => p.passed).length} of ${all.length} prompt runs pass.`, '');
  lines.push(
    '## Families without a shared fixture',
    '',
    'Every supported architecture (gemma2, phi3, granite and smollm3 have no fixture above) is also checked by the',
    'differential harness against llama.cpp on random-weight files: see [parity-families.md](parity-families.md)',
    '(`pnpm conformance`; its F32 and Q8_0 files are re-checked in CI).',
    '',
    'GELU (gpt2, gemma): we evaluate the exact tanh form; llama.cpp\'s CPU GELU reads an fp16 table, which moves the',
    'F32 logits by ~0.005-0.01, so gpt2-F32 and gemma3-F32 are held to `exact_f64`.',
    '',
  );
  return lines.join('\n');
}

/** Writes `text` to `path` atomically: temp file in the same directory, fsync, rename, fsync the directory. */
export function writeFileAtomic(path: string, text: string): void {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const fd = openSync(temp, 'w');
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
  const dirFd = openSync(dirname(path), 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}

async function main(): Promise<void> {
  const root = existsSync(sharedFixtureDir) ? sharedFixtureDir : vendoredFixtureDir;
  const fixtures = modelFixtures(root);
  const workDir = mkdtempSync(join(tmpdir(), 'smallmind-parity-'));
  const results: FixtureParity[] = [];
  try {
    for (const fixture of fixtures) {
      for (const mode of ['quantized', 'float'] as const) {
        const started = performance.now();
        const result = await measureFixture(fixture, mode, workDir);
        results.push(result);
        const summary = result.prompts.map((p) => `Δ ${formatDiff(p.maxDiff)} (tol ${formatDiff(p.tolerance)}) greedy ${p.agreed}/${p.required}${p.passed ? '' : ' FAIL'}`).join('; ');
        console.log(`${fixture.name} ${mode}: ${summary} [${((performance.now() - started) / 1000).toFixed(1)} s]`);
      }
    }
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
  writeFileAtomic(parityDocPath, renderParityMarkdown(results, root));
  const failed = results.flatMap((r) => r.prompts.filter((p) => !p.passed).map((p) => `${r.fixture.name} ${r.mode} "${p.prompt.slice(0, 20)}"`));
  console.log(`wrote ${relative(process.cwd(), parityDocPath)}: ${results.length / 2} fixtures, ${failed.length} failing prompt runs${failed.length ? `: ${failed.join(', ')}` : ''}`);
  if (failed.length > 0) process.exitCode = 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  await main();
}
