/** Where a JSON object or array that starts at `start` ends, if the text holds all of it. */
export type JsonExtent = { readonly end: number; readonly value: unknown } | 'incomplete' | 'invalid';

const CLOSER: Readonly<Record<string, string>> = { '{': '}', '[': ']' };

/**
 * Finds the end of the JSON object or array opening at `text[start]` by bracket matching outside strings,
 * then parses exactly that slice with `JSON.parse` (strict JSON: no comments, no trailing commas, no single
 * quotes). `incomplete` when the text stops before the value closes (more may come), `invalid` when it can
 * never become valid JSON. Work is linear in the text; the only allocation is the bracket stack, bounded by it.
 */
export function scanJson(text: string, start: number): JsonExtent {
  const first = text[start];
  if (first === undefined) return 'incomplete';
  if (first !== '{' && first !== '[') return 'invalid';
  const stack: string[] = [];
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      else if (c < ' ') return 'invalid';
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{' || c === '[') stack.push(CLOSER[c]!);
    else if (c === '}' || c === ']') {
      if (stack.pop() !== c) return 'invalid';
      if (stack.length === 0) {
        try {
          return { end: i + 1, value: JSON.parse(text.slice(start, i + 1)) as unknown };
        } catch {
          return 'invalid';
        }
      }
    }
  }
  return 'incomplete';
}
