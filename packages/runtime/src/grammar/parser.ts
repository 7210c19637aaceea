/**
 * A GBNF parser (llama.cpp's grammar syntax, grammars/README.md there): rules `name ::= alternatives`, `|`,
 * `( )`, `*` `+` `?` `{m}` `{m,}` `{m,n}` `{,n}`, "literals" with escapes, [classes], [^negated], `.`, `#`
 * comments. Repetitions are expanded into generated rules, so the compiled grammar has only two kinds of
 * elements: a character class and a rule reference.
 */
import { GrammarSyntaxError } from './errors.js';

/** Limits that keep a hostile grammar from taking unbounded memory or time. */
export const GRAMMAR_LIMITS = {
  /** Characters (UTF-16 units) of grammar text. */
  maxTextLength: 256 * 1024,
  /** Rules, generated ones (groups, repetitions) included. */
  maxRules: 20_000,
  /** The largest m or n in `{m,n}`. */
  maxRepetition: 4096,
  /** Elements of all rules after expanding repetitions. */
  maxElements: 1 << 21,
} as const;

/** One character class: sorted, merged inclusive code point ranges (pairs), maybe negated. */
export class CharClass {
  /** Membership of the ASCII code points, after negation (the common case, checked without a search). */
  private readonly ascii = new Uint8Array(128);

  constructor(
    /** lo0, hi0, lo1, hi1, ... sorted and disjoint. */
    readonly ranges: Int32Array,
    readonly negated: boolean,
  ) {
    for (let c = 0; c < 128; c++) this.ascii[c] = this.inRanges(c) !== negated ? 1 : 0;
  }

  private inRanges(cp: number): boolean {
    const r = this.ranges;
    for (let i = 0; i < r.length; i += 2) {
      if (cp < r[i]!) return false;
      if (cp <= r[i + 1]!) return true;
    }
    return false;
  }

  matches(cp: number): boolean {
    return cp < 128 ? this.ascii[cp] === 1 : this.inRanges(cp) !== this.negated;
  }

  /** Whether some code point in [lo, hi] matches (for a partial UTF-8 character). */
  intersects(lo: number, hi: number): boolean {
    const r = this.ranges;
    if (!this.negated) {
      for (let i = 0; i < r.length; i += 2) if (r[i]! <= hi && r[i + 1]! >= lo) return true;
      return false;
    }
    // Negated: some point of [lo, hi] lies outside every range (the ranges are sorted and disjoint).
    let next = lo;
    for (let i = 0; i < r.length && next <= hi; i += 2) {
      if (r[i + 1]! < next) continue;
      if (r[i]! > next) return true;
      next = r[i + 1]! + 1;
    }
    return next <= hi;
  }
}

export const ELEMENT_END = 0;
export const ELEMENT_CHAR = 1;
export const ELEMENT_RULE = 2;

/**
 * A compiled grammar: every alternative of every rule is a run of elements in `kinds`/`args` ending with
 * ELEMENT_END. A char element's arg indexes `classes`; a rule element's arg is a rule id.
 */
export interface CompiledGrammar {
  readonly source: string;
  readonly rootRule: number;
  readonly ruleNames: readonly string[];
  readonly kinds: Uint8Array;
  readonly args: Int32Array;
  /** Start position of each alternative, per rule. */
  readonly alternatives: readonly Int32Array[];
  readonly classes: readonly CharClass[];
}

type Item = { readonly char: number } | { readonly rule: number };

const MAX_CODE_POINT = 0x10ffff;

function normaliseRanges(pairs: number[]): Int32Array {
  const list: Array<[number, number]> = [];
  for (let i = 0; i < pairs.length; i += 2) list.push([pairs[i]!, pairs[i + 1]!]);
  list.sort((a, b) => a[0] - b[0]);
  const merged: number[] = [];
  for (const [lo, hi] of list) {
    const last = merged.length - 1;
    if (last > 0 && lo <= merged[last]! + 1) merged[last] = Math.max(merged[last]!, hi);
    else merged.push(lo, hi);
  }
  return Int32Array.from(merged);
}

const isNameChar = (c: number | undefined): boolean =>
  c !== undefined && ((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x5f);
const isDigit = (c: number | undefined): boolean => c !== undefined && c >= 0x30 && c <= 0x39;

class Parser {
  private readonly text: number[];
  private pos = 0;
  private readonly ruleIds = new Map<string, number>();
  readonly names: string[] = [];
  /** Alternatives of each rule (undefined until defined). */
  readonly bodies: Array<Item[][] | undefined> = [];
  /** Where each named rule was first referenced or defined, for errors. */
  readonly firstSeen: number[] = [];
  readonly classes: CharClass[] = [];
  private readonly classIds = new Map<string, number>();
  private elementCount = 0;

  constructor(readonly source: string) {
    this.text = Array.from(source, (ch) => ch.codePointAt(0)!);
  }

  /** 1-based line and column (in code points) of a text index. */
  where(index: number): [number, number] {
    let line = 1;
    let column = 1;
    for (let i = 0; i < index && i < this.text.length; i++) {
      if (this.text[i] === 0x0a) {
        line++;
        column = 1;
      } else column++;
    }
    return [line, column];
  }

  fail(message: string, index = this.pos, code: 'GRAMMAR_SYNTAX' | 'GRAMMAR_TOO_LARGE' = 'GRAMMAR_SYNTAX'): never {
    const [line, column] = this.where(index);
    throw new GrammarSyntaxError(code, line, column, message);
  }

  private found(): string {
    const c = this.text[this.pos];
    return c === undefined ? 'the end of the grammar' : c === 0x0a ? 'a newline' : JSON.stringify(String.fromCodePoint(c));
  }

  private peek(offset = 0): number | undefined {
    return this.text[this.pos + offset];
  }

  /** Skips spaces, tabs and comments; newlines too when `newlines`. */
  private skipSpace(newlines: boolean): void {
    for (;;) {
      const c = this.peek();
      if (c === 0x20 || c === 0x09 || (newlines && (c === 0x0a || c === 0x0d))) this.pos++;
      else if (c === 0x23) {
        while (this.peek() !== undefined && this.peek() !== 0x0a) this.pos++;
      } else return;
    }
  }

  ruleId(name: string, at: number): number {
    let id = this.ruleIds.get(name);
    if (id === undefined) {
      id = this.newRule(name, at);
      this.ruleIds.set(name, id);
    }
    return id;
  }

  private newRule(name: string, at: number): number {
    if (this.names.length >= GRAMMAR_LIMITS.maxRules) this.fail(`more than ${GRAMMAR_LIMITS.maxRules} rules (counting groups and repetitions)`, at, 'GRAMMAR_TOO_LARGE');
    this.names.push(name);
    this.bodies.push(undefined);
    this.firstSeen.push(at);
    return this.names.length - 1;
  }

  private generated(base: number, alternatives: Item[][]): number {
    const id = this.newRule(`${this.names[base]}~${this.names.length}`, this.pos);
    this.define(id, alternatives);
    return id;
  }

  private define(id: number, alternatives: Item[][]): void {
    for (const alt of alternatives) this.elementCount += alt.length + 1;
    if (this.elementCount > GRAMMAR_LIMITS.maxElements) this.fail(`the grammar expands to more than ${GRAMMAR_LIMITS.maxElements} elements`, this.pos, 'GRAMMAR_TOO_LARGE');
    this.bodies[id] = alternatives;
  }

  private classId(ranges: number[], negated: boolean): number {
    const normal = normaliseRanges(ranges);
    const key = `${negated ? '^' : ''}${normal.join(',')}`;
    let id = this.classIds.get(key);
    if (id === undefined) {
      id = this.classes.length;
      this.classes.push(new CharClass(normal, negated));
      this.classIds.set(key, id);
    }
    return id;
  }

  parse(): void {
    if (this.source.length > GRAMMAR_LIMITS.maxTextLength) {
      throw new GrammarSyntaxError('GRAMMAR_TOO_LARGE', 0, 0, `the grammar is ${this.source.length} characters; at most ${GRAMMAR_LIMITS.maxTextLength} are allowed`);
    }
    this.skipSpace(true);
    if (this.peek() === undefined) this.fail('expected a rule (name ::= ...), the grammar is empty');
    while (this.peek() !== undefined) {
      this.parseRule();
      this.skipSpace(true);
    }
  }

  private parseName(): string {
    const start = this.pos;
    while (isNameChar(this.peek())) this.pos++;
    if (this.pos === start) this.fail(`expected a rule name, found ${this.found()}`);
    return String.fromCodePoint(...this.text.slice(start, this.pos));
  }

  private parseRule(): void {
    const start = this.pos;
    const name = this.parseName();
    this.skipSpace(false);
    if (!(this.peek() === 0x3a && this.peek(1) === 0x3a && this.peek(2) === 0x3d)) this.fail(`expected "::=" after rule name ${name}, found ${this.found()}`);
    this.pos += 3;
    this.skipSpace(true);
    const id = this.ruleId(name, start);
    if (this.bodies[id] !== undefined) this.fail(`rule ${name} is defined twice`, start);
    this.firstSeen[id] = start;
    const alternatives = this.parseAlternates(id, false);
    this.define(id, alternatives);
    this.skipSpace(false);
    const c = this.peek();
    if (c === 0x0d) this.pos++;
    if (this.peek() === 0x0a) this.pos++;
    else if (this.peek() !== undefined) this.fail(`expected a newline or the end of the grammar after rule ${name}, found ${this.found()}`);
  }

  private parseAlternates(rule: number, nested: boolean): Item[][] {
    const alternatives = [this.parseSequence(rule, nested)];
    for (;;) {
      if (this.peek() === 0x7c) {
        this.pos++;
        this.skipSpace(true);
        alternatives.push(this.parseSequence(rule, nested));
        continue;
      }
      // At the top level a line that starts with `|` continues the rule (llama.cpp needs parentheses for that).
      if (!nested && (this.peek() === 0x0a || this.peek() === 0x0d)) {
        const save = this.pos;
        this.skipSpace(true);
        if (this.peek() === 0x7c) continue;
        this.pos = save;
      }
      return alternatives;
    }
  }

  private parseSequence(rule: number, nested: boolean): Item[] {
    const items: Item[] = [];
    let lastStart = -1;
    for (;;) {
      const c = this.peek();
      const at = this.pos;
      if (c === 0x22) {
        this.pos++;
        lastStart = items.length;
        while (this.peek() !== 0x22) {
          if (this.peek() === undefined || this.peek() === 0x0a) this.fail('unterminated string literal: expected a closing "', at);
          const cp = this.parseChar();
          items.push({ char: this.classId([cp, cp], false) });
        }
        this.pos++;
      } else if (c === 0x5b) {
        this.pos++;
        lastStart = items.length;
        items.push({ char: this.parseClass(at) });
      } else if (c === 0x2e) {
        this.pos++;
        lastStart = items.length;
        items.push({ char: this.classId([], true) });
      } else if (isNameChar(c)) {
        lastStart = items.length;
        items.push({ rule: this.ruleId(this.parseName(), at) });
      } else if (c === 0x28) {
        this.pos++;
        this.skipSpace(true);
        const id = this.newRule(`${this.names[rule]}~${this.names.length}`, at);
        const alternatives = this.parseAlternates(rule, true);
        this.define(id, alternatives);
        if (this.peek() !== 0x29) this.fail(`expected ")" to close the group opened at ${this.where(at).join(':')}, found ${this.found()}`);
        this.pos++;
        lastStart = items.length;
        items.push({ rule: id });
      } else if (c === 0x2a || c === 0x2b || c === 0x3f || c === 0x7b) {
        if (lastStart < 0) this.fail(`"${String.fromCodePoint(c)}" must follow something to repeat`);
        this.pos++;
        let min = 0;
        let max = Infinity;
        if (c === 0x2b) min = 1;
        else if (c === 0x3f) max = 1;
        else if (c === 0x7b) [min, max] = this.parseBraces(at);
        const operand = items.splice(lastStart);
        const unit: Item = operand.length === 1 ? operand[0]! : { rule: this.generated(rule, [operand]) };
        items.push(...this.repeat(rule, unit, min, max));
        lastStart = -1;
      } else break;
      this.skipSpace(nested);
    }
    return items;
  }

  /** `{m}`, `{m,}`, `{m,n}`, `{,n}` (the `{` already consumed). */
  private parseBraces(at: number): [number, number] {
    this.skipSpace(false);
    const number = (): number | undefined => {
      const start = this.pos;
      while (isDigit(this.peek())) this.pos++;
      if (this.pos === start) return undefined;
      if (this.pos - start > 6) this.fail(`repetition bound is larger than ${GRAMMAR_LIMITS.maxRepetition}`, start, 'GRAMMAR_TOO_LARGE');
      const value = Number(String.fromCodePoint(...this.text.slice(start, this.pos)));
      if (value > GRAMMAR_LIMITS.maxRepetition) this.fail(`repetition bound ${value} is larger than ${GRAMMAR_LIMITS.maxRepetition}`, start, 'GRAMMAR_TOO_LARGE');
      return value;
    };
    const min = number();
    this.skipSpace(false);
    let max: number | undefined = min;
    if (this.peek() === 0x2c) {
      this.pos++;
      this.skipSpace(false);
      max = number() ?? Infinity;
      this.skipSpace(false);
    } else if (min === undefined) this.fail(`expected a number in the repetition {m,n}, found ${this.found()}`);
    if (this.peek() !== 0x7d) this.fail(`expected "}" to close the repetition, found ${this.found()}`);
    this.pos++;
    const lo = min ?? 0;
    if (max! < lo) this.fail(`repetition {${lo},${max}}: the maximum is below the minimum`, at);
    return [lo, max!];
  }

  /** `unit` min times, then up to max - min optional ones (nested, so there is one parse per count), or a loop. */
  private repeat(rule: number, unit: Item, min: number, max: number): Item[] {
    const items: Item[] = new Array<Item>(min).fill(unit);
    if (max === Infinity) {
      const loop = this.newRule(`${this.names[rule]}~${this.names.length}`, this.pos);
      this.define(loop, [[unit, { rule: loop }], []]);
      items.push({ rule: loop });
    } else if (max > min) {
      let tail: number | undefined;
      for (let k = 0; k < max - min; k++) {
        tail = this.generated(rule, [tail === undefined ? [unit] : [unit, { rule: tail }], []]);
      }
      items.push({ rule: tail! });
    }
    return items;
  }

  private parseClass(at: number): number {
    let negated = false;
    if (this.peek() === 0x5e) {
      negated = true;
      this.pos++;
    }
    const ranges: number[] = [];
    while (this.peek() !== 0x5d) {
      if (this.peek() === undefined) this.fail('unterminated character class: expected "]"', at);
      const lo = this.parseChar();
      let hi = lo;
      if (this.peek() === 0x2d && this.peek(1) !== 0x5d && this.peek(1) !== undefined) {
        this.pos++;
        const rangeAt = this.pos;
        hi = this.parseChar();
        if (hi < lo) this.fail(`character range is reversed (${String.fromCodePoint(lo)}-${String.fromCodePoint(hi)})`, rangeAt);
      }
      ranges.push(lo, hi);
    }
    this.pos++;
    return this.classId(ranges, negated);
  }

  /** One character of a literal or class, with llama.cpp's escapes. */
  private parseChar(): number {
    const c = this.peek()!;
    this.pos++;
    if (c !== 0x5c) return c;
    const e = this.peek();
    const at = this.pos - 1;
    this.pos++;
    switch (e) {
      case 0x6e:
        return 0x0a;
      case 0x72:
        return 0x0d;
      case 0x74:
        return 0x09;
      case 0x78:
        return this.parseHex(2, at);
      case 0x75:
        return this.parseHex(4, at);
      case 0x55:
        return this.parseHex(8, at);
      case undefined:
        return this.fail('expected a character after "\\"', at);
      default:
        if (e === 0x5c || e === 0x22 || e === 0x5b || e === 0x5d || e === 0x2d || e === 0x5e || e === 0x2f || e === 0x27) return e;
        return this.fail(`unknown escape "\\${String.fromCodePoint(e)}"`, at);
    }
  }

  private parseHex(digits: number, at: number): number {
    let value = 0;
    for (let i = 0; i < digits; i++) {
      const c = this.peek();
      const d = c === undefined ? -1 : parseInt(String.fromCodePoint(c), 16);
      if (!(d >= 0)) this.fail(`expected ${digits} hex digits after the escape, found ${this.found()}`);
      value = value * 16 + d;
      this.pos++;
    }
    if (value > MAX_CODE_POINT) this.fail(`escape \\U${value.toString(16)} is beyond U+10FFFF`, at);
    return value;
  }
}

/**
 * Compiles GBNF text; the start rule is `root` (or `rootName`).
 * @throws GrammarSyntaxError: GRAMMAR_SYNTAX (line:column and what was expected), GRAMMAR_UNDEFINED_RULE,
 * GRAMMAR_LEFT_RECURSION, GRAMMAR_TOO_LARGE.
 */
export function compileGrammar(source: string, rootName = 'root'): CompiledGrammar {
  if (typeof source !== 'string') throw new GrammarSyntaxError('GRAMMAR_SYNTAX', 0, 0, `expected the grammar as a string, got ${typeof source}`);
  const parser = new Parser(source);
  parser.parse();
  const { names, bodies, firstSeen } = parser;
  const undefinedAt = bodies.findIndex((body) => body === undefined);
  if (undefinedAt >= 0) {
    const [line, column] = parser.where(firstSeen[undefinedAt]!);
    throw new GrammarSyntaxError('GRAMMAR_UNDEFINED_RULE', line, column, `rule ${names[undefinedAt]} is used but never defined`);
  }
  const root = names.indexOf(rootName);
  if (root < 0) throw new GrammarSyntaxError('GRAMMAR_UNDEFINED_RULE', 0, 0, `the grammar has no start rule "${rootName}" (write ${rootName} ::= ...)`);
  const rules = bodies as Item[][][];
  checkLeftRecursion(parser, rules);

  let total = 0;
  for (const alts of rules) for (const alt of alts) total += alt.length + 1;
  const kinds = new Uint8Array(total);
  const args = new Int32Array(total);
  const alternatives: Int32Array[] = [];
  let at = 0;
  for (const alts of rules) {
    const starts = new Int32Array(alts.length);
    alts.forEach((alt, i) => {
      starts[i] = at;
      for (const item of alt) {
        if ('char' in item) {
          kinds[at] = ELEMENT_CHAR;
          args[at] = item.char;
        } else {
          kinds[at] = ELEMENT_RULE;
          args[at] = item.rule;
        }
        at++;
      }
      kinds[at++] = ELEMENT_END;
    });
    alternatives.push(starts);
  }
  return { source, rootRule: root, ruleNames: names, kinds, args, alternatives, classes: parser.classes };
}

/** Rejects a rule that reaches itself through leading references that can all match the empty string. */
function checkLeftRecursion(parser: Parser, rules: Item[][][]): void {
  const nullable = new Uint8Array(rules.length);
  for (let changed = true; changed; ) {
    changed = false;
    rules.forEach((alts, r) => {
      if (nullable[r] === 1) return;
      if (alts.some((alt) => alt.every((item) => 'rule' in item && nullable[item.rule] === 1))) {
        nullable[r] = 1;
        changed = true;
      }
    });
  }
  const leading = rules.map((alts) => {
    const out = new Set<number>();
    for (const alt of alts) {
      for (const item of alt) {
        if ('char' in item) break;
        out.add(item.rule);
        if (nullable[item.rule] !== 1) break;
      }
    }
    return out;
  });
  // Iterative DFS (a deep chain of rules must not overflow the JS stack): 0 new, 1 on the path, 2 done.
  const colour = new Uint8Array(rules.length);
  for (let start = 0; start < rules.length; start++) {
    if (colour[start] !== 0) continue;
    const path: Array<{ rule: number; next: Iterator<number> }> = [{ rule: start, next: leading[start]![Symbol.iterator]() }];
    colour[start] = 1;
    while (path.length > 0) {
      const top = path[path.length - 1]!;
      const step = top.next.next();
      if (step.done === true) {
        colour[top.rule] = 2;
        path.pop();
        continue;
      }
      const r = step.value;
      if (colour[r] === 1) {
        const cycle = [...path.slice(path.findIndex((p) => p.rule === r)).map((p) => p.rule), r].map((id) => parser.names[id]).join(' -> ');
        const named = path.find((p) => !/~\d+$/.test(parser.names[p.rule]!))?.rule ?? r;
        const [line, column] = parser.where(parser.firstSeen[named]!);
        throw new GrammarSyntaxError('GRAMMAR_LEFT_RECURSION', line, column, `left recursion: ${cycle} can repeat without consuming a character`);
      }
      if (colour[r] === 0) {
        colour[r] = 1;
        path.push({ rule: r, next: leading[r]![Symbol.iterator]() });
      }
    }
  }
}
