/**
 * Grammar benchmark: microseconds per generated token spent on the grammar mask (the trie walk plus setting
 * -Infinity, `GrammarConstraint.apply`) for `json_object` and a JSON schema, on the 32k llama-spm and the
 * 152k qwen2 vocabularies, next to one unconstrained `Sampler.sample` step over the same vocabulary and the
 * brute-force mask (every token tested on its own) it replaces.
 *
 *   pnpm --filter @smallmind/engine bench:grammar
 *
 * Each run walks a fixed JSON answer token by token (the longest allowed token that continues the text), so
 * the states are those of real output. `cold`: a new compiled grammar per run (no cached transitions);
 * `warm`: the same compiled grammar as a worker reuses it across requests (a new constraint, so no cached masks).
 * Lives in the engine package because the vocabularies are GGUF files, which runtime may not read (package DAG).
 */
import { fileURLToPath } from 'node:url';
import { ModelMetadata } from '@smallmind/io-smq';
import { createRng, createTokenizer, GrammarConstraint, grammarSpace, jsonObjectGbnf, jsonSchemaToGbnf, Sampler, vocabularyIndex, type GrammarSpace, type Tokenizer } from '@smallmind/runtime';
import { vocabularyEntries } from '../src/test-models.js';

const fixtures = fileURLToPath(new URL('../../../fixtures/', import.meta.url));
const VOCABS = [
  ['llama-spm 32k', `${fixtures}vocab/ggml-vocab-llama-spm.gguf.gz`],
  ['qwen2 152k', `${fixtures}chat-templates/ggml-vocab-qwen2.gguf.gz`],
] as const;

const schema = {
  type: 'object',
  properties: {
    name: { type: 'string', maxLength: 40 },
    age: { type: 'integer', minimum: 0 },
    email: { type: 'string' },
    tags: { type: 'array', items: { type: 'string' }, maxItems: 8 },
    address: { type: 'object', properties: { city: { type: 'string' }, zip: { type: 'string', pattern: '^[0-9]{5}$' } }, required: ['city'] },
  },
  required: ['name', 'age'],
};
const answer = '{"name": "Ada Lovelace", "age": 36, "email": "ada@example.org", "tags": ["math", "engines"], "address": {"city": "London", "zip": "12345"}}';

/** The token ids that spell `text` under the grammar, longest allowed piece first. */
function spell(tokenizer: Tokenizer, space: GrammarSpace, text: string): number[] {
  const index = vocabularyIndex(tokenizer);
  const decoder = new TextDecoder();
  const constraint = new GrammarConstraint(space, tokenizer);
  const out: number[] = [];
  let rest = text;
  while (rest.length > 0) {
    const allowed = constraint.allowedTokens();
    let best = -1;
    let bestLength = 0;
    allowed.forEach((ok, id) => {
      const bytes = index.pieces[id];
      if (ok === 0 || bytes === undefined) return;
      const piece = decoder.decode(bytes);
      if (piece.length > bestLength && rest.startsWith(piece)) {
        best = id;
        bestLength = piece.length;
      }
    });
    if (best < 0) throw new Error(`no token continues ${JSON.stringify(rest.slice(0, 20))}`);
    constraint.accept(best);
    out.push(best);
    rest = rest.slice(bestLength);
  }
  return out;
}

function maskCost(tokenizer: Tokenizer, make: () => GrammarSpace, tokens: readonly number[], runs: number): number {
  const logits = new Float32Array(tokenizer.vocabSize);
  let total = 0;
  for (let r = 0; r < runs; r++) {
    const constraint = new GrammarConstraint(make(), tokenizer);
    for (const token of tokens) {
      const t0 = performance.now();
      constraint.apply(logits);
      total += performance.now() - t0;
      constraint.accept(token);
    }
  }
  return (total * 1000) / (runs * tokens.length);
}

function bruteCost(tokenizer: Tokenizer, space: GrammarSpace, tokens: readonly number[], steps: number): number {
  const constraint = new GrammarConstraint(space, tokenizer);
  let total = 0;
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    constraint.allowedTokensByTesting();
    total += performance.now() - t0;
    constraint.accept(tokens[i]!);
  }
  return (total * 1000) / steps;
}

function samplerCost(vocabSize: number): number {
  const rng = createRng(7);
  const logits = new Float32Array(vocabSize);
  for (let i = 0; i < vocabSize; i++) logits[i] = 2.5 * Math.sqrt(-2 * Math.log(Math.max(rng(), 1e-12))) * Math.cos(2 * Math.PI * rng());
  const sampler = new Sampler({ temperature: 0.8, topK: 40, topP: 0.95, seed: 1 });
  for (let i = 0; i < 20; i++) sampler.sample(logits);
  const runs = 200;
  const t0 = performance.now();
  for (let i = 0; i < runs; i++) sampler.sample(logits);
  return ((performance.now() - t0) * 1000) / runs;
}

const us = (v: number): string => `${v.toFixed(0).padStart(8)} us`;
for (const [name, file] of VOCABS) {
  const tokenizer = createTokenizer(new ModelMetadata(await vocabularyEntries(file)));
  const t0 = performance.now();
  vocabularyIndex(tokenizer);
  console.log(`${name}: vocabulary index built once in ${(performance.now() - t0).toFixed(0)} ms; unconstrained sample step (top-k 40, top-p 0.95) ${us(samplerCost(tokenizer.vocabSize))}`);
  for (const [label, gbnf] of [
    ['json_object', jsonObjectGbnf()],
    ['JSON schema', jsonSchemaToGbnf(schema)],
  ] as const) {
    const shared = grammarSpace(gbnf);
    const tokens = spell(tokenizer, shared, answer);
    const cold = maskCost(tokenizer, () => grammarSpace(gbnf), tokens, 3);
    const warm = maskCost(tokenizer, () => shared, tokens, 3);
    const brute = bruteCost(tokenizer, grammarSpace(gbnf), tokens, 6);
    console.log(`  ${label.padEnd(12)} ${String(tokens.length).padStart(3)} tokens   mask cold ${us(cold)}/token   warm ${us(warm)}/token   brute force ${us(brute)}/token`);
  }
}
