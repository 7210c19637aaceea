import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { addGenerationFlags, flagName, generationOptionsOf } from './cli-options.js';
import { generationOptionTable } from './generation/options.js';

function parse(...args: string[]) {
  const command = addGenerationFlags(new Command().exitOverride().configureOutput({ outputError: () => {} }));
  command.parse(args, { from: 'user' });
  return generationOptionsOf(command.opts());
}

describe('generation flags from generationOptionTable', () => {
  it('every option of the table is a flag', () => {
    const command = addGenerationFlags(new Command());
    const longs = new Set(command.options.map((o) => o.long));
    for (const spec of generationOptionTable) expect(longs.has(`--${flagName(spec.name)}`), spec.name).toBe(true);
  });

  it('parses every kind of value into the options the library takes', () => {
    expect(parse()).toEqual(expect.objectContaining({ temperature: 0, maxTokens: 128, topP: 1 }));
    const options = parse('-t', '0.7', '--top-k', '40', '--seed', '7', '--stop', 'a', '--stop', 'b', '--logit-bias', '5=-inf', '--logit-bias', '9:2.5', '--no-add-bos', '-n', '3');
    expect(options).toMatchObject({ temperature: 0.7, topK: 40, seed: 7, stop: ['a', 'b'], logitBias: { 5: -Infinity, 9: 2.5 }, addBos: false, maxTokens: 3 });
    expect(parse('--tokens', '9').maxTokens).toBe(9);
  });

  it('a value outside the range is refused with the table\'s own message', () => {
    expect(() => parse('--typical-p', '0')).toThrow(/--typical-p: 0 is outside \(0, 1\]/);
    expect(() => parse('--seed', '-1')).toThrow(/--seed: -1 is outside \[0, 4294967295\]/);
    expect(() => parse('--logit-bias', '5=+inf')).toThrow(/--logit-bias: bias NaN must be a finite number or -Infinity/);
    expect(() => parse(...Array.from({ length: 17 }, (_, i) => ['--stop', `s${i}`]).flat())).toThrow(/--stop: 17 entries, at most 16/);
  });

  it('takes a grammar inline or from a file, checked before generation', () => {
    expect(parse('--grammar', 'root ::= "yes" | "no"').grammar).toBe('root ::= "yes" | "no"');
    const dir = mkdtempSync(join(tmpdir(), 'sm-grammar-'));
    const file = join(dir, 'g.gbnf');
    writeFileSync(file, 'root ::= [0-9]+\n');
    expect(parse('--grammar-file', file).grammar).toBe('root ::= [0-9]+\n');
    expect(() => parse('--grammar', 'root ::= "a" )')).toThrow(/--grammar: grammar 1:14: expected a newline/);
    expect(() => parse('--grammar-file', join(dir, 'missing.gbnf'))).toThrow(/--grammar-file: cannot read/);
    expect(() => parse('--grammar', 'root ::= "a"', '--grammar-file', file)).toThrow(/give one of them/);
  });
});
