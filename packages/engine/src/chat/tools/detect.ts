import type { ToolCallFormat } from './types.js';

/** How a chat template takes tools, and how the model it belongs to writes calls. */
export interface ToolTemplateInfo {
  /** The call format the model was trained on (`hermes` when nothing says otherwise: the generic prompt teaches it). */
  readonly format: ToolCallFormat;
  /** Whether the template or the vocabulary showed the format (false: nothing did, the generic prompt is used). */
  readonly detected: boolean;
  /**
   * Where the tool list goes: the template's `tools` variable; a `tools` field of the system message (Phi-4-mini,
   * as JSON text); or the system prompt, written by us (templates that know no tools).
   */
  readonly toolsVia: 'variable' | 'system-field' | 'prompt';
  /** The template renders assistant `tool_calls` itself (else they are written into the content as markup). */
  readonly rendersToolCalls: boolean;
  /** The template renders `tool` messages itself (else they become user turns of `<tool_response>` text). */
  readonly rendersToolResults: boolean;
}

/** Markers of each format, in the order they are tried (the most specific first). */
const MARKERS: ReadonlyArray<readonly [ToolCallFormat, readonly string[]]> = [
  ['mistral', ['[TOOL_CALLS]']],
  ['phi4', ['<|tool_call|>', '<|tool|>']],
  ['hermes', ['<tool_call>']],
  ['llama3', ['<|python_tag|>']],
];

/**
 * Finds the tool-call format from a chat template's text, then from the vocabulary's special tokens
 * (`hasToken(text)`: the text is one token of the vocabulary), as llama.cpp picks its chat handler:
 * `[TOOL_CALLS]` is Mistral, `<|tool_call|>` / `<|tool|>` Phi-4-mini, `<tool_call>` Hermes / Qwen, `<|python_tag|>`
 * or an `ipython` role in a `<|start_header_id|>` template Llama 3.x. Nothing found: `hermes` through the generic prompt.
 */
export function detectToolFormat(template: string, hasToken?: (text: string) => boolean): ToolTemplateInfo {
  let format: ToolCallFormat | undefined;
  for (const [candidate, markers] of MARKERS) {
    if (markers.some((m) => template.includes(m))) {
      format = candidate;
      break;
    }
  }
  if (format === undefined && template.includes('<|start_header_id|>') && template.includes('ipython')) format = 'llama3';
  if (format === undefined && hasToken !== undefined) {
    for (const [candidate, markers] of MARKERS) {
      if (hasToken(markers[0]!)) {
        format = candidate;
        break;
      }
    }
  }
  // `tools` as a variable: `tools` used outside a `message.tools` / `message['tools']` lookup.
  const usesToolsVariable = /(?<![.'"\w])tools\b(?!['"])/.test(template.replace(/message\s*(?:\.\s*tools|\[\s*['"]tools['"]\s*\])/g, ''));
  const usesToolsField = /message\s*(?:\.\s*tools|\[\s*['"]tools['"]\s*\])/.test(template);
  return {
    format: format ?? 'hermes',
    detected: format !== undefined,
    toolsVia: usesToolsVariable ? 'variable' : usesToolsField ? 'system-field' : 'prompt',
    rendersToolCalls: template.includes('tool_calls'),
    rendersToolResults: /['"](?:tool|ipython)['"]/.test(template),
  };
}

/** Every marker detection may ask the vocabulary about. */
export const TOOL_MARKERS: readonly string[] = MARKERS.map(([, markers]) => markers[0]!);

/**
 * `hasToken` for `detectToolFormat` from an asynchronous tokenizer (the engine's worker): which markers are
 * one token when special tokens are parsed. Asks once per marker.
 */
export async function vocabularyMarkers(tokenize: (text: string) => Promise<readonly number[]>): Promise<(text: string) => boolean> {
  const single = new Set<string>();
  for (const marker of TOOL_MARKERS) if ((await tokenize(marker)).length === 1) single.add(marker);
  return (text) => single.has(text);
}
