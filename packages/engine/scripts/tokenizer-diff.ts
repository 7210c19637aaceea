/**
 * Differential tokenizer harness: our tokenizer against llama.cpp's, for every BPE pre-tokenizer name
 * we accept, for WPM (BERT), and for the per-file flags (add_bos / add_eos).
 *
 * For each `tokenizer.ggml.pre` name it writes a vocab-only GGUF with our io-gguf writer (a real
 * vocabulary from the fixtures with only the pre name replaced), tokenizes strings that exercise the
 * splits with llama.cpp (node-llama-cpp 3.21.1 = llama.cpp release v0.4.0, `model.tokenize(text, false)`:
 * add_special = false, parse_special = false) and with ours, and reports every difference. `--write`
 * records llama.cpp's ids in fixtures/vocab/tokenizer-pre.json, which the conformance test
 * (src/conformance/tokenizer-pre.test.ts) checks without llama.cpp.
 *
 *   ../shared/tools/llama-ref/build.sh /tmp/llama-ref        # installs node-llama-cpp into /tmp/llama-ref/nlc
 *   npx tsx packages/engine/scripts/tokenizer-diff.ts --oracle /tmp/llama-ref/nlc [--write] [--only name,...]
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { readGguf, writeGguf } from '@smallmind/io-gguf';
import type { ModelMetadata } from '@smallmind/io-smq';
import { createTokenizer, supportedPreTokenizers, type Tokenizer } from '@smallmind/runtime';
import { type Overrides, preOverrides, TEXTS, withBoundaryPairs, withOverrides } from './tokenizer-cases.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const vocabDirs = [join(repoRoot, 'fixtures', 'vocab'), resolve(repoRoot, '../shared/fixtures/vocab')];
const expectedPath = join(repoRoot, 'fixtures', 'vocab', 'tokenizer-pre.json');

/** Vocabulary every pre-tokenizer name is tried with (vendored, so the test runs in default CI). */
const BPE_BASE = 'gpt-2';
const WPM_BASE = 'bert-bge';

interface OracleModel {
  tokenize(text: string, specialTokens?: boolean): number[];
  readonly tokens: { readonly bos: number | null; readonly eos: number | null; readonly sep: number | null; readonly shouldPrependBosToken: boolean; readonly shouldAppendEosToken: boolean };
  dispose(): Promise<void>;
}
interface OracleLlama {
  loadModel(options: { modelPath: string; vocabOnly: boolean }): Promise<OracleModel>;
}

/** What llama.cpp says about one vocabulary file: ids per text, then the special-token flags. */
interface Observation {
  readonly ids: string[];
  readonly flags: Flags;
}
interface Flags {
  readonly bos: number | null;
  readonly eos: number | null;
  readonly addBos: boolean;
  readonly addEos: boolean;
}

/** The recorded expectations (fixtures/vocab/tokenizer-pre.json). */
export interface PreTokenizerExpectations {
  readonly source: string;
  readonly texts: readonly string[];
  /**
   * The BPE base vocabulary, the distinct id rows, and per pre name its metadata overrides and its rows on
   * the base vocabulary (`plain`) and on the base plus boundary pairs (`boundary`, see withBoundaryPairs).
   */
  readonly bpe: {
    readonly vocab: string;
    readonly outputs: ReadonlyArray<readonly string[]>;
    readonly pre: Readonly<Record<string, { readonly overrides: Overrides; readonly plain: number; readonly boundary: number }>>;
  };
  readonly wpm: { readonly vocab: string; readonly ids: readonly string[]; readonly flags: Flags };
  /** Metadata overrides on the BPE base and llama.cpp's resulting flags. */
  readonly flagCases: ReadonlyArray<{ readonly overrides: Overrides; readonly flags: Flags }>;
}

/** Flag cases: a pre name (and its defaults) with add_bos / add_eos overridden per file. */
const FLAG_CASES: readonly Overrides[] = [
  { 'tokenizer.ggml.pre': 'gpt-2' },
  { 'tokenizer.ggml.pre': 'gpt-2', 'tokenizer.ggml.add_bos_token': true, 'tokenizer.ggml.add_eos_token': true },
  { 'tokenizer.ggml.pre': 'llama3' },
  { 'tokenizer.ggml.pre': 'llama3', 'tokenizer.ggml.add_bos_token': false },
  { 'tokenizer.ggml.pre': 'tekken', 'tokenizer.ggml.add_eos_token': true },
  { 'tokenizer.ggml.pre': 'chameleon' },
  { 'tokenizer.ggml.pre': 'chatglm-bpe' },
  { 'tokenizer.ggml.pre': 'gemma4', 'tokenizer.ggml.add_bos_token': false },
];

function vocabPath(name: string): string {
  const found = vocabDirs.map((d) => join(d, `ggml-vocab-${name}.gguf.gz`)).find((p) => existsSync(p));
  if (found === undefined) throw new Error(`ggml-vocab-${name}.gguf.gz is in neither ${vocabDirs.join(' nor ')}`);
  return found;
}

async function readVocabMetadata(name: string, scratch: string): Promise<ModelMetadata> {
  const path = join(scratch, `${name}.gguf`);
  writeFileSync(path, gunzipSync(readFileSync(vocabPath(name))));
  const gguf = await readGguf(path);
  try {
    return gguf.metadata;
  } finally {
    await gguf.close();
  }
}

/** Writes the vocab-only GGUF and returns our tokenizer as read back from it (the full file path). */
async function writeVariant(md: ModelMetadata, path: string): Promise<Tokenizer> {
  await writeGguf(path, { metadata: md, tensors: [], overwrite: true });
  const gguf = await readGguf(path);
  try {
    return createTokenizer(gguf.metadata);
  } finally {
    await gguf.close();
  }
}

async function observe(llama: OracleLlama, path: string, texts: readonly string[]): Promise<Observation> {
  const model = await llama.loadModel({ modelPath: path, vocabOnly: true });
  try {
    const t = model.tokens;
    return {
      ids: texts.map((text) => [...model.tokenize(text, false)].join(' ')),
      flags: { bos: t.bos, eos: t.eos, addBos: t.shouldPrependBosToken, addEos: t.shouldAppendEosToken },
    };
  } finally {
    await model.dispose();
  }
}

function ours(tok: Tokenizer, texts: readonly string[]): Observation {
  return {
    ids: texts.map((text) => tok.encode(text, { addBos: false, addEos: false, addSep: false, parseSpecial: false }).join(' ')),
    flags: { bos: tok.bosId ?? null, eos: tok.eosId ?? null, addBos: tok.addBos, addEos: tok.addEos },
  };
}

/** Human-readable differences between llama.cpp's and our observation (empty = identical). */
function differences(label: string, texts: readonly string[], theirs: Observation, mine: Observation, compareFlags: boolean): string[] {
  const out: string[] = [];
  texts.forEach((text, i) => {
    if (theirs.ids[i] !== mine.ids[i]) out.push(`${label} ${JSON.stringify(text)}: llama.cpp [${theirs.ids[i]}] ours [${mine.ids[i]}]`);
  });
  if (compareFlags && JSON.stringify(theirs.flags) !== JSON.stringify(mine.flags)) out.push(`${label} flags: llama.cpp ${JSON.stringify(theirs.flags)} ours ${JSON.stringify(mine.flags)}`);
  return out;
}

function parseArgs(argv: readonly string[]): { oracle: string; write: boolean; only: string[] | undefined } {
  let oracle = '/tmp/llama-ref/nlc';
  let write = false;
  let only: string[] | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--oracle') oracle = argv[++i] ?? oracle;
    else if (arg === '--write') write = true;
    else if (arg === '--only') only = (argv[++i] ?? '').split(',').filter((s) => s.length > 0);
    else throw new Error(`unknown argument ${arg} (usage: tokenizer-diff.ts [--oracle DIR] [--write] [--only name,...])`);
  }
  return { oracle, write, only };
}

async function main(): Promise<void> {
  const { oracle, write, only } = parseArgs(process.argv.slice(2));
  if (write && only !== undefined) throw new Error('--write records every name; drop --only');
  const entry = join(oracle, 'node_modules', 'node-llama-cpp', 'dist', 'index.js');
  if (!existsSync(entry)) throw new Error(`node-llama-cpp not found at ${entry}: run ../shared/tools/llama-ref/build.sh ${dirname(oracle)}`);
  const { getLlama } = (await import(pathToFileURL(entry).href)) as { getLlama(o: object): Promise<OracleLlama> };
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' });

  const scratch = mkdtempSync(join(tmpdir(), 'smallmind-tokdiff-'));
  const problems: string[] = [];
  try {
    const base = await readVocabMetadata(BPE_BASE, scratch);
    const boundaryBase = withBoundaryPairs(base, TEXTS);
    const names = only ?? supportedPreTokenizers();
    const outputs: string[][] = [];
    const rowOf = (ids: string[]) => {
      const key = JSON.stringify(ids);
      const index = outputs.findIndex((row) => JSON.stringify(row) === key);
      return index >= 0 ? index : outputs.push(ids) - 1;
    };
    const pre: Record<string, { overrides: Overrides; plain: number; boundary: number }> = {};
    for (const name of names) {
      const overrides = preOverrides(name);
      const rows: number[] = [];
      const diffs: string[] = [];
      for (const [label, vocab] of [['plain', base], ['boundary', boundaryBase]] as const) {
        const path = join(scratch, `pre-${name}-${label}.gguf`);
        const tok = await writeVariant(withOverrides(vocab, overrides), path);
        const theirs = await observe(llama, path, TEXTS);
        diffs.push(...differences(`${name} (${label})`, TEXTS, theirs, ours(tok, TEXTS), true));
        rows.push(rowOf(theirs.ids));
      }
      problems.push(...diffs);
      console.log(`${name.padEnd(26)} ${diffs.length === 0 ? 'same' : `${diffs.length} differences`}`);
      pre[name] = { overrides, plain: rows[0] as number, boundary: rows[1] as number };
    }

    const bert = await readVocabMetadata(WPM_BASE, scratch);
    const bertPath = join(scratch, 'wpm.gguf');
    const wpmTok = await writeVariant(bert, bertPath);
    const wpm = await observe(llama, bertPath, TEXTS);
    const wpmDiff = differences('wpm', TEXTS, wpm, ours(wpmTok, TEXTS), true);
    problems.push(...wpmDiff);
    console.log(`${'WPM (bert-bge)'.padEnd(26)} ${wpmDiff.length === 0 ? 'same' : `${wpmDiff.length} differences`}`);

    const flagCases: Array<{ overrides: Overrides; flags: Flags }> = [];
    for (const [i, overrides] of FLAG_CASES.entries()) {
      const path = join(scratch, `flags-${i}.gguf`);
      const tok = await writeVariant(withOverrides(base, overrides), path);
      const theirs = await observe(llama, path, []);
      const diff = differences(`flags ${JSON.stringify(overrides)}`, [], theirs, ours(tok, []), true);
      problems.push(...diff);
      flagCases.push({ overrides, flags: theirs.flags });
    }
    console.log(`${'flag cases'.padEnd(26)} ${FLAG_CASES.length} checked`);

    if (write) {
      const expected: PreTokenizerExpectations = {
        source: 'llama.cpp release v0.4.0 (commit 80fb11a) through node-llama-cpp 3.21.1: model.tokenize(text, false), vocab-only GGUFs written by packages/engine/scripts/tokenizer-diff.ts',
        texts: TEXTS,
        bpe: { vocab: `ggml-vocab-${BPE_BASE}.gguf.gz`, outputs, pre },
        wpm: { vocab: `ggml-vocab-${WPM_BASE}.gguf.gz`, ids: wpm.ids, flags: wpm.flags },
        flagCases,
      };
      writeFileSync(expectedPath, `${JSON.stringify(expected, null, 1)}\n`);
      console.log(`wrote ${expectedPath} (${outputs.length} distinct outputs over ${names.length} names)`);
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  for (const p of problems) console.log(p);
  console.log(problems.length === 0 ? 'no differences' : `${problems.length} differences`);
  process.exitCode = problems.length === 0 ? 0 : 1;
}

await main();
