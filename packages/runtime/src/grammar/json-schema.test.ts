import { describe, expect, it } from 'vitest';
import { JsonSchemaError } from './errors.js';
import { jsonObjectGbnf, jsonSchemaToGbnf } from './json-schema.js';
import { GrammarMatcher, GrammarSpace } from './matcher.js';
import { compileGrammar } from './parser.js';

function accepts(schema: object, text: string): boolean {
  const m = new GrammarMatcher(new GrammarSpace(compileGrammar(jsonSchemaToGbnf(schema))));
  return m.acceptText(text) && m.accepting;
}

function schemaError(schema: object): JsonSchemaError {
  try {
    jsonSchemaToGbnf(schema);
  } catch (error) {
    expect(error).toBeInstanceOf(JsonSchemaError);
    return error as JsonSchemaError;
  }
  throw new Error(`converted: ${JSON.stringify(schema)}`);
}

describe('jsonSchemaToGbnf', () => {
  it('primitives and json_object', () => {
    expect(accepts({ type: 'integer' }, '-120')).toBe(true);
    expect(accepts({ type: 'integer' }, '1.5')).toBe(false);
    expect(accepts({ type: 'integer' }, '012')).toBe(false);
    expect(accepts({ type: 'number' }, '-1.5e+10')).toBe(true);
    expect(accepts({ type: 'integer', minimum: 0 }, '-1')).toBe(false);
    expect(accepts({ type: 'boolean' }, 'true')).toBe(true);
    expect(accepts({ type: 'null' }, 'null')).toBe(true);
    expect(accepts({ type: 'string' }, '"a\\"b\\u00e9 ü"')).toBe(true);
    expect(accepts({ type: 'string' }, '"a\nb"')).toBe(false);
    expect(accepts({ type: ['string', 'null'] }, 'null')).toBe(true);
    const obj = new GrammarSpace(compileGrammar(jsonObjectGbnf()));
    for (const [text, ok] of [['{"a": [1, {"b": null}], "c": "d"}', true], ['{}', true], ['[1]', false], ['{"a" 1}', false]] as const) {
      const m = new GrammarMatcher(obj);
      expect(m.acceptText(text) && m.accepting, text).toBe(ok);
    }
  });

  it('objects: required, optional in order, additionalProperties', () => {
    const schema = { type: 'object', properties: { a: { type: 'integer' }, b: { type: 'string' }, c: { type: 'boolean' } }, required: ['b'] };
    for (const ok of ['{"b": "x"}', '{"a": 1, "b": "x"}', '{"b": "x", "c": true}', '{"a":1,"b":"x","c":false}']) expect(accepts(schema, ok), ok).toBe(true);
    for (const bad of ['{}', '{"a": 1}', '{"b": "x", "a": 1}', '{"b": "x",}', '{"b": "x", "d": 1}']) expect(accepts(schema, bad), bad).toBe(false);
    const open = { ...schema, additionalProperties: { type: 'integer' } };
    expect(accepts(open, '{"b": "x", "zz": 3, "yy": 4}')).toBe(true);
    expect(accepts(open, '{"zz": 3, "b": "x"}')).toBe(false);
    // An additional key never repeats a declared one (its prefixes and extensions are fine).
    for (const key of ['a', 'b', 'c']) expect(accepts(open, `{"b": "x", "${key}": 1}`), key).toBe(false);
    for (const key of ['', 'ab', 'bb', 'd', 'é']) expect(accepts(open, `{"b": "x", "${key}": 1}`), key).toBe(true);
    expect(accepts({ type: 'object', properties: { a: { type: 'integer' } } }, '{}')).toBe(true);
  });

  it('arrays, enum, const, anyOf, allOf and $ref (recursive)', () => {
    const list = { type: 'array', items: { type: 'integer' }, minItems: 1, maxItems: 3 };
    expect(['[1]', '[1, 2, 3]'].every((t) => accepts(list, t))).toBe(true);
    expect(['[]', '[1,2,3,4]', '["a"]'].some((t) => accepts(list, t))).toBe(false);
    expect(accepts({ type: 'array', prefixItems: [{ type: 'string' }, { type: 'integer' }] }, '["a", 2]')).toBe(true);
    expect(accepts({ enum: ['red', 3, null] }, '3')).toBe(true);
    expect(accepts({ enum: ['red', 3, null] }, '"blue"')).toBe(false);
    expect(accepts({ const: { x: [1] } }, '{"x":[1]}')).toBe(true);
    expect(accepts({ anyOf: [{ type: 'integer' }, { type: 'string', maxLength: 2 }] }, '"ab"')).toBe(true);
    expect(accepts({ anyOf: [{ type: 'integer' }, { type: 'string', maxLength: 2 }] }, '"abc"')).toBe(false);
    // Inside a property the alternatives stay grouped: the key comes before either of them.
    const inside = { type: 'object', properties: { x: { anyOf: [{ type: 'null' }, { type: 'integer' }] }, y: { type: ['string', 'null'] } }, required: ['x', 'y'] };
    expect(accepts(inside, '{"x": 5, "y": null}')).toBe(true);
    expect(accepts(inside, '{"x": null, "y": "s"}')).toBe(true);
    expect(accepts(inside, '{"x": 5, null}')).toBe(false);
    const merged = { allOf: [{ $ref: '#/$defs/base' }, { type: 'object', properties: { y: { type: 'integer' } }, required: ['y'] }], $defs: { base: { type: 'object', properties: { x: { type: 'string' } }, required: ['x'] } } };
    expect(accepts(merged, '{"x": "a", "y": 1}')).toBe(true);
    expect(accepts(merged, '{"y": 1}')).toBe(false);
    const tree = { $ref: '#/definitions/node', definitions: { node: { type: 'object', properties: { v: { type: 'integer' }, kids: { type: 'array', items: { $ref: '#/definitions/node' } } }, required: ['v'] } } };
    expect(accepts(tree, '{"v": 1, "kids": [{"v": 2}, {"v": 3, "kids": []}]}')).toBe(true);
  });

  it('string lengths, patterns and formats', () => {
    expect(accepts({ type: 'string', minLength: 2, maxLength: 3 }, '"ab"')).toBe(true);
    expect(accepts({ type: 'string', minLength: 2, maxLength: 3 }, '"abcd"')).toBe(false);
    const phone = { type: 'string', pattern: '^\\(?[0-9]{3}\\)?-\\d{4}(x\\d+)?$' };
    expect(accepts(phone, '"(555)-1234"')).toBe(true);
    expect(accepts(phone, '"555-1234x12"')).toBe(true);
    expect(accepts(phone, '"55-1234"')).toBe(false);
    expect(accepts({ type: 'string', pattern: '^(?:cat|dog)s?$' }, '"dogs"')).toBe(true);
    expect(accepts({ type: 'string', pattern: '^[^a]+$' }, '"b\\"c"')).toBe(true);
    expect(accepts({ type: 'string', pattern: '^[^a]+$' }, '"b"c"')).toBe(false);
    expect(accepts({ type: 'string', format: 'date' }, '"2026-12-04"')).toBe(true);
    expect(accepts({ type: 'string', format: 'date' }, '"2026-13-04"')).toBe(false);
    expect(accepts({ type: 'string', format: 'date-time' }, '"2026-12-04T21:50:00Z"')).toBe(true);
    expect(accepts({ type: 'string', format: 'uuid' }, '"123e4567-e89b-12d3-a456-426614174000"')).toBe(true);
  });

  it('names every rule but the root with the root name as prefix', () => {
    const text = jsonSchemaToGbnf({ type: 'object', properties: { a: { type: 'string' } } }, { rootName: 'call' });
    const names = text.trim().split('\n').map((line) => line.split(' ::= ')[0]!);
    expect(names[0]).toBe('call');
    for (const name of names.slice(1)) expect(name.startsWith('call-')).toBe(true);
    // A caller can put it under its own root.
    expect(() => compileGrammar(`root ::= "<call>" call "</call>"\n${text}`)).not.toThrow();
  });

  it('refuses what it does not support, naming the keyword and path', () => {
    let e = schemaError({ type: 'object', properties: { a: { type: 'string', not: { const: 'x' } } } });
    expect([e.code, e.path]).toEqual(['SCHEMA_UNSUPPORTED', '#/properties/a/not']);
    e = schemaError({ type: 'string', pattern: '^a(?=b)$' });
    expect(e.code).toBe('SCHEMA_UNSUPPORTED');
    expect(e.message).toMatch(/lookaround/);
    e = schemaError({ type: 'string', pattern: 'abc' });
    expect(e.message).toMatch(/anchored/);
    e = schemaError({ type: 'string', pattern: '^(a)\\1$' });
    expect(e.message).toMatch(/escape "\\1"/);
    e = schemaError({ $ref: '#/$defs/missing' });
    expect([e.code, e.path]).toEqual(['SCHEMA_INVALID', '#/$ref']);
    e = schemaError({ type: 'array', maxItems: 100000 });
    expect(e.path).toBe('#/maxItems');
    e = schemaError({ type: 'string', format: 'email' });
    expect(e.path).toBe('#/format');
    e = schemaError({ type: 'widget' });
    expect(e.code).toBe('SCHEMA_INVALID');
  });
});
