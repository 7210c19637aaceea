/**
 * Tokenizer conformance against llama.cpp: its `test-tokenizer-0` vectors (`ggml-vocab-*.gguf.inp/.out`,
 * tokenized with add_special = false, parse_special = false) and the stories260K prompts of the reference
 * JSON (BOS included). The default suite uses the repo's vendored fixtures; the full suite walks every
 * vocabulary in ../shared/fixtures/vocab when that folder exists. WordPiece (bert-bge) lowercases and strips
 * accents, so its vectors are checked without the round trip.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { readGguf } from '@smallmind/io-gguf';
import { createTokenizer, type Tokenizer } from '@smallmind/runtime';
import { afterAll, describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
const repoFixtures = join(repoRoot, 'fixtures');
const sharedFixtures = join(repoRoot, '..', 'shared', 'fixtures');

const scratch = mkdtempSync(join(tmpdir(), 'smallmind-vocab-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** A gzipped vocab GGUF, unpacked to a scratch file and opened with the project's GGUF reader. */
async function loadVocab(gzPath: string): Promise<Tokenizer> {
  const path = join(scratch, `${gzPath.split('/').pop() ?? 'vocab'}.gguf`);
  writeFileSync(path, gunzipSync(readFileSync(gzPath)));
  const gguf = await readGguf(path);
  try {
    return createTokenizer(gguf.metadata);
  } finally {
    await gguf.close();
  }
}

interface Vector {
  readonly input: string;
  readonly expected: readonly number[];
}

/**
 * Reads `.inp` / `.out` the way llama.cpp's test-tokenizer-0 does: inputs are separated by
 * "\n__ggml_vocab_test__\n" (a final separator ends the list), one line of ids per input, each line
 * trimmed; an empty line means no tokens.
 */
function readVectors(base: string): Vector[] {
  const raw = strictUtf8.decode(readFileSync(`${base}.inp`));
  const separator = '\n__ggml_vocab_test__\n';
  const inputs: string[] = [];
  for (let pos = 0; pos < raw.length; ) {
    const next = raw.indexOf(separator, pos);
    if (next < 0) {
      inputs.push(raw.slice(pos));
      break;
    }
    inputs.push(raw.slice(pos, next));
    pos = next + separator.length;
  }
  const lines = readFileSync(`${base}.out`, 'utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  if (lines.length !== inputs.length) throw new Error(`${base}: ${inputs.length} inputs but ${lines.length} output lines`);
  return inputs.map((input, i) => ({
    input,
    expected: (lines[i] as string)
      .trim()
      .split(' ')
      .filter((s) => s.length > 0)
      .map(Number),
  }));
}

/** Runs every vector; returns the mismatches (empty = all pass) and logs "passed / total". */
function checkVectors(name: string, tok: Tokenizer, vectors: readonly Vector[]): string[] {
  const failures: string[] = [];
  for (const { input, expected } of vectors) {
    const got = tok.encode(input, { addBos: false, addEos: false, addSep: false, parseSpecial: false });
    if (got.join(' ') !== expected.join(' ')) failures.push(`${JSON.stringify(input)}: expected [${expected.join(' ')}] got [${got.join(' ')}]`);
  }
  console.log(`${name}: ${vectors.length - failures.length}/${vectors.length} vectors match llama.cpp`);
  return failures;
}

/** WordPiece normalizes (lowercase, no accents, no control characters): its text does not come back. */
const roundTrips = (name: string) => !name.includes('bert');

/** decode(encode(x)) must give x back for every vector input. */
function roundTripFailures(tok: Tokenizer, vectors: readonly Vector[]): string[] {
  return vectors
    .map(({ input }) => ({ input, back: tok.decode(tok.encode(input, { addBos: false, addEos: false, addSep: false })) }))
    .filter(({ input, back }) => back !== input)
    .map(({ input, back }) => `${JSON.stringify(input)} came back as ${JSON.stringify(back)}`);
}

describe('tokenizer vectors (vendored fixtures)', () => {
  it.each(['ggml-vocab-llama-spm', 'ggml-vocab-gpt-2', 'ggml-vocab-bert-bge'])('%s: every llama.cpp vector matches (and round-trips)', async (name) => {
    const base = join(repoFixtures, 'vocab', `${name}.gguf`);
    const tok = await loadVocab(`${base}.gz`);
    const vectors = readVectors(base);
    expect(vectors.length).toBeGreaterThan(40);
    expect(checkVectors(name, tok, vectors)).toEqual([]);
    if (roundTrips(name)) expect(roundTripFailures(tok, vectors)).toEqual([]);
  });

  describe('stories260K prompts (SPM from a real model file)', () => {
    const modelPath = join(repoFixtures, 'stories260K', 'stories260K-F32.gguf');
    const ref = JSON.parse(readFileSync(join(repoFixtures, 'stories260K', 'stories260K-F32.ref.json'), 'utf8')) as {
      bos_token_id: number;
      eos_token_id: number;
      add_bos: boolean;
      prompts: Array<{ prompt: string; tokens: number[]; token_pieces_hex: string[]; greedy_tokens: number[]; greedy_text: string }>;
    };
    const open = async () => {
      const gguf = await readGguf(modelPath);
      try {
        return createTokenizer(gguf.metadata);
      } finally {
        await gguf.close();
      }
    };

    it('has the reference special ids and BOS default', async () => {
      const tok = await open();
      expect(tok.kind).toBe('spm');
      expect(tok.bosId).toBe(ref.bos_token_id);
      expect(tok.eosId).toBe(ref.eos_token_id);
      expect(tok.addBos).toBe(ref.add_bos);
      expect(tok.isEndOfGeneration(ref.eos_token_id)).toBe(true);
    });

    it.each(ref.prompts.map((p, i) => [i, p] as const))('prompt %i: tokens (BOS included) and pieces equal llama.cpp', async (_i, p) => {
      const tok = await open();
      expect(tok.encode(p.prompt)).toEqual(p.tokens);
      const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
      expect(p.tokens.map((id) => hex(tok.tokenToPieceBytes(id)))).toEqual(p.token_pieces_hex);
      expect(tok.decode(p.tokens, { skipSpecial: true })).toBe(p.prompt);
    });

    it.each(ref.prompts.map((p, i) => [i, p] as const))('prompt %i: streaming the greedy tokens gives llama.cpp greedy text', async (_i, p) => {
      const tok = await open();
      const stream = tok.createStreamDecoder();
      const text = p.greedy_tokens.map((id) => stream.push(id)).join('') + stream.flush();
      expect(text).toBe(p.greedy_text);
    });
  });
});

const sharedVocab = join(sharedFixtures, 'vocab');
const sharedNames = existsSync(sharedVocab)
  ? readdirSync(sharedVocab)
      .filter((f) => f.endsWith('.gguf.inp'))
      .map((f) => f.slice(0, -'.gguf.inp'.length))
      .sort()
  : [];

describe.skipIf(!existsSync(sharedVocab))('tokenizer vectors (every vocabulary in ../shared/fixtures/vocab)', () => {
  it('covers the first-class vocabularies', () => {
    for (const name of ['ggml-vocab-llama-bpe', 'ggml-vocab-qwen2', 'ggml-vocab-gemma-4', 'ggml-vocab-llama-spm', 'ggml-vocab-bert-bge']) expect(sharedNames).toContain(name);
  });

  it.each(sharedNames)('%s: every llama.cpp vector matches (and round-trips)', async (name) => {
    const base = join(sharedVocab, `${name}.gguf`);
    const tok = await loadVocab(`${base}.gz`);
    const vectors = readVectors(base);
    expect(vectors.length).toBeGreaterThan(40);
    expect(checkVectors(name, tok, vectors)).toEqual([]);
    if (roundTrips(name)) expect(roundTripFailures(tok, vectors)).toEqual([]);
  });
});
