import { describe, expect, it } from 'vitest';
import { createRng, Sampler } from '../sampling.js';
import { createTokenizer } from '../tokenizer/index.js';
import { idOf, spmBaseTokens, u32, vocabMetadata, type TestToken } from '../tokenizer/test-vocab.js';
import { TokenType } from '../tokenizer/vocabulary.js';
import { GrammarConstraint, grammarSpace, vocabularyIndex } from './constraint.js';
import { GrammarMatchError } from './errors.js';
import { GrammarMatcher } from './matcher.js';

const tokens: TestToken[] = [
  ...spmBaseTokens(),
  ...['▁', '{', '}', '"', 'a', 'b', 'ab', 'ba', '"a', '▁{', '{"', 'é', 'ü', 'éa', '1', '12', '123', ',', ':', '":', '▁"', 'x', 'xyz', '[', ']', '],'].map((text) => ({ text })),
  { text: '<|ctl|>', type: TokenType.CONTROL },
];
const tokenizer = createTokenizer(vocabMetadata({ model: 'llama', tokens, extra: { 'tokenizer.ggml.bos_token_id': u32(1), 'tokenizer.ggml.eos_token_id': u32(2) } }));
const eos = 2;

const grammars = [
  'root ::= "{" ( "\\"" [a-zé]* "\\"" ":" [0-9]+ ) ( "," "\\"" [a-zé]* "\\"" ":" [0-9]+ )* "}"',
  'root ::= "[" ( item ( "," item )* )? "]"\nitem ::= "1" | "12" | "x" [a-z]* | "ü"',
  'root ::= [^"]* "\\""',
  'root ::= "é" "a"? "b"{0,3}',
];

function ids(mask: Uint8Array): number[] {
  const out: number[] = [];
  mask.forEach((v, i) => v === 1 && out.push(i));
  return out;
}

describe('GrammarConstraint', () => {
  it('indexes the vocabulary once per tokenizer, leaving out control tokens', () => {
    const index = vocabularyIndex(tokenizer);
    expect(vocabularyIndex(tokenizer)).toBe(index);
    expect(index.pieces[idOf(tokens, '<|ctl|>')]).toBeUndefined();
    expect(index.pieces[idOf(tokens, '<unk>')]).toBeUndefined();
    expect(Array.from(index.eog)).toEqual([eos]);
    expect(new TextDecoder().decode(index.pieces[idOf(tokens, '▁{')])).toBe(' {');
  });

  it('masks exactly the tokens that testing each token allows, over many grammar states', () => {
    const rng = createRng(11);
    let states = 0;
    for (const grammar of grammars) {
      const space = grammarSpace(grammar);
      for (let run = 0; run < 30; run++) {
        const constraint = new GrammarConstraint(space, tokenizer);
        for (let step = 0; step < 12; step++) {
          const fast = constraint.allowedTokens();
          const slow = constraint.allowedTokensByTesting();
          expect(ids(fast), `${grammar} step ${step}`).toEqual(ids(slow));
          states++;
          const choices = ids(fast).filter((id) => id !== eos);
          if (choices.length === 0) break;
          constraint.accept(choices[Math.floor(rng() * choices.length)]!);
        }
      }
    }
    expect(states).toBeGreaterThan(500);
  });

  it('allows end of generation only when the grammar is complete, and then only it when nothing can follow', () => {
    const constraint = new GrammarConstraint('root ::= "ab"', tokenizer);
    expect(constraint.allowedTokens()[eos]).toBe(0);
    expect(ids(constraint.allowedTokens())).toContain(idOf(tokens, 'ab'));
    constraint.accept(idOf(tokens, 'a'));
    expect(constraint.canEnd).toBe(false);
    constraint.accept(idOf(tokens, 'b'));
    expect(constraint.canEnd).toBe(true);
    expect(constraint.isComplete).toBe(true);
    expect(ids(constraint.allowedTokens())).toEqual([eos]);
    constraint.accept(eos);
    expect(() => constraint.accept(idOf(tokens, 'a'))).toThrow(GrammarMatchError);
  });

  it('carries a half-done UTF-8 character across byte tokens', () => {
    const constraint = new GrammarConstraint('root ::= "é" "a"', tokenizer);
    const c3 = idOf(tokens, '<0xC3>');
    const a9 = idOf(tokens, '<0xA9>');
    expect(constraint.allowedTokens()[c3]).toBe(1);
    expect(constraint.allowedTokens()[idOf(tokens, '<0xC4>')]).toBe(0);
    constraint.accept(c3);
    expect(ids(constraint.allowedTokens())).toEqual([a9]);
    constraint.accept(a9);
    // 'a' as a text token or as the byte token <0x61>.
    expect(ids(constraint.allowedTokens())).toEqual([idOf(tokens, '<0x61>'), idOf(tokens, 'a')]);
  });

  it('rejects a token the grammar does not allow, with a typed error', () => {
    const constraint = new GrammarConstraint('root ::= "a"', tokenizer);
    expect(() => constraint.accept(idOf(tokens, 'b'))).toThrow(expect.objectContaining({ code: 'GRAMMAR_DEAD_END' }) as Error);
    // A grammar no token can start fails at the first mask, naming the grammar.
    const impossible = new GrammarConstraint('root ::= [^\\x00-\\U0010FFFF]', tokenizer);
    expect(() => impossible.apply(new Float32Array(tokens.length))).toThrow(expect.objectContaining({ code: 'GRAMMAR_DEAD_END' }) as Error);
  });

  it('makes the Sampler produce only text of the grammar, ending with EOS', () => {
    const grammar = grammars[1]!;
    const space = grammarSpace(grammar);
    const rng = createRng(3);
    for (let seed = 0; seed < 40; seed++) {
      const sampler = new Sampler({ temperature: 1, seed }, { constraint: new GrammarConstraint(space, tokenizer) });
      const out: number[] = [];
      for (let step = 0; step < 200; step++) {
        const logits = new Float32Array(tokens.length);
        for (let i = 0; i < logits.length; i++) logits[i] = rng() * 4;
        const token = sampler.sample(logits);
        sampler.accept(token);
        if (token === eos) break;
        out.push(token);
      }
      expect(out.length).toBeLessThan(200);
      const text = new TextDecoder().decode(tokenizer.decodeBytes(out.map((id) => id)).slice(0));
      const m = new GrammarMatcher(space);
      expect(m.acceptText(text) && m.accepting, text).toBe(true);
    }
  });
});
