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
import { createRng, createTokenizer, GrammarConstraint, GrammarMatcher, grammarSpace, jsonObjectGbnf, jsonSchemaToGbnf, silentLogger, type Tokenizer } from '@smallmind/runtime';
import { Ajv } from 'ajv';
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

/** Schemas whose strings and arrays are bounded, so a random model finishes within the token budget. */
const SCHEMAS: Array<[string, object]> = [
  ['object with required and optional properties', { type: 'object', properties: { name: { type: 'string', maxLength: 6 }, age: { type: 'integer', minimum: 0 }, ok: { type: 'boolean' } }, required: ['name', 'age'] }],
  ['enum, const and anyOf', { type: 'object', properties: { color: { enum: ['red', 'green', 'blue'] }, v: { const: 2 }, x: { anyOf: [{ type: 'null' }, { type: 'number' }] } }, required: ['color', 'v', 'x'] }],
  ['bounded array of tuples', { type: 'array', items: { type: 'array', prefixItems: [{ type: 'string', maxLength: 3 }, { type: 'integer' }] }, minItems: 1, maxItems: 3 }],
  ['$ref, allOf and formats', {
    allOf: [{ $ref: '#/$defs/id' }, { type: 'object', properties: { day: { type: 'string', format: 'date' } }, required: ['day'] }],
    $defs: { id: { type: 'object', properties: { id: { type: 'string', format: 'uuid' } }, required: ['id'] } },
  }],
  ['pattern and additionalProperties false', { type: 'object', properties: { code: { type: 'string', pattern: '^[A-Z]{2}-[0-9]{2,3}$' } }, required: ['code'], additionalProperties: false }],
];

describe('JSON schema generation (worker, random weights, llama-spm vocabulary, temperature 1)', () => {
  const engine = new SmallMindEngine({ cacheDir: join(workDir, 'cache'), logger: silentLogger, threads: 1 });
  const ajv = new Ajv({ strict: false });
  beforeAll(async () => {
    const path = join(workDir, 'llama-spm-grammar.gguf');
    await writeRandomModelWithVocabulary('llama', spmVocab, path, 11);
    await engine.loadModel({ path });
  }, 120_000);
  afterAll(() => engine.dispose());

  for (const [name, schema] of SCHEMAS) {
    it(`${name}: every finished output parses and validates with ajv`, async () => {
      const validate = ajv.compile(schema);
      const space = grammarSpace(jsonSchemaToGbnf(schema));
      let finished = 0;
      const seeds = 10;
      for (let seed = 0; seed < seeds; seed++) {
        const result = await engine.generate('JSON:', { jsonSchema: schema, temperature: 1, seed, maxTokens: 120 });
        if (result.finishReason === 'length') {
          // Cut off: still a prefix of a valid text.
          expect(new GrammarMatcher(space).acceptText(result.text), result.text).toBe(true);
          continue;
        }
        expect(result.finishReason).toBe('stop');
        finished++;
        const value: unknown = JSON.parse(result.text);
        expect(validate(value), `${result.text}: ${ajv.errorsText(validate.errors)}`).toBe(true);
      }
      expect(finished).toBeGreaterThanOrEqual(seeds / 2);
    }, 120_000);
  }

  it('responseFormat json_object and json_schema', async () => {
    const obj = await engine.generate('JSON:', { responseFormat: { type: 'json_object' }, temperature: 1, seed: 1, maxTokens: 60 });
    expect(new GrammarMatcher(grammarSpace(jsonObjectGbnf())).acceptText(obj.text), obj.text).toBe(true);
    const schema = SCHEMAS[1]![1];
    const result = await engine.generate('JSON:', { responseFormat: { type: 'json_schema', json_schema: { name: 'x', schema, strict: true } }, temperature: 1, seed: 2, maxTokens: 120 });
    expect(result.finishReason).toBe('stop');
    expect(ajv.validate(schema, JSON.parse(result.text))).toBe(true);
    await expect(engine.generate('x', { responseFormat: { type: 'json_object' }, grammar: 'root ::= "a"' })).rejects.toThrow(/cannot be combined/);
    await expect(engine.generate('x', { jsonSchema: { type: 'string', format: 'email' } })).rejects.toThrow(/format "email" is not supported/);
  }, 120_000);
});
