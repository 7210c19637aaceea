/**
 * The cases of the differential tokenizer check, shared by the harness (scripts/tokenizer-diff.ts, which
 * asks llama.cpp) and the conformance test (src/conformance/tokenizer-pre.test.ts, which replays what
 * llama.cpp answered): the texts, how a pre-tokenizer name is put into a vocabulary's metadata, and the
 * "boundary" vocabulary derived from GPT-2's.
 */
import { ModelMetadata, type MetadataValue } from '@smallmind/io-smq';

/** Strings that exercise the split rules: one family of cases per line. */
export const TEXTS: readonly string[] = [
  'Hello world',
  ' leading space and trailing   ',
  'a  b   c    d\t\te',
  'a' + ' '.repeat(20) + 'b' + ' '.repeat(40) + 'c',
  'line1\nline2\n\n  indented\r\nwindows\r\n\n\n',
  "I'm you're he'll we've she'd it's don't",
  "IT'S WE'LL YOU'RE I'M 'S 'Ll 'rE 'x",
  '1 12 123 1234 12345 1234567 3.14159 1,000,000',
  'abc12345def x1y22z333 2024-12-04 v1.2.3',
  '\u0663\u0664\u0665 \u0967\u0968\u0969 \u2460\u2461 \u216B \u00B2\u00BD',
  '\u4F60\u597D\u4E16\u754C\uFF0C\u8FD9\u662F\u4E00\u4E2A\u6D4B\u8BD5\u3002',
  '\u65E5\u672C\u8A9E\u306E\u30C6\u30AD\u30B9\u30C8\u3001\u30AB\u30BF\u30AB\u30CA',
  '\uD55C\uAD6D\uC5B4 \uD14D\uC2A4\uD2B8 \u3131\u3134',
  '\u4E2D\u6587English\u6DF7\u5408123\u4E2Dabc',
  '\u{1F44D}\u{1F3FD} \u{1F1E9}\u{1F1EA} \u{1F636}\u200D\u{1F32B}\uFE0F family \u{1F468}\u200D\u{1F469}\u200D\u{1F467}',
  'caf\u00E9 na\u00EFve r\u00E9sum\u00E9 \u00C9COLE',
  'e\u0301 a\u0308 n\u0303o \u0915\u093F \u0E01\u0E31',
  '\u0395\u03BB\u03BB\u03B7\u03BD\u03B9\u03BA\u03AC \u041A\u0438\u0440\u0438\u043B\u043B\u0438\u0446\u0430 \u0436\u0416',
  'Hello, world! How are you? (Fine.) [ok] {x} <tag> a-b_c',
  '...!!!??? --- === +++ $$$ ~~~ ^^^ ||| ``` @@@ ###',
  '`code` "quotes" \'single\' \u201Ccurly\u201D \u2018s\u2019',
  'def foo(x):\n    return x**2  # comment\n\tpass\n',
  'http://example.com/path?q=1&r=2#frag',
  '\u00A0nbsp\u3000ideo\u2028ls\u0085nel\u200Bzw\uFEFFbom',
  '<sentinel:12> IMGIMGABCZ <|endoftext|> </s>',
  'HelloWorld camelCase XMLHttpRequest ABCdef iPhone',
  '\u0928\u092E\u0938\u094D\u0924\u0947 \u0926\u0941\u0928\u093F\u092F\u093E',
  '\u0E2A\u0E27\u0E31\u0E2A\u0E14\u0E35\u0E04\u0E23\u0E31\u0E1A \u0645\u0631\u062D\u0628\u0627 \u05E9\u05DC\u05D5\u05DD',
  '\uE000\u0378\u{10FFFD} \u0007\u001F\u007F',
  'Mixed:\u4F60\u597D,world!\u3002\uFF01\u2026\u2014\u3001 ok',
  "Don't stop\n\n\n\nbelievin'   \u00BFQu\u00E9?  \u00A1S\u00ED!",
  'x!\n\ny?\r\n z;\n\n\n  end.\n',
  'ab \n\n\n cd\t\n\te',
  '   ',
  '\n',
  'x',
];

/** Metadata overrides, as recorded in fixtures/vocab/tokenizer-pre.json (strings and booleans only). */
export type Overrides = Readonly<Record<string, string | boolean>>;

/**
 * The metadata change that selects a pre name. `whitespace` is only used with the `whitespace` tokenizer
 * model (llama.cpp's converter pins both; under `gpt2` llama.cpp aborts on any word with a space).
 */
export function preOverrides(name: string): Record<string, string> {
  return name === 'whitespace' ? { 'tokenizer.ggml.pre': name, 'tokenizer.ggml.model': 'whitespace' } : { 'tokenizer.ggml.pre': name };
}

export function withOverrides(md: ModelMetadata, overrides: Overrides): ModelMetadata {
  const entries = new Map(md.entries);
  for (const [key, value] of Object.entries(overrides)) {
    entries.set(key, typeof value === 'string' ? { type: 8, value } : { type: 7, value });
  }
  return new ModelMetadata(entries);
}

/** GPT-2's byte alphabet: printable Latin-1 bytes stand for themselves, the rest map to U+0100 onwards. */
function byteLevel(text: string): string[] {
  const alphabet: string[] = [];
  let shifted = 0x100;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || b >= 0xae;
    alphabet.push(String.fromCodePoint(printable ? b : shifted++));
  }
  return [...new TextEncoder().encode(text)].map((b) => alphabet[b] as string);
}

function stringArray(md: ModelMetadata, key: string): readonly string[] {
  const v = md.get(key);
  if (v?.type !== 9) throw new Error(`${key} is not an array`);
  return v.value.values as readonly string[];
}

/**
 * GPT-2's vocabulary plus, for every two adjacent symbols of the texts (GPT-2 byte-level, and raw code
 * points with spaces as U+2581 for the SentencePiece-style rules), a token and a merge ranked before all
 * of GPT-2's. BPE never merges across a word boundary, so with these merges every difference in where a
 * pre-tokenizer cuts the texts shows in the ids; GPT-2's own merges hide many (a run of spaces is
 * single-space tokens whatever the split).
 */
export function withBoundaryPairs(md: ModelMetadata, texts: readonly string[]): ModelMetadata {
  const tokens = [...stringArray(md, 'tokenizer.ggml.tokens')];
  const known = new Set(tokens);
  const typeEntry = md.get('tokenizer.ggml.token_type');
  if (typeEntry?.type !== 9) throw new Error('tokenizer.ggml.token_type is not an array');
  const types = [...(typeEntry.value.values as readonly number[])];
  const pairs = new Set<string>();
  for (const text of texts) {
    for (const symbols of [byteLevel(text), [...text.replaceAll(' ', '\u2581')]]) {
      for (let i = 0; i + 1 < symbols.length; i++) {
        const pair = `${symbols[i]} ${symbols[i + 1]}`;
        // llama.cpp asserts that merge halves hold no space or newline.
        if ((pair.match(/[ \n]/g) ?? []).length === 1) pairs.add(pair);
      }
    }
  }
  // Runs of one symbol merge pairwise whatever the cut; a 3-run token makes the cut visible (Jais 2's
  // power-of-two whitespace chunks against \s+(?!\S)).
  for (const run of ['\u0120', '\u010A', '\u2581']) pairs.add(`${run}${run} ${run}`);
  const merges = [...pairs];
  for (const pair of merges) {
    const text = pair.replace(' ', '');
    if (known.has(text)) continue;
    known.add(text);
    tokens.push(text);
    types.push(1);
  }
  const array = (elementType: 5 | 8, values: readonly (string | number)[]): MetadataValue => ({ type: 9, value: { elementType, values } });
  const entries = new Map(md.entries);
  entries.set('tokenizer.ggml.tokens', array(8, tokens));
  entries.set('tokenizer.ggml.token_type', array(5, types));
  entries.set('tokenizer.ggml.merges', array(8, [...merges, ...stringArray(md, 'tokenizer.ggml.merges')]));
  return new ModelMetadata(entries);
}
