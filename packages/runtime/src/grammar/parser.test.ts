import { describe, expect, it } from 'vitest';
import { GrammarSyntaxError } from './errors.js';
import { GrammarMatcher, GrammarSpace } from './matcher.js';
import { compileGrammar, GRAMMAR_LIMITS } from './parser.js';

function matches(grammar: string, text: string): boolean {
  const m = new GrammarMatcher(new GrammarSpace(compileGrammar(grammar)));
  return m.acceptText(text) && m.accepting;
}

function prefixOk(grammar: string, text: string): boolean {
  return new GrammarMatcher(new GrammarSpace(compileGrammar(grammar))).acceptText(text);
}

function syntaxError(grammar: string): GrammarSyntaxError {
  try {
    compileGrammar(grammar);
  } catch (error) {
    expect(error).toBeInstanceOf(GrammarSyntaxError);
    return error as GrammarSyntaxError;
  }
  throw new Error(`grammar compiled: ${grammar}`);
}

describe('GBNF parser and matcher', () => {
  it('matches literals, alternation and grouping', () => {
    const g = 'root ::= "yes" | "no" | ("may" "be")';
    for (const ok of ['yes', 'no', 'maybe']) expect(matches(g, ok)).toBe(true);
    for (const bad of ['ye', 'yess', 'may', 'No', '']) expect(matches(g, bad)).toBe(false);
    expect(prefixOk(g, 'ma')).toBe(true);
    expect(prefixOk(g, 'mb')).toBe(false);
  });

  it('matches classes, negation, any char and escapes', () => {
    expect(matches('root ::= [a-c0-9_]+', 'a0_c9')).toBe(true);
    expect(matches('root ::= [a-c0-9_]+', 'a0d')).toBe(false);
    expect(matches('root ::= "\\"" [^"\\\\]* "\\""', '"hi there"')).toBe(true);
    expect(matches('root ::= "\\"" [^"\\\\]* "\\""', '"a"b"')).toBe(false);
    expect(matches('root ::= . . .', 'a€😀')).toBe(true);
    expect(matches('root ::= "\\x41\\u00e9\\U0001F600\\n\\t"', 'Aé😀\n\t')).toBe(true);
    expect(matches('root ::= [\\u00e0-\\u00ff]', 'é')).toBe(true);
    expect(matches('root ::= [\\u00e0-\\u00ff]', 'a')).toBe(false);
    expect(matches('root ::= [-a]', '-')).toBe(true);
    expect(matches('root ::= [a-]', '-')).toBe(true);
  });

  it('expands * + ? and {m,n}', () => {
    const cases: Array<[string, string[], string[]]> = [
      ['root ::= "a"*', ['', 'a', 'aaaa'], ['b']],
      ['root ::= "ab"+', ['ab', 'abab'], ['', 'a', 'aba']],
      ['root ::= "a" "b"?', ['a', 'ab'], ['abb', 'b']],
      ['root ::= "a"{3}', ['aaa'], ['aa', 'aaaa']],
      ['root ::= "a"{2,4}', ['aa', 'aaa', 'aaaa'], ['a', 'aaaaa']],
      ['root ::= "a"{2,}', ['aa', 'aaaaaaa'], ['a']],
      ['root ::= "a"{,2} "b"', ['b', 'ab', 'aab'], ['aaab']],
      ['root ::= ("x" [0-9]){1,2}', ['x1', 'x1x2'], ['x', 'x1x', 'x1x2x3']],
    ];
    for (const [g, good, bad] of cases) {
      for (const t of good) expect(matches(g, t), `${g} on ${t}`).toBe(true);
      for (const t of bad) expect(matches(g, t), `${g} on ${t}`).toBe(false);
    }
  });

  it('follows rule references, recursion and comments, over several lines', () => {
    const g = [
      '# balanced parentheses',
      'root ::= item*   # any number',
      'item ::= "(" root ")"',
      '       | [a-z]',
      'unused-rule_2 ::= "z"',
    ].join('\n');
    expect(matches(g, '(a(b)c)')).toBe(true);
    expect(matches(g, '(a(b c)')).toBe(false);
    expect(matches(g, '((')).toBe(false);
    expect(prefixOk(g, '((')).toBe(true);
  });

  it('reports syntax errors with line:column and what was expected', () => {
    let e = syntaxError('root ::= "a"\nfoo ::= "b" )');
    expect(e.code).toBe('GRAMMAR_SYNTAX');
    expect([e.line, e.column]).toEqual([2, 13]);
    expect(e.message).toMatch(/expected a newline/);
    e = syntaxError('root := "a"');
    expect([e.line, e.column, e.code]).toEqual([1, 6, 'GRAMMAR_SYNTAX']);
    expect(e.message).toMatch(/"::="/);
    e = syntaxError('root ::= "abc');
    expect(e.message).toMatch(/unterminated string/);
    expect([e.line, e.column]).toEqual([1, 10]);
    e = syntaxError('root ::= [a-');
    expect(e.message).toMatch(/unterminated character class/);
    e = syntaxError('root ::= ("a" | "b"');
    expect(e.message).toMatch(/expected "\)"/);
    e = syntaxError('root ::= * "a"');
    expect(e.message).toMatch(/must follow something/);
    e = syntaxError('root ::= "a"{3,1}');
    expect(e.message).toMatch(/below the minimum/);
    e = syntaxError('root ::= "\\q"');
    expect(e.message).toMatch(/unknown escape/);
    e = syntaxError('root ::= [z-a]');
    expect(e.message).toMatch(/reversed/);
    e = syntaxError('   \n# only a comment\n');
    expect(e.message).toMatch(/empty/);
    e = syntaxError('root ::= "a"\nroot ::= "b"');
    expect(e.message).toMatch(/defined twice/);
    expect(e.line).toBe(2);
  });

  it('rejects undefined rules and a missing root', () => {
    let e = syntaxError('root ::= "a" thing\n');
    expect(e.code).toBe('GRAMMAR_UNDEFINED_RULE');
    expect([e.line, e.column]).toEqual([1, 14]);
    expect(e.message).toMatch(/thing/);
    e = syntaxError('start ::= "a"');
    expect(e.code).toBe('GRAMMAR_UNDEFINED_RULE');
    expect(e.message).toMatch(/root/);
    expect(compileGrammar('start ::= "a"', 'start').ruleNames).toContain('start');
  });

  it('rejects left recursion, also through nullable rules', () => {
    let e = syntaxError('root ::= root "a" | "b"');
    expect(e.code).toBe('GRAMMAR_LEFT_RECURSION');
    expect(e.message).toMatch(/root -> root/);
    e = syntaxError('root ::= opt expr\nopt ::= "x"?\nexpr ::= root "+" | "1"');
    expect(e.code).toBe('GRAMMAR_LEFT_RECURSION');
    e = syntaxError('root ::= ("a"? root)');
    expect(e.code).toBe('GRAMMAR_LEFT_RECURSION');
    // Right recursion is fine.
    expect(matches('root ::= "a" root | "b"', 'aab')).toBe(true);
  });

  it('bounds sizes', () => {
    expect(syntaxError('root ::= "a"{5000}').code).toBe('GRAMMAR_TOO_LARGE');
    expect(syntaxError('root ::= "a"{99999999999}').code).toBe('GRAMMAR_TOO_LARGE');
    expect(syntaxError(`root ::= "${'a'.repeat(GRAMMAR_LIMITS.maxTextLength)}"`).code).toBe('GRAMMAR_TOO_LARGE');
    // Nested groups stay small (each level is one rule reference) ...
    expect(compileGrammar('root ::= ((("a"{4000}){4000}){4000})').kinds.length).toBeLessThan(20_000);
    // ... but each optional repetition is a rule, and the rule count is bounded.
    const e = syntaxError(`root ::= ${'"a"{0,4000} '.repeat(6)}`);
    expect(e.code).toBe('GRAMMAR_TOO_LARGE');
    expect(e.message).toMatch(/rules/);
  });

  it('drops its interning tables past their bound and still matches the same', () => {
    const grammar = compileGrammar('root ::= [a-z]{0,200} "!"');
    const small = new GrammarSpace(grammar, { maxStates: 8 });
    const text = 'abcdefghijklmnopqrstuvwxyz'.repeat(3);
    for (let round = 0; round < 3; round++) {
      const m = new GrammarMatcher(small);
      expect(m.acceptText(`${text}!`) && m.accepting).toBe(true);
      expect(new GrammarMatcher(small).acceptText(`${text}?`)).toBe(false);
    }
    expect(small.epoch).toBeGreaterThan(3);
  });

  it('keeps partial UTF-8 characters pending across byte chunks', () => {
    const m = new GrammarMatcher(new GrammarSpace(compileGrammar('root ::= "é" [a-z]')));
    const bytes = new TextEncoder().encode('éa');
    expect(m.acceptBytes(bytes.subarray(0, 1))).toBe(true);
    expect(m.accepting).toBe(false);
    expect(m.acceptBytes(bytes.subarray(1))).toBe(true);
    expect(m.accepting).toBe(true);
    const wrong = new GrammarMatcher(new GrammarSpace(compileGrammar('root ::= "é"')));
    // 0xE4 starts a 3-byte character (U+4000..U+4FFF), which "é" (U+00E9) can never be.
    expect(wrong.acceptBytes(Uint8Array.of(0xe4))).toBe(false);
  });
});
