/**
 * Every BPE pre-tokenizer name, WPM and the per-file tokenizer flags against llama.cpp, without llama.cpp:
 * fixtures/vocab/tokenizer-pre.json holds llama.cpp's ids (release v0.4.0 through node-llama-cpp 3.21.1)
 * recorded by packages/engine/scripts/tokenizer-diff.ts. That harness wrote, per `tokenizer.ggml.pre` name,
 * vocab-only GGUFs that are the vendored GPT-2 vocabulary with only the pre name replaced, as is and with
 * "boundary pairs" added (scripts/tokenizer-cases.ts: merges that expose every word boundary in the ids);
 * here the same metadata is derived in memory, so each name's split rules and flags are what differ.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { readGguf } from '@smallmind/io-gguf';
import type { ModelMetadata } from '@smallmind/io-smq';
import { createTokenizer, supportedPreTokenizers, TokenizerError } from '@smallmind/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Overrides, TEXTS, withBoundaryPairs, withOverrides } from '../../scripts/tokenizer-cases.js';

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
const vocabDir = join(repoRoot, 'fixtures', 'vocab');

interface Flags {
  readonly bos: number | null;
  readonly eos: number | null;
  readonly addBos: boolean;
  readonly addEos: boolean;
}
interface Expectations {
  readonly texts: readonly string[];
  readonly bpe: {
    readonly vocab: string;
    readonly outputs: ReadonlyArray<readonly string[]>;
    readonly pre: Readonly<Record<string, { readonly overrides: Overrides; readonly plain: number; readonly boundary: number }>>;
  };
  readonly wpm: { readonly vocab: string; readonly ids: readonly string[]; readonly flags: Flags };
  readonly flagCases: ReadonlyArray<{ readonly overrides: Overrides; readonly flags: Flags }>;
}

const expected = JSON.parse(readFileSync(join(vocabDir, 'tokenizer-pre.json'), 'utf8')) as Expectations;

const scratch = mkdtempSync(join(tmpdir(), 'smallmind-pre-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function vocabMetadata(file: string): Promise<ModelMetadata> {
  const path = join(scratch, file.replace(/\.gz$/, ''));
  writeFileSync(path, gunzipSync(readFileSync(join(vocabDir, file))));
  const gguf = await readGguf(path);
  try {
    return gguf.metadata;
  } finally {
    await gguf.close();
  }
}

const plain = { addBos: false, addEos: false, addSep: false, parseSpecial: false } as const;

describe('every BPE pre-tokenizer name against llama.cpp (GPT-2 vocabulary)', () => {
  let base: ModelMetadata;
  let boundary: ModelMetadata;
  beforeAll(async () => {
    base = await vocabMetadata(expected.bpe.vocab);
    boundary = withBoundaryPairs(base, expected.texts);
  });

  it('the recorded vectors cover exactly the names we accept, on the texts the harness uses', () => {
    expect(Object.keys(expected.bpe.pre).sort()).toEqual(supportedPreTokenizers().sort());
    expect(expected.texts).toEqual(TEXTS);
    // With boundary pairs the texts tell llama.cpp's rule families apart (one row each, about 30).
    expect(new Set(Object.values(expected.bpe.pre).map((p) => p.boundary)).size).toBeGreaterThan(25);
  });

  it.each(supportedPreTokenizers())('%s: every text tokenizes to llama.cpp ids (GPT-2 vocabulary, and with boundary pairs)', (name) => {
    const recorded = expected.bpe.pre[name];
    expect(recorded?.overrides['tokenizer.ggml.pre']).toBe(name);
    const failures: string[] = [];
    for (const [label, vocab, row] of [['plain', base, recorded?.plain], ['boundary', boundary, recorded?.boundary]] as const) {
      const ids = expected.bpe.outputs[row ?? -1] as readonly string[];
      const tok = createTokenizer(withOverrides(vocab, recorded?.overrides ?? {}));
      expected.texts.forEach((text, i) => {
        const got = tok.encode(text, plain).join(' ');
        if (got !== ids[i]) failures.push(`${label} ${JSON.stringify(text)}: llama.cpp [${ids[i]}] ours [${got}]`);
      });
    }
    expect(failures).toEqual([]);
  });

  it.each(expected.flagCases.map((c) => [JSON.stringify(c.overrides), c] as const))('flags %s: BOS/EOS ids and add_bos/add_eos equal llama.cpp', (_label, c) => {
    const tok = createTokenizer(withOverrides(base, c.overrides));
    expect({ bos: tok.bosId ?? null, eos: tok.eosId ?? null, addBos: tok.addBos, addEos: tok.addEos }).toEqual(c.flags);
    // The flags drive encode's defaults.
    const ids = tok.encode('Hello');
    const body = tok.encode('Hello', plain);
    expect(ids).toEqual([...(c.flags.addBos ? [c.flags.bos] : []), ...body, ...(c.flags.addEos ? [c.flags.eos] : [])]);
  });

  it('an unknown pre-tokenizer name fails with a typed error listing the supported ones', () => {
    let error: unknown;
    try {
      createTokenizer(withOverrides(base, { 'tokenizer.ggml.pre': 'qwen9' }));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TokenizerError);
    expect(error).toMatchObject({ code: 'UNSUPPORTED_PRE_TOKENIZER', field: 'tokenizer.ggml.pre' });
    expect((error as Error).message).toContain('"qwen9"');
    expect((error as Error).message).toContain('seed-coder');
  });
});

describe('WPM (BERT) against llama.cpp (bert-bge vocabulary)', () => {
  it('every text tokenizes to llama.cpp ids, and special tokens frame it as [CLS] ... [SEP]', async () => {
    const tok = createTokenizer(await vocabMetadata(expected.wpm.vocab));
    expect(tok.kind).toBe('wpm');
    expect({ bos: tok.bosId ?? null, eos: tok.eosId ?? null, addBos: tok.addBos, addEos: tok.addEos }).toEqual(expected.wpm.flags);
    const got = expected.texts.map((text) => tok.encode(text, plain).join(' '));
    const failures = expected.texts.flatMap((text, i) => (got[i] === expected.wpm.ids[i] ? [] : [`${JSON.stringify(text)}: llama.cpp [${expected.wpm.ids[i]}] ours [${got[i]}]`]));
    expect(failures).toEqual([]);
    const body = tok.encode('Hello world', plain);
    expect(tok.encode('Hello world')).toEqual([101, ...body, 102]);
  });
});
