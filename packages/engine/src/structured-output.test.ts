/**
 * Constrained decoding over real vocabularies: the trie-walk mask equals testing every token on its own, and
 * generation through the worker (random weights, temperature 1, many seeds) only ever produces text of the
 * grammar, ending with finishReason `stop`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ModelMetadata } from '@smallmind/io-smq';
import { createRng, createTokenizer, GrammarConstraint, GrammarMatcher, grammarSpace, silentLogger, type Tokenizer } from '@smallmind/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SmallMindEngine } from './index.js';
import { vocabularyEntries, writeRandomModelWithVocabulary } from './test-models.js';

const fixtures = fileURLToPath(new URL('../../../fixtures/', import.meta.url));
const qwen2Vocab = join(fixtures, 'chat-templates/ggml-vocab-qwen2.gguf.gz');
const spmVocab = join(fixtures, 'vocab/ggml-vocab-llama-spm.gguf.gz');
const workDir = mkdtempSync(join(tmpdir(), 'smallmind-grammar-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

const LIST_GRAMMAR = [
  'root ::= "[" ws ( item ( ws "," ws item )* )? ws "]"',
  'item ::= "\\"" [^"\\\\\\n]{0,12} "\\"" | [0-9]{1,4} | "true" | "null"',
  'ws ::= " "?',
].join('\n');

function ids(mask: Uint8Array): number[] {
  const out: number[] = [];
  mask.forEach((v, i) => v === 1 && out.push(i));
  return out;
}

describe('grammar masks on real vocabularies', () => {
  for (const [name, file] of [
    ['qwen2 (BPE, 152k)', qwen2Vocab],
    ['llama-spm (32k)', spmVocab],
  ] as const) {
    it(`${name}: the trie walk allows exactly the tokens that testing each one allows`, async () => {
      const tokenizer: Tokenizer = createTokenizer(new ModelMetadata(await vocabularyEntries(file)));
      const space = grammarSpace(LIST_GRAMMAR);
      const rng = createRng(5);
      let states = 0;
      for (let run = 0; run < 4; run++) {
        const constraint = new GrammarConstraint(space, tokenizer);
        for (let step = 0; step < 8; step++) {
          const fast = ids(constraint.allowedTokens());
          expect(fast, `run ${run} step ${step}`).toEqual(ids(constraint.allowedTokensByTesting()));
          states++;
          const choices = fast.filter((id) => !tokenizer.isEndOfGeneration(id));
          if (choices.length === 0) break;
          constraint.accept(choices[Math.floor(rng() * choices.length)]!);
        }
      }
      expect(states).toBeGreaterThan(12);
    }, 120_000);
  }
});

describe('generation under a grammar (worker, random weights, real vocabulary)', () => {
  const engine = new SmallMindEngine({ cacheDir: join(workDir, 'cache'), logger: silentLogger, threads: 1 });
  beforeAll(async () => {
    const path = join(workDir, 'qwen2-grammar.gguf');
    await writeRandomModelWithVocabulary('qwen2', qwen2Vocab, path);
    await engine.loadModel({ path });
  }, 120_000);
  afterAll(() => engine.dispose());

  it('samples only sentences of the grammar, at temperature 1 over many seeds, and stops when complete', async () => {
    const space = grammarSpace(LIST_GRAMMAR);
    let stopped = 0;
    for (let seed = 0; seed < 12; seed++) {
      const result = await engine.generate('A list:', { grammar: LIST_GRAMMAR, temperature: 1, seed, maxTokens: 60 });
      const matcher = new GrammarMatcher(space);
      expect(matcher.acceptText(result.text), result.text).toBe(true);
      if (result.finishReason === 'stop') {
        stopped++;
        expect(matcher.accepting, result.text).toBe(true);
      } else expect(result.finishReason).toBe('length');
    }
    expect(stopped).toBeGreaterThan(0);
  }, 120_000);

  it('streams under a grammar, and refuses a bad grammar before generating', async () => {
    const session = await engine.createSession();
    let text = '';
    for await (const chunk of session.stream('Answer:', { grammar: 'root ::= "yes" | "no"', temperature: 1, seed: 4 })) text += chunk.text;
    expect(['yes', 'no']).toContain(text);
    const result = await session.generate('Answer:', { grammar: 'root ::= "yes" | "no"', temperature: 1, seed: 9 });
    expect(result.finishReason).toBe('stop');
    expect(() => session.generate('x', { grammar: 'root ::= "yes" |' + ' undefined-rule' })).toThrow(/undefined-rule is used but never defined/);
    await session.dispose();
  });
});
