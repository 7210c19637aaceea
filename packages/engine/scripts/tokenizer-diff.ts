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
import { ModelMetadata, type MetadataValue } from '@smallmind/io-smq';
import { createTokenizer, supportedPreTokenizers, type Tokenizer } from '@smallmind/runtime';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const vocabDirs = [join(repoRoot, 'fixtures', 'vocab'), resolve(repoRoot, '../shared/fixtures/vocab')];
const expectedPath = join(repoRoot, 'fixtures', 'vocab', 'tokenizer-pre.json');

/** Vocabulary every pre-tokenizer name is tried with (vendored, so the test runs in default CI). */
const BPE_BASE = 'gpt-2';
const WPM_BASE = 'bert-bge';

/** Strings that exercise the split rules: one family of cases per line. */
const TEXTS: readonly string[] = [
  'Hello world',
  ' leading space and trailing   ',
  'a  b   c    d\t\te',
  'a' + ' '.repeat(20) + 'b' + ' '.repeat(40) + 'c',
  'line1\nline2\n\n  indented\r\nwindows\r\n\n\n',
  "I'm you're he'll we've she'd it's don't",
  "IT'S WE'LL YOU'RE I'M 'S 'Ll 'rE 'x",
  '1 12 123 1234 12345 1234567 3.14159 1,000,000',
  'abc12345def x1y22z333 2024-12-04 v1.2.3',
  '\u0663\u0664\u0665 \u0967\u0968\u0969 \u2460\u2461 \u216B \u00B2\u00BD',
  '\u4F60\u597D\u4E16\u754C\uFF0C\u8FD9\u662F\u4E00\u4E2A\u6D4B\u8BD5\u3002',
  '\u65E5\u672C\u8A9E\u306E\u30C6\u30AD\u30B9\u30C8\u3001\u30AB\u30BF\u30AB\u30CA',
  '\uD55C\uAD6D\uC5B4 \uD14D\uC2A4\uD2B8 \u3131\u3134',
  '\u4E2D\u6587English\u6DF7\u5408123\u4E2Dabc',
  '\u{1F44D}\u{1F3FD} \u{1F1E9}\u{1F1EA} \u{1F636}\u200D\u{1F32B}\uFE0F family \u{1F468}\u200D\u{1F469}\u200D\u{1F467}',
  'caf\u00E9 na\u00EFve r\u00E9sum\u00E9 \u00C9COLE',
  'e\u0301 a\u0308 n\u0303o \u0915\u093F \u0E01\u0E31',
  '\u0395\u03BB\u03BB\u03B7\u03BD\u03B9\u03BA\u03AC \u041A\u0438\u0440\u0438\u043B\u043B\u0438\u0446\u0430 \u0436\u0416',
  'Hello, world! How are you? (Fine.) [ok] {x} <tag> a-b_c',
  '...!!!??? --- === +++ $$$ ~~~ ^^^ ||| ``` @@@ ###',
  '`code` "quotes" \'single\' \u201Ccurly\u201D \u2018s\u2019',
  'def foo(x):\n    return x**2  # comment\n\tpass\n',
  'http://example.com/path?q=1&r=2#frag',
  '\u00A0nbsp\u3000ideo\u2028ls\u0085nel\u200Bzw\uFEFFbom',
  '<sentinel:12> IMGIMGABCZ <|endoftext|> </s>',
  'HelloWorld camelCase XMLHttpRequest ABCdef iPhone',
  '\u0928\u092E\u0938\u094D\u0924\u0947 \u0926\u0941\u0928\u093F\u092F\u093E',
  '\u0E2A\u0E27\u0E31\u0E2A\u0E14\u0E35\u0E04\u0E23\u0E31\u0E1A \u0645\u0631\u062D\u0628\u0627 \u05E9\u05DC\u05D5\u05DD',
  '\uE000\u0378\u{10FFFD} \u0007\u001F\u007F',
  'Mixed:\u4F60\u597D,world!\u3002\uFF01\u2026\u2014\u3001 ok',
  "Don't stop\n\n\n\nbelievin'   \u00BFQu\u00E9?  \u00A1S\u00ED!",
  '   ',
  '\n',
  'x',
];

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
  /** The BPE base vocabulary, the distinct id rows, and per pre name its metadata overrides and row. */
  readonly bpe: {
    readonly vocab: string;
    readonly outputs: ReadonlyArray<readonly string[]>;
    readonly pre: Readonly<Record<string, { readonly overrides: Readonly<Record<string, string>>; readonly row: number }>>;
  };
  readonly wpm: { readonly vocab: string; readonly ids: readonly string[]; readonly flags: Flags };
  /** Metadata overrides on the BPE base and llama.cpp's resulting flags. */
  readonly flagCases: ReadonlyArray<{ readonly overrides: Readonly<Record<string, string | boolean>>; readonly flags: Flags }>;
}

/** Flag cases: a pre name (and its defaults) with add_bos / add_eos overridden per file. */
const FLAG_CASES: ReadonlyArray<Readonly<Record<string, string | boolean>>> = [
  { 'tokenizer.ggml.pre': 'gpt-2' },
  { 'tokenizer.ggml.pre': 'gpt-2', 'tokenizer.ggml.add_bos_token': true, 'tokenizer.ggml.add_eos_token': true },
  { 'tokenizer.ggml.pre': 'llama3' },
  { 'tokenizer.ggml.pre': 'llama3', 'tokenizer.ggml.add_bos_token': false },
  { 'tokenizer.ggml.pre': 'tekken', 'tokenizer.ggml.add_eos_token': true },
  { 'tokenizer.ggml.pre': 'chameleon' },
  { 'tokenizer.ggml.pre': 'chatglm-bpe' },
  { 'tokenizer.ggml.pre': 'gemma4', 'tokenizer.ggml.add_bos_token': false },
];

/**
 * The metadata change that selects a pre name. `whitespace` is only used with the `whitespace` tokenizer
 * model (llama.cpp's converter pins both; under `gpt2` llama.cpp aborts on any word with a space).
 */
function preOverrides(name: string): Record<string, string> {
  return name === 'whitespace' ? { 'tokenizer.ggml.pre': name, 'tokenizer.ggml.model': 'whitespace' } : { 'tokenizer.ggml.pre': name };
}

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

function metadataValue(v: string | boolean): MetadataValue {
  return typeof v === 'string' ? { type: 8, value: v } : { type: 7, value: v };
}

function withOverrides(md: ModelMetadata, overrides: Readonly<Record<string, string | boolean>>): ModelMetadata {
  const entries = new Map(md.entries);
  for (const [key, value] of Object.entries(overrides)) entries.set(key, metadataValue(value));
  return new ModelMetadata(entries);
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
    const names = only ?? supportedPreTokenizers();
    const outputs: string[][] = [];
    const pre: Record<string, { overrides: Record<string, string>; row: number }> = {};
    for (const name of names) {
      const path = join(scratch, `pre-${name}.gguf`);
      const overrides = preOverrides(name);
      const tok = await writeVariant(withOverrides(base, overrides), path);
      const theirs = await observe(llama, path, TEXTS);
      const diff = differences(name, TEXTS, theirs, ours(tok, TEXTS), true);
      problems.push(...diff);
      console.log(`${name.padEnd(26)} ${diff.length === 0 ? 'same' : `${diff.length} differences`}`);
      const key = JSON.stringify(theirs.ids);
      let index = outputs.findIndex((row) => JSON.stringify(row) === key);
      if (index < 0) index = outputs.push(theirs.ids) - 1;
      pre[name] = { overrides, row: index };
    }

    const bert = await readVocabMetadata(WPM_BASE, scratch);
    const bertPath = join(scratch, 'wpm.gguf');
    const wpmTok = await writeVariant(bert, bertPath);
    const wpm = await observe(llama, bertPath, TEXTS);
    const wpmDiff = differences('wpm', TEXTS, wpm, ours(wpmTok, TEXTS), true);
    problems.push(...wpmDiff);
    console.log(`${'WPM (bert-bge)'.padEnd(26)} ${wpmDiff.length === 0 ? 'same' : `${wpmDiff.length} differences`}`);

    const flagCases: Array<{ overrides: Readonly<Record<string, string | boolean>>; flags: Flags }> = [];
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
