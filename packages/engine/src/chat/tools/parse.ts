import { scanJson } from './json-scan.js';
import type { ParsedReply, ToolCall, ToolCallFormat } from './types.js';

/** One piece of a streamed reply: visible text, or part of a tool call in OpenAI's `delta.tool_calls[]` shape. */
export type ToolStreamDelta =
  | { readonly content: string }
  | {
      readonly toolCall: {
        readonly index: number;
        readonly id?: string;
        readonly type?: 'function';
        readonly function: { readonly name?: string; readonly arguments: string };
      };
    };

export interface ToolParserOptions {
  /** Makes call ids (default: random; 9 letters and digits for `mistral`, whose templates demand that, else `call_` + 24). */
  readonly newId?: () => string;
  /** When given, a call of a name outside this set is not a call (its text stays content). */
  readonly names?: ReadonlySet<string>;
}

/** Where a call's markup may start: a literal opener, or (llama3) a bare `{"name":` object. */
interface Opener {
  readonly text: string;
  /** The opener is part of the JSON (a bare object): the JSON starts where the opener does. */
  readonly bare?: boolean;
}

interface FormatSyntax {
  readonly openers: readonly Opener[];
  /** Text expected after the JSON (optional at the end of the reply). */
  readonly closer?: string;
  /** The JSON may be an array of calls. */
  readonly arrays: boolean;
}

const SYNTAX: Readonly<Record<ToolCallFormat, FormatSyntax>> = {
  hermes: { openers: [{ text: '<tool_call>' }], closer: '</tool_call>', arrays: false },
  phi4: { openers: [{ text: '<|tool_call|>' }], closer: '<|/tool_call|>', arrays: true },
  mistral: { openers: [{ text: '[TOOL_CALLS]' }], arrays: true },
  llama3: { openers: [{ text: '<|python_tag|>' }, { text: '{', bare: true }], arrays: false },
};

const BARE_CALL = /^\{\s*"name"\s*:/;
const NAME_KEY = '"name"';
const WHITESPACE = /^\s*$/;

/** Could `rest` (a `{` and what follows it, to the end of the text so far) still grow into `{"name":`? */
function couldStartBareCall(rest: string): boolean {
  let i = 1;
  while (i < rest.length && /\s/.test(rest[i]!)) i++;
  const after = rest.slice(i);
  if (after.length <= NAME_KEY.length) return NAME_KEY.startsWith(after);
  if (!after.startsWith(NAME_KEY)) return false;
  return /^\s*$/.test(after.slice(NAME_KEY.length));
}

function randomId(length: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]!).join('');
}

/** A fresh call id in the format's convention. */
export function newToolCallId(format: ToolCallFormat): string {
  return format === 'mistral' ? randomId(9) : `call_${randomId(24)}`;
}

/** The `{name, arguments}` pairs a parsed JSON value holds, or undefined when it is not (only) calls. */
function callsOf(value: unknown, arrays: boolean, names: ReadonlySet<string> | undefined): Array<{ name: string; arguments: string }> | undefined {
  const items = Array.isArray(value) ? (arrays ? value : undefined) : [value];
  if (items === undefined || items.length === 0) return undefined;
  const calls: Array<{ name: string; arguments: string }> = [];
  for (const item of items) {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) return undefined;
    const { name } = item as Record<string, unknown>;
    if (typeof name !== 'string' || name.length === 0 || (names !== undefined && !names.has(name))) return undefined;
    const record = item as Record<string, unknown>;
    let args = 'arguments' in record ? record.arguments : 'parameters' in record ? record.parameters : {};
    if (typeof args === 'string') {
      try {
        args = JSON.parse(args) as unknown;
      } catch {
        return undefined;
      }
    }
    if (typeof args !== 'object' || args === null || Array.isArray(args)) return undefined;
    calls.push({ name, arguments: JSON.stringify(args) });
  }
  return calls;
}

/**
 * Splits a model's reply, as it streams, into visible text and tool calls of one `format`. Text that might
 * be the start of call markup is held back until it is known, so markup never reaches `content`; a call is
 * announced once its JSON is complete and valid (first its index, id and name, then its `arguments` as one
 * fragment), so a malformed call is never half-announced: its text stays content, exactly as the one-shot
 * `parseToolCalls` reports it. Whitespace between text and a call belongs to the markup and is dropped.
 * Feeding the reply in any split gives the same content and calls.
 */
export class ToolCallStreamParser {
  private readonly syntax: FormatSyntax;
  private readonly newId: () => string;
  private readonly names: ReadonlySet<string> | undefined;
  /** Text not decided yet. */
  private buffer = '';
  /** Whitespace held until the next text shows whether it sits next to a call. */
  private pendingSpace = '';
  /** A call just ended: whitespace after it is markup too. */
  private afterCall = false;
  private content = '';
  private readonly calls: ToolCall[] = [];
  private finished = false;

  constructor(
    readonly format: ToolCallFormat,
    options: ToolParserOptions = {},
  ) {
    this.syntax = SYNTAX[format];
    this.newId = options.newId ?? (() => newToolCallId(format));
    this.names = options.names;
  }

  /** Adds generated text; returns what became certain. */
  push(text: string): ToolStreamDelta[] {
    if (this.finished) throw new Error('ToolCallStreamParser: push() after finish()');
    this.buffer += text;
    const out: ToolStreamDelta[] = [];
    this.drain(false, out);
    return out;
  }

  /** The end of the reply: what was held back is decided (an unclosed call whose JSON is complete still counts). */
  finish(): ToolStreamDelta[] {
    if (this.finished) return [];
    const out: ToolStreamDelta[] = [];
    this.drain(true, out);
    this.finished = true;
    if (this.calls.length === 0 && this.pendingSpace !== '') {
      out.push({ content: this.pendingSpace });
      this.content += this.pendingSpace;
    }
    this.pendingSpace = '';
    return out;
  }

  /** Content and calls so far (all of them after `finish()`). */
  result(): ParsedReply {
    return { content: this.content, toolCalls: [...this.calls] };
  }

  private emitText(text: string, out: ToolStreamDelta[]): void {
    if (this.afterCall) text = text.replace(/^\s+/, '');
    if (text === '') return;
    this.afterCall = false;
    if (WHITESPACE.test(text)) {
      this.pendingSpace += text;
      return;
    }
    const trailing = /\s*$/.exec(text)![0];
    const shown = this.pendingSpace + text.slice(0, text.length - trailing.length);
    this.pendingSpace = trailing;
    this.content += shown;
    out.push({ content: shown });
  }

  /** The first place an opener occurs in the buffer, and which. */
  private findOpener(): { at: number; opener: Opener } | undefined {
    let best: { at: number; opener: Opener } | undefined;
    for (const opener of this.syntax.openers) {
      let at = this.buffer.indexOf(opener.text);
      if (opener.bare === true) {
        while (at >= 0 && !BARE_CALL.test(this.buffer.slice(at))) {
          // An unfinished `{ "na` may still become a call: that position counts as found (and waits).
          if (couldStartBareCall(this.buffer.slice(at))) break;
          at = this.buffer.indexOf(opener.text, at + 1);
        }
      }
      if (at >= 0 && (best === undefined || at < best.at)) best = { at, opener };
    }
    return best;
  }

  /** How many final characters of the buffer might begin an opener (held back). */
  private heldSuffix(): number {
    let held = 0;
    for (const { text, bare } of this.syntax.openers) {
      if (bare === true) continue;
      for (let k = Math.min(text.length - 1, this.buffer.length); k > held; k--) {
        if (this.buffer.endsWith(text.slice(0, k))) {
          held = k;
          break;
        }
      }
    }
    return held;
  }

  private drain(final: boolean, out: ToolStreamDelta[]): void {
    for (;;) {
      const found = this.findOpener();
      if (found === undefined) {
        const keep = final ? 0 : this.heldSuffix();
        this.emitText(this.buffer.slice(0, this.buffer.length - keep), out);
        this.buffer = this.buffer.slice(this.buffer.length - keep);
        return;
      }
      const { at, opener } = found;
      this.emitText(this.buffer.slice(0, at), out);
      this.buffer = this.buffer.slice(at);
      const decided = this.takeCall(opener, final, out);
      if (decided === 'wait') return;
      if (decided === 'not-a-call') {
        // The opener is plain text after all; look for the next one after it.
        const skip = opener.bare === true ? 1 : opener.text.length;
        this.emitText(this.buffer.slice(0, skip), out);
        this.buffer = this.buffer.slice(skip);
      }
    }
  }

  /** Tries to read one call block at the start of the buffer. */
  private takeCall(opener: Opener, final: boolean, out: ToolStreamDelta[]): 'taken' | 'wait' | 'not-a-call' {
    const buffer = this.buffer;
    let start = opener.bare === true ? 0 : opener.text.length;
    while (start < buffer.length && /\s/.test(buffer[start]!)) start++;
    if (opener.bare === true && !BARE_CALL.test(buffer)) return final ? 'not-a-call' : 'wait';
    const extent = scanJson(buffer, start);
    if (extent === 'incomplete') return final ? 'not-a-call' : 'wait';
    if (extent === 'invalid') return 'not-a-call';
    const calls = callsOf(extent.value, this.syntax.arrays, this.names);
    if (calls === undefined) return 'not-a-call';
    let end = extent.end;
    const closer = this.syntax.closer;
    if (closer !== undefined) {
      let next = end;
      while (next < buffer.length && /\s/.test(buffer[next]!)) next++;
      const rest = buffer.slice(next);
      if (rest.startsWith(closer)) end = next + closer.length;
      else if (!final && closer.startsWith(rest)) return 'wait';
    }
    this.pendingSpace = '';
    this.afterCall = true;
    for (const call of calls) {
      const index = this.calls.length;
      const id = this.newId();
      this.calls.push({ id, type: 'function', function: call });
      out.push({ toolCall: { index, id, type: 'function', function: { name: call.name, arguments: '' } } });
      out.push({ toolCall: { index, function: { arguments: call.arguments } } });
    }
    this.buffer = buffer.slice(end);
    return 'taken';
  }
}

/** The content and tool calls of a complete reply (the same as streaming it through `ToolCallStreamParser`). */
export function parseToolCalls(text: string, format: ToolCallFormat, options: ToolParserOptions = {}): ParsedReply {
  const parser = new ToolCallStreamParser(format, options);
  parser.push(text);
  parser.finish();
  return parser.result();
}
