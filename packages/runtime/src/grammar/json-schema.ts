/**
 * JSON schema -> GBNF, after llama.cpp's common/json-schema-to-grammar.cpp (its rule shapes: bounded
 * whitespace, JSON string characters, integral parts of at most 16 digits), written for this engine. Every
 * rule other than the root is named `<rootName>-...`, so a caller can append its own rules to the text.
 */
import { JsonSchemaError } from './errors.js';
import { GRAMMAR_LIMITS } from './parser.js';

export interface JsonSchemaToGbnfOptions {
  /** The start rule (default `root`); every other rule is named `<rootName>-<something>`. */
  readonly rootName?: string;
}

type Schema = Record<string, unknown>;

/** Keywords that only describe (never constrain) and are ignored. */
const ANNOTATIONS = new Set(['$schema', '$id', '$comment', 'title', 'description', 'examples', 'default', 'deprecated', 'readOnly', 'writeOnly', '$defs', 'definitions', 'strict', 'name']);
/** Keywords handled below; any other keyword is refused, so a schema is never silently loosened. */
const SUPPORTED = new Set([
  'type', 'properties', 'required', 'additionalProperties', 'items', 'prefixItems', 'minItems', 'maxItems', 'enum', 'const', 'anyOf', 'oneOf', 'allOf', '$ref',
  'minLength', 'maxLength', 'pattern', 'format', 'minimum',
]);

const FORMATS: Readonly<Record<string, string>> = {
  date: '[0-9]{4} "-" ( "0" [1-9] | "1" [0-2] ) "-" ( "0" [1-9] | [1-2] [0-9] | "3" [0-1] )',
  time: '( [01] [0-9] | "2" [0-3] ) ":" [0-5] [0-9] ":" [0-5] [0-9] ( "." [0-9]{3} )? ( "Z" | [+-] ( [01] [0-9] | "2" [0-3] ) ":" [0-5] [0-9] )',
  uuid: '[0-9a-fA-F]{8} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{12}',
};

/** A GBNF literal for a string. */
export function gbnfLiteral(text: string): string {
  let out = '"';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/** A character for a GBNF class. */
function classChar(cp: number): string {
  const ch = String.fromCodePoint(cp);
  if (ch === ']' || ch === '[' || ch === '\\' || ch === '-' || ch === '^' || ch === '"') return `\\${ch}`;
  if (cp < 0x20 || cp === 0x7f) return `\\x${cp.toString(16).padStart(2, '0')}`;
  return ch;
}

class Converter {
  private readonly rules = new Map<string, string>();
  private readonly refs = new Map<string, string>();

  constructor(
    private readonly rootSchema: unknown,
    private readonly prefix: string,
  ) {}

  fail(code: 'SCHEMA_UNSUPPORTED' | 'SCHEMA_INVALID', path: string, message: string): never {
    throw new JsonSchemaError(code, path, message);
  }

  /** Adds a rule (named `<prefix>-<name>`) once; returns its name. */
  rule(name: string, body: string): string {
    const full = `${this.prefix}-${name.replace(/[^a-zA-Z0-9]+/g, '-').replace(/^-+|-+$/g, '')}`;
    let unique = full;
    for (let i = 2; this.rules.has(unique) && this.rules.get(unique) !== body; i++) unique = `${full}${i}`;
    this.rules.set(unique, body);
    return unique;
  }

  private primitive(name: 'space' | 'boolean' | 'null' | 'char' | 'string' | 'integral-part' | 'decimal-part' | 'number' | 'integer' | 'value' | 'object' | 'array'): string {
    const p = (n: Parameters<Converter['primitive']>[0]): string => this.primitive(n);
    const key = `${this.prefix}-${name}`;
    if (this.rules.has(key)) return key;
    // Reserve the name first: value, object and array refer to each other.
    this.rules.set(key, '');
    let body: string;
    switch (name) {
      case 'space':
        // Bounded: at most two newlines and 20 spaces or tabs, so the model cannot loop on whitespace.
        body = '| " " | "\\n"{1,2} [ \\t]{0,20}';
        break;
      case 'boolean':
        body = `( "true" | "false" ) ${p('space')}`;
        break;
      case 'null':
        body = `"null" ${p('space')}`;
        break;
      case 'char':
        body = '[^"\\\\\\x7F\\x00-\\x1F] | [\\\\] ( ["\\\\/bfnrt] | "u" [0-9a-fA-F]{4} )';
        break;
      case 'string':
        body = `"\\"" ${p('char')}* "\\"" ${p('space')}`;
        break;
      case 'integral-part':
        body = '[0] | [1-9] [0-9]{0,15}';
        break;
      case 'decimal-part':
        body = '[0-9]{1,16}';
        break;
      case 'number':
        body = `( "-"? ${p('integral-part')} ) ( "." ${p('decimal-part')} )? ( [eE] [-+]? ${p('integral-part')} )? ${p('space')}`;
        break;
      case 'integer':
        body = `( "-"? ${p('integral-part')} ) ${p('space')}`;
        break;
      case 'value':
        body = `${p('object')} | ${p('array')} | ${p('string')} | ${p('number')} | ${p('boolean')} | ${p('null')}`;
        break;
      case 'object':
        body = `"{" ${p('space')} ( ${p('string')} ":" ${p('space')} ${p('value')} ( "," ${p('space')} ${p('string')} ":" ${p('space')} ${p('value')} )* )? "}" ${p('space')}`;
        break;
      case 'array':
        body = `"[" ${p('space')} ( ${p('value')} ( "," ${p('space')} ${p('value')} )* )? "]" ${p('space')}`;
        break;
    }
    this.rules.set(key, body);
    return key;
  }

  private resolve(ref: string, path: string): { schema: unknown; path: string } {
    const match = /^#\/(\$defs|definitions)\/(.+)$/.exec(ref);
    if (match === null) this.fail('SCHEMA_UNSUPPORTED', path, `$ref ${JSON.stringify(ref)}: only local references to #/$defs/... or #/definitions/... are supported`);
    const container = (this.rootSchema as Schema)[match[1]!];
    const name = match[2]!.replace(/~1/g, '/').replace(/~0/g, '~');
    if (typeof container !== 'object' || container === null || !Object.hasOwn(container, name)) this.fail('SCHEMA_INVALID', path, `$ref ${ref} points to nothing`);
    return { schema: (container as Schema)[name], path: `#/${match[1]}/${match[2]}` };
  }

  /** A GBNF expression for a schema (named rules are added as needed). */
  visit(schema: unknown, path: string, name: string): string {
    if (schema === true) return this.primitive('value');
    if (schema === false) this.fail('SCHEMA_UNSUPPORTED', path, 'the schema false allows no value, so nothing can be generated');
    if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) this.fail('SCHEMA_INVALID', path, `expected a schema object, got ${JSON.stringify(schema)}`);
    const s = schema as Schema;
    for (const key of Object.keys(s)) {
      if (!SUPPORTED.has(key) && !ANNOTATIONS.has(key)) this.fail('SCHEMA_UNSUPPORTED', `${path}/${key}`, `keyword ${key} is not supported`);
    }
    if (typeof s.$ref === 'string') {
      const ref = s.$ref;
      let rule = this.refs.get(ref);
      if (rule === undefined) {
        const target = this.resolve(ref, `${path}/$ref`);
        rule = `${this.prefix}-ref-${ref.replace(/^#\/(\$defs|definitions)\//, '').replace(/[^a-zA-Z0-9-]+/g, '-')}`;
        this.refs.set(ref, rule);
        // Named before its body is built, so a recursive schema refers to itself by name.
        this.rules.set(rule, '');
        this.rules.set(rule, this.visit(target.schema, target.path, rule));
      }
      return rule;
    }
    if ('const' in s) return `${gbnfLiteral(JSON.stringify(s.const))} ${this.primitive('space')}`;
    if (Array.isArray(s.enum)) {
      if (s.enum.length === 0) this.fail('SCHEMA_INVALID', `${path}/enum`, 'an empty enum allows no value');
      return `( ${s.enum.map((v) => gbnfLiteral(JSON.stringify(v))).join(' | ')} ) ${this.primitive('space')}`;
    }
    for (const key of ['anyOf', 'oneOf'] as const) {
      const list = s[key];
      if (list === undefined) continue;
      if (!Array.isArray(list) || list.length === 0) this.fail('SCHEMA_INVALID', `${path}/${key}`, `${key} must be a non-empty array`);
      return `( ${list.map((sub, i) => this.rule(`${name}-${i}`, this.visit(sub, `${path}/${key}/${i}`, `${name}-${i}`))).join(' | ')} )`;
    }
    if (s.allOf !== undefined) return this.visit(this.mergeAllOf(s, path), path, name);
    const type = s.type;
    if (Array.isArray(type)) {
      return `( ${type.map((t, i) => this.rule(`${name}-${String(t)}`, this.visit({ ...s, type: t }, `${path}/type/${i}`, `${name}-${String(t)}`))).join(' | ')} )`;
    }
    switch (type) {
      case 'object':
        return this.object(s, path, name);
      case 'array':
        return this.array(s, path, name);
      case 'string':
        return this.string(s, path, name);
      case 'integer':
      case 'number': {
        if (s.minimum !== undefined) {
          // Only the common "not negative" bound: the sign goes away.
          if (s.minimum !== 0) this.fail('SCHEMA_UNSUPPORTED', `${path}/minimum`, 'only minimum: 0 is supported');
          const rest = type === 'integer' ? '' : ` ( "." ${this.primitive('decimal-part')} )? ( [eE] [-+]? ${this.primitive('integral-part')} )?`;
          return `${this.primitive('integral-part')}${rest} ${this.primitive('space')}`;
        }
        return this.primitive(type);
      }
      case 'boolean':
      case 'null':
        return this.primitive(type);
      case undefined:
        if (s.properties !== undefined) return this.object(s, path, name);
        if (s.items !== undefined) return this.array(s, path, name);
        return this.primitive('value');
      default:
        return this.fail('SCHEMA_INVALID', `${path}/type`, `unknown type ${JSON.stringify(type)}`);
    }
  }

  /** allOf of object schemas (or references to them): their properties and required lists combined. */
  private mergeAllOf(s: Schema, path: string): Schema {
    const list = s.allOf;
    if (!Array.isArray(list) || list.length === 0) this.fail('SCHEMA_INVALID', `${path}/allOf`, 'allOf must be a non-empty array');
    const properties: Record<string, unknown> = {};
    const required = new Set<string>();
    let additional: unknown;
    const parts: Array<{ schema: unknown; path: string }> = [{ schema: { ...s, allOf: undefined }, path }, ...list.map((sub, i) => ({ schema: sub, path: `${path}/allOf/${i}` }))];
    for (let { schema: part, path: partPath } of parts) {
      while (typeof part === 'object' && part !== null && typeof (part as Schema).$ref === 'string') ({ schema: part, path: partPath } = this.resolve((part as Schema).$ref as string, partPath));
      if (typeof part !== 'object' || part === null) this.fail('SCHEMA_UNSUPPORTED', partPath, 'allOf is supported for object schemas only');
      const p = part as Schema;
      for (const key of Object.keys(p)) {
        if (p[key] === undefined || ANNOTATIONS.has(key)) continue;
        if (!['type', 'properties', 'required', 'additionalProperties'].includes(key)) this.fail('SCHEMA_UNSUPPORTED', `${partPath}/${key}`, 'allOf is supported for object schemas (type, properties, required, additionalProperties) only');
      }
      if (p.type !== undefined && p.type !== 'object') this.fail('SCHEMA_UNSUPPORTED', `${partPath}/type`, 'allOf is supported for object schemas only');
      Object.assign(properties, p.properties ?? {});
      for (const r of (p.required as string[] | undefined) ?? []) required.add(r);
      if (p.additionalProperties !== undefined) additional = p.additionalProperties;
    }
    return { type: 'object', properties, required: [...required], ...(additional === undefined ? {} : { additionalProperties: additional }) };
  }

  private object(s: Schema, path: string, name: string): string {
    const properties = s.properties ?? {};
    if (typeof properties !== 'object' || properties === null || Array.isArray(properties)) this.fail('SCHEMA_INVALID', `${path}/properties`, 'properties must be an object');
    const required = s.required ?? [];
    if (!Array.isArray(required) || required.some((r) => typeof r !== 'string')) this.fail('SCHEMA_INVALID', `${path}/required`, 'required must be an array of property names');
    const keys = Object.keys(properties);
    for (const r of required as string[]) if (!keys.includes(r)) this.fail('SCHEMA_UNSUPPORTED', `${path}/required`, `required property ${JSON.stringify(r)} has no schema in properties`);
    const space = this.primitive('space');
    // Declared order; a property may be left out unless required.
    const kvs = keys.map((key) => {
      const value = this.visit((properties as Schema)[key], `${path}/properties/${key}`, `${name}-${key}`);
      return this.rule(`${name}-${key}-kv`, `${gbnfLiteral(JSON.stringify(key))} ${space} ":" ${space} ${value}`);
    });
    const optional = keys.map((key) => !(required as string[]).includes(key));
    const additionalSchema = s.additionalProperties;
    let extraKv: string | undefined;
    if (additionalSchema === true || (typeof additionalSchema === 'object' && additionalSchema !== null)) {
      const value = additionalSchema === true ? this.primitive('value') : this.visit(additionalSchema, `${path}/additionalProperties`, `${name}-additional`);
      extraKv = this.rule(`${name}-additional-kv`, `${this.keyOtherThan(keys, name)} ":" ${space} ${value}`);
    } else if (additionalSchema !== undefined && additionalSchema !== false) {
      this.fail('SCHEMA_INVALID', `${path}/additionalProperties`, 'additionalProperties must be a boolean or a schema');
    }
    // after[i]: what may follow once something was written and properties i.. remain; first[i]: nothing written yet.
    const n = keys.length;
    const after: string[] = new Array<string>(n + 1);
    const first: string[] = new Array<string>(n + 1);
    after[n] = extraKv === undefined ? '' : `( "," ${space} ${extraKv} )*`;
    first[n] = extraKv === undefined ? '' : `( ${extraKv} ( "," ${space} ${extraKv} )* )?`;
    for (let i = n - 1; i >= 0; i--) {
      const tailRule = (body: string, kind: string): string => (body === '' ? '' : this.rule(`${name}-${kind}${i + 1}`, body));
      const afterNext = tailRule(after[i + 1]!, 'after');
      const withThis = `"," ${space} ${kvs[i]} ${afterNext}`.trim();
      // An empty alternative is written "" (a trailing "|" would run into the next line's rule).
      after[i] = optional[i] ? `${withThis} | ${afterNext === '' ? '""' : afterNext}` : withThis;
      const firstNext = tailRule(first[i + 1]!, 'first');
      const startHere = `${kvs[i]} ${afterNext}`.trim();
      first[i] = optional[i] ? `${startHere} | ${firstNext === '' ? '""' : firstNext}` : startHere;
    }
    const body = first[0] === '' ? '' : this.rule(`${name}-props`, first[0]!);
    return `"{" ${space} ${body} "}" ${space}`;
  }

  /**
   * A JSON string that is none of `keys` (so an additional property cannot repeat a declared one): a walk down
   * the trie of the keys' characters that leaves it (another character, an escape) or stops short of a key's end.
   */
  private keyOtherThan(keys: readonly string[], name: string): string {
    if (keys.length === 0) return this.primitive('string');
    const char = this.primitive('char');
    const space = this.primitive('space');
    const rest = this.rule('string-rest', `${char}* "\\"" ${space}`);
    interface Node {
      readonly children: Map<number, Node>;
      terminal: boolean;
    }
    const root: Node = { children: new Map(), terminal: false };
    for (const key of keys) {
      let node = root;
      for (const ch of key) {
        const cp = ch.codePointAt(0)!;
        let next = node.children.get(cp);
        if (next === undefined) {
          next = { children: new Map(), terminal: false };
          node.children.set(cp, next);
        }
        node = next;
      }
      node.terminal = true;
    }
    let count = 0;
    const build = (node: Node): string => {
      const id = count++;
      const others = [...node.children.keys()].filter((cp) => cp > 0x1f && cp !== 0x22 && cp !== 0x5c && cp !== 0x7f);
      const alternatives = [
        `[^"\\\\\\x7F\\x00-\\x1F${others.map(classChar).join('')}] ${rest}`,
        `[\\\\] ( ["\\\\/bfnrt] | "u" [0-9a-fA-F]{4} ) ${rest}`,
      ];
      for (const [cp, child] of node.children) {
        // A key with a character a JSON string must escape is simply not excluded.
        if (cp <= 0x1f || cp === 0x22 || cp === 0x5c || cp === 0x7f) continue;
        alternatives.push(`${gbnfLiteral(String.fromCodePoint(cp))} ${build(child)}`);
      }
      if (!node.terminal) alternatives.push(`"\\"" ${space}`);
      return this.rule(`${name}-other-key-${id}`, alternatives.join(' | '));
    };
    return `"\\"" ${build(root)}`;
  }

  private count(s: Schema, key: string, path: string): number | undefined {
    const v = s[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) this.fail('SCHEMA_INVALID', `${path}/${key}`, `${key} must be a non-negative integer`);
    if (v > GRAMMAR_LIMITS.maxRepetition) this.fail('SCHEMA_UNSUPPORTED', `${path}/${key}`, `${key} = ${v} is above ${GRAMMAR_LIMITS.maxRepetition}`);
    return v;
  }

  /** `{m,n}` of GBNF for bounds given as counts (min 0, max undefined = unbounded). */
  private static braces(min: number, max: number | undefined): string {
    if (max === undefined) return min === 0 ? '*' : min === 1 ? '+' : `{${min},}`;
    return min === max ? `{${min}}` : `{${min},${max}}`;
  }

  private array(s: Schema, path: string, name: string): string {
    const space = this.primitive('space');
    const min = this.count(s, 'minItems', path) ?? 0;
    const max = this.count(s, 'maxItems', path);
    if (max !== undefined && max < min) this.fail('SCHEMA_INVALID', `${path}/maxItems`, `maxItems ${max} is below minItems ${min}`);
    const tuple = Array.isArray(s.prefixItems) ? s.prefixItems : Array.isArray(s.items) ? s.items : undefined;
    if (tuple !== undefined) {
      // A tuple: exactly these items, in order.
      const key = Array.isArray(s.prefixItems) ? 'prefixItems' : 'items';
      const items = tuple.map((sub, i) => this.visit(sub, `${path}/${key}/${i}`, `${name}-${i}`));
      return `"[" ${space} ${items.map((item, i) => (i === 0 ? item : `"," ${space} ${item}`)).join(' ')} "]" ${space}`;
    }
    const item = this.rule(`${name}-item`, s.items === undefined ? this.primitive('value') : this.visit(s.items, `${path}/items`, `${name}-item`));
    if (max === 0) return `"[" ${space} "]" ${space}`;
    const rest = `( "," ${space} ${item} )${Converter.braces(Math.max(0, min - 1), max === undefined ? undefined : max - 1)}`;
    const list = `${item} ${rest}`;
    return `"[" ${space} ${min === 0 ? `( ${list} )?` : list} "]" ${space}`;
  }

  private string(s: Schema, path: string, name: string): string {
    const space = this.primitive('space');
    if (s.pattern !== undefined) {
      if (typeof s.pattern !== 'string') this.fail('SCHEMA_INVALID', `${path}/pattern`, 'pattern must be a string');
      if (s.minLength !== undefined || s.maxLength !== undefined || s.format !== undefined) this.fail('SCHEMA_UNSUPPORTED', `${path}/pattern`, 'pattern together with minLength, maxLength or format is not supported');
      const body = new PatternConverter(s.pattern, `${path}/pattern`, this).convert();
      return `"\\"" ${this.rule(`${name}-pattern`, body)} "\\"" ${space}`;
    }
    if (s.format !== undefined) {
      const format = s.format === 'date-time' ? `${FORMATS.date} "T" ${FORMATS.time}` : FORMATS[s.format as string];
      if (format === undefined) this.fail('SCHEMA_UNSUPPORTED', `${path}/format`, `format ${JSON.stringify(s.format)} is not supported (date, time, date-time, uuid are)`);
      return `"\\"" ${this.rule(`${name}-format`, format)} "\\"" ${space}`;
    }
    const min = this.count(s, 'minLength', path) ?? 0;
    const max = this.count(s, 'maxLength', path);
    if (max !== undefined && max < min) this.fail('SCHEMA_INVALID', `${path}/maxLength`, `maxLength ${max} is below minLength ${min}`);
    if (min === 0 && max === undefined) return this.primitive('string');
    return `"\\"" ${this.primitive('char')}${Converter.braces(min, max)} "\\"" ${space}`;
  }

  output(root: string, body: string): string {
    const lines = [`${root} ::= ${body}`];
    for (const [rule, text] of this.rules) lines.push(`${rule} ::= ${text}`);
    return `${lines.join('\n')}\n`;
  }
}

/**
 * A bounded subset of regular expressions (ECMA syntax) in a JSON schema `pattern`, as a GBNF expression over
 * the characters of a JSON string: anchored `^...$`, literals and escapes, `.`, classes, `\d \w \s` (and
 * negations), groups `( )` `(?: )`, `|`, `* + ? {m} {m,} {m,n}`. Characters a JSON string must escape are
 * written escaped; classes and `.` never produce `"`, `\` or control characters.
 */
class PatternConverter {
  private pos = 0;
  private readonly chars: string[];

  constructor(
    private readonly pattern: string,
    private readonly path: string,
    private readonly converter: Converter,
  ) {
    this.chars = Array.from(pattern);
  }

  private unsupported(what: string): never {
    return this.converter.fail('SCHEMA_UNSUPPORTED', this.path, `pattern ${JSON.stringify(this.pattern)}: ${what} at offset ${this.pos} is not supported`);
  }

  convert(): string {
    if (this.chars[0] !== '^' || this.chars[this.chars.length - 1] !== '$' || this.chars[this.chars.length - 2] === '\\') {
      this.converter.fail('SCHEMA_UNSUPPORTED', this.path, `pattern ${JSON.stringify(this.pattern)}: only anchored patterns (^...$) are supported`);
    }
    this.chars.pop();
    this.pos = 1;
    const body = this.alternation();
    if (this.pos < this.chars.length) this.unsupported(`"${this.chars[this.pos]}"`);
    return body;
  }

  private alternation(): string {
    const alts = [this.sequence()];
    while (this.chars[this.pos] === '|') {
      this.pos++;
      alts.push(this.sequence());
    }
    return alts.length === 1 ? alts[0]! : alts.map((a) => `( ${a} )`).join(' | ');
  }

  private sequence(): string {
    const items: string[] = [];
    for (;;) {
      const c = this.chars[this.pos];
      if (c === undefined || c === '|' || c === ')') break;
      let atom: string;
      if (c === '(') {
        this.pos++;
        if (this.chars[this.pos] === '?') {
          if (this.chars[this.pos + 1] !== ':') this.unsupported('a lookaround or named group');
          this.pos += 2;
        }
        atom = `( ${this.alternation()} )`;
        if (this.chars[this.pos] !== ')') this.converter.fail('SCHEMA_INVALID', this.path, `pattern ${JSON.stringify(this.pattern)}: unclosed group`);
        this.pos++;
      } else if (c === '[') atom = this.charClass();
      else if (c === '.') {
        this.pos++;
        atom = this.jsonChars([], true);
      } else if (c === '\\') atom = this.escape();
      else if (c === '^' || c === '$') return this.unsupported(`anchor "${c}" inside the pattern`);
      else if ('*+?{'.includes(c)) return this.unsupported(`quantifier "${c}" with nothing to repeat`);
      else {
        this.pos++;
        atom = this.literal(c.codePointAt(0)!);
      }
      items.push(atom + this.quantifier());
    }
    return items.length === 0 ? '""' : items.join(' ');
  }

  private quantifier(): string {
    const c = this.chars[this.pos];
    let q = '';
    if (c === '*' || c === '+' || c === '?') {
      this.pos++;
      q = c;
    } else if (c === '{') {
      const match = /^\{(\d+)(,(\d*))?\}/.exec(this.chars.slice(this.pos).join(''));
      if (match === null) return this.unsupported('"{" that is not a {m,n} quantifier');
      this.pos += Array.from(match[0]).length;
      const m = Number(match[1]);
      const n = match[2] === undefined ? m : match[3] === '' ? undefined : Number(match[3]);
      if (m > GRAMMAR_LIMITS.maxRepetition || (n !== undefined && n > GRAMMAR_LIMITS.maxRepetition)) this.unsupported(`a repetition above ${GRAMMAR_LIMITS.maxRepetition}`);
      q = n === undefined ? `{${m},}` : m === n ? `{${m}}` : `{${m},${n}}`;
    }
    if (q !== '' && (this.chars[this.pos] === '?' || this.chars[this.pos] === '+')) this.unsupported('a lazy or possessive quantifier');
    return q === '' ? '' : q;
  }

  /** One literal character as it appears inside a JSON string. */
  private literal(cp: number): string {
    if (cp === 0x22) return '"\\\\\\""';
    if (cp === 0x5c) return '"\\\\\\\\"';
    if (cp < 0x20) return gbnfLiteral(JSON.stringify(String.fromCodePoint(cp)).slice(1, -1));
    return gbnfLiteral(String.fromCodePoint(cp));
  }

  private static readonly CLASSES: Readonly<Record<string, Array<[number, number]>>> = {
    d: [[0x30, 0x39]],
    w: [[0x30, 0x39], [0x41, 0x5a], [0x5f, 0x5f], [0x61, 0x7a]],
    s: [[0x20, 0x20], [0x09, 0x0d]],
  };

  private escape(): string {
    const e = this.chars[this.pos + 1];
    this.pos += 2;
    if (e === undefined) return this.unsupported('a trailing "\\"');
    const cls = PatternConverter.CLASSES[e.toLowerCase()];
    if (cls !== undefined) return this.jsonChars(cls, e !== e.toLowerCase());
    const cp = this.escapedChar(e);
    return this.literal(cp);
  }

  private escapedChar(e: string): number {
    switch (e) {
      case 'n':
        return 0x0a;
      case 't':
        return 0x09;
      case 'r':
        return 0x0d;
      default:
        if (/^[\\^$.|?*+()[\]{}/\-"]$/.test(e)) return e.codePointAt(0)!;
        return this.unsupported(`escape "\\${e}"`);
    }
  }

  private charClass(): string {
    this.pos++;
    let negated = false;
    if (this.chars[this.pos] === '^') {
      negated = true;
      this.pos++;
    }
    const ranges: Array<[number, number]> = [];
    const one = (): number | Array<[number, number]> => {
      const c = this.chars[this.pos];
      if (c === undefined) return this.converter.fail('SCHEMA_INVALID', this.path, `pattern ${JSON.stringify(this.pattern)}: unclosed character class`);
      this.pos++;
      if (c !== '\\') return c.codePointAt(0)!;
      const e = this.chars[this.pos++];
      if (e === undefined) return this.unsupported('a trailing "\\"');
      const cls = PatternConverter.CLASSES[e];
      if (cls !== undefined) return cls;
      if (PatternConverter.CLASSES[e.toLowerCase()] !== undefined) return this.unsupported(`a negated class escape \\${e} inside [...]`);
      return this.escapedChar(e);
    };
    while (this.chars[this.pos] !== ']') {
      const lo = one();
      if (typeof lo !== 'number') {
        ranges.push(...lo);
        continue;
      }
      if (this.chars[this.pos] === '-' && this.chars[this.pos + 1] !== ']' && this.chars[this.pos + 1] !== undefined) {
        this.pos++;
        const hi = one();
        if (typeof hi !== 'number' || hi < lo) return this.converter.fail('SCHEMA_INVALID', this.path, `pattern ${JSON.stringify(this.pattern)}: bad range in a character class`);
        ranges.push([lo, hi]);
      } else ranges.push([lo, lo]);
    }
    this.pos++;
    return this.jsonChars(ranges, negated);
  }

  /**
   * A class as JSON string characters: the unescaped ones in a GBNF class (never `"`, `\` or controls), plus
   * the escaped forms of `"` and `\` when the class includes them.
   */
  private jsonChars(ranges: Array<[number, number]>, negated: boolean): string {
    const inRanges = (cp: number): boolean => ranges.some(([lo, hi]) => cp >= lo && cp <= hi);
    const includes = (cp: number): boolean => inRanges(cp) !== negated;
    const parts: string[] = [];
    const body = ranges.map(([lo, hi]) => (lo === hi ? classChar(lo) : `${classChar(lo)}-${classChar(hi)}`)).join('');
    parts.push(negated ? `[^${body}"\\\\\\x00-\\x1F]` : `[${body}]`);
    if (!negated) {
      // A positive class: drop what a JSON string cannot hold raw, by intersecting with the negation.
      const safe = ranges.flatMap(([lo, hi]) => splitOut(lo, hi, [[0x00, 0x1f], [0x22, 0x22], [0x5c, 0x5c]]));
      parts[0] = safe.length === 0 ? '' : `[${safe.map(([lo, hi]) => (lo === hi ? classChar(lo) : `${classChar(lo)}-${classChar(hi)}`)).join('')}]`;
    }
    if (includes(0x22)) parts.push('"\\\\\\""');
    if (includes(0x5c)) parts.push('"\\\\\\\\"');
    const kept = parts.filter((p) => p !== '');
    if (kept.length === 0) return this.unsupported('a character class with no character a JSON string can hold');
    return kept.length === 1 ? kept[0]! : `( ${kept.join(' | ')} )`;
  }
}

/** [lo, hi] minus the given ranges. */
function splitOut(lo: number, hi: number, holes: ReadonlyArray<[number, number]>): Array<[number, number]> {
  let pieces: Array<[number, number]> = [[lo, hi]];
  for (const [hlo, hhi] of holes) {
    pieces = pieces.flatMap(([a, b]): Array<[number, number]> => {
      if (hhi < a || hlo > b) return [[a, b]];
      const out: Array<[number, number]> = [];
      if (a < hlo) out.push([a, hlo - 1]);
      if (b > hhi) out.push([hhi + 1, b]);
      return out;
    });
  }
  return pieces;
}

/**
 * A GBNF grammar whose sentences are the JSON texts valid under `schema` (the subset described in the
 * README: types, properties/required/additionalProperties, items/prefixItems/minItems/maxItems, enum,
 * const, anyOf/oneOf, allOf of objects, local $ref, string length, anchored patterns, date/time/uuid formats).
 * Properties come out in the order the schema declares them.
 * @throws JsonSchemaError: SCHEMA_UNSUPPORTED (a keyword or pattern construct, named with its path) or SCHEMA_INVALID.
 */
export function jsonSchemaToGbnf(schema: object | boolean, options: JsonSchemaToGbnfOptions = {}): string {
  const root = options.rootName ?? 'root';
  if (!/^[a-zA-Z0-9_-]+$/.test(root)) throw new JsonSchemaError('SCHEMA_INVALID', '#', `rootName ${JSON.stringify(root)} is not a GBNF rule name`);
  const converter = new Converter(schema, root);
  const body = converter.visit(schema, '#', '');
  return converter.output(root, body);
}

/** Any JSON object (OpenAI's `response_format: {type: 'json_object'}`). */
export function jsonObjectGbnf(rootName = 'root'): string {
  return jsonSchemaToGbnf({ type: 'object', additionalProperties: true }, { rootName });
}
