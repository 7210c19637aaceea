import type { ChatMessage } from '../template.js';
import type { ToolTemplateInfo } from './detect.js';
import { ToolCallError, type ToolCallFormat, type ToolChoice, type ToolDefinition } from './types.js';

/** Longest tool name (OpenAI's limit is 64) and most tools per request: bounds on untrusted input. */
const MAX_NAME = 64;
export const MAX_TOOLS = 128;

/** Checks OpenAI tool definitions; returns them typed. @throws ToolCallError INVALID_TOOL */
export function checkTools(tools: unknown, field = 'tools'): ToolDefinition[] {
  if (!Array.isArray(tools)) throw new ToolCallError('INVALID_TOOL', field, `${field} must be an array`);
  if (tools.length > MAX_TOOLS) throw new ToolCallError('INVALID_TOOL', field, `${field} has ${tools.length} tools; at most ${MAX_TOOLS} are accepted`);
  const seen = new Set<string>();
  tools.forEach((tool: unknown, i) => {
    const at = `${field}[${i}]`;
    if (typeof tool !== 'object' || tool === null || (tool as { type?: unknown }).type !== 'function') throw new ToolCallError('INVALID_TOOL', `${at}.type`, `${at} must be { type: 'function', function: {...} }`);
    const fn = (tool as { function?: unknown }).function;
    if (typeof fn !== 'object' || fn === null) throw new ToolCallError('INVALID_TOOL', `${at}.function`, `${at}.function must be an object`);
    const { name, parameters } = fn as { name?: unknown; parameters?: unknown };
    if (typeof name !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(name) || name.length > MAX_NAME) {
      throw new ToolCallError('INVALID_TOOL', `${at}.function.name`, `${at}.function.name must be 1-${MAX_NAME} letters, digits, '_', '.' or '-'`);
    }
    if (seen.has(name)) throw new ToolCallError('INVALID_TOOL', `${at}.function.name`, `${at}: a second tool named '${name}'`);
    seen.add(name);
    if (parameters !== undefined && (typeof parameters !== 'object' || parameters === null || Array.isArray(parameters))) {
      throw new ToolCallError('INVALID_TOOL', `${at}.function.parameters`, `${at}.function.parameters must be a JSON schema object`);
    }
  });
  return tools as ToolDefinition[];
}

/** Checks `tool_choice` against the tools. @throws ToolCallError INVALID_TOOL_CHOICE */
export function checkToolChoice(choice: unknown, tools: readonly ToolDefinition[], field = 'tool_choice'): ToolChoice {
  if (choice === 'auto' || choice === 'none' || choice === 'required') {
    if (choice === 'required' && tools.length === 0) throw new ToolCallError('INVALID_TOOL_CHOICE', field, `${field} 'required' needs at least one tool`);
    return choice;
  }
  const name = (choice as { type?: unknown; function?: { name?: unknown } } | null)?.function?.name;
  if (typeof choice !== 'object' || choice === null || (choice as { type?: unknown }).type !== 'function' || typeof name !== 'string') {
    throw new ToolCallError('INVALID_TOOL_CHOICE', field, `${field} must be 'auto', 'none', 'required' or { type: 'function', function: { name } }`);
  }
  if (!tools.some((t) => t.function.name === name)) throw new ToolCallError('INVALID_TOOL_CHOICE', `${field}.function.name`, `${field} names '${name}', which is not among the tools`);
  return { type: 'function', function: { name } };
}

/** JSON as Python's `json.dumps` writes it (`, ` and `: ` separators), as templates' `tojson` shows it to models. */
export function pythonJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(pythonJson).join(', ')}]`;
  if (typeof value === 'object' && value !== null) {
    return `{${Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${JSON.stringify(k)}: ${pythonJson(v)}`)
      .join(', ')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** The call markup of one format around `{"name", "arguments"}` objects (how a call is written into text). */
export function formatToolCalls(format: ToolCallFormat, calls: ReadonlyArray<{ readonly name: string; readonly arguments: unknown }>): string {
  const object = (c: { readonly name: string; readonly arguments: unknown }): string =>
    pythonJson(format === 'llama3' ? { name: c.name, parameters: c.arguments } : { name: c.name, arguments: c.arguments });
  switch (format) {
    case 'hermes':
      return calls.map((c) => `<tool_call>\n${object(c)}\n</tool_call>`).join('\n');
    case 'llama3':
      return calls.map(object).join('\n');
    case 'mistral':
      return `[TOOL_CALLS][${calls.map(object).join(', ')}]`;
    case 'phi4':
      return `<|tool_call|>[${calls.map(object).join(', ')}]<|/tool_call|>`;
  }
}

const INSTRUCTIONS: Readonly<Record<ToolCallFormat, string>> = {
  hermes:
    'For each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>',
  llama3: 'To call a function, reply with only a json object of the form {"name": <function-name>, "parameters": <args-json-object>}.',
  mistral: 'To call functions, reply with [TOOL_CALLS] followed by a json array of calls: [TOOL_CALLS][{"name": <function-name>, "arguments": <args-json-object>}]',
  phi4: 'To call functions, reply with <|tool_call|> followed by a json array of calls and <|/tool_call|>: <|tool_call|>[{"name": <function-name>, "arguments": <args-json-object>}]<|/tool_call|>',
};

/**
 * The tool list as system-prompt text, for templates that know no tools (Hermes style, as Qwen 2.5 writes it):
 * a `# Tools` heading, one JSON line per tool inside `<tools></tools>`, and how to write a call.
 */
export function toolSystemPrompt(tools: readonly ToolDefinition[], format: ToolCallFormat): string {
  return [
    '# Tools',
    '',
    'You may call one or more functions to assist with the user query.',
    '',
    'You are provided with function signatures within <tools></tools> XML tags:',
    '<tools>',
    ...tools.map((t) => pythonJson(t)),
    '</tools>',
    '',
    INSTRUCTIONS[format],
  ].join('\n');
}

/** A chat as the template is given it: messages, and the `tools` variable (undefined: none). */
export interface ToolConversation {
  readonly messages: ChatMessage[];
  readonly tools?: ToolDefinition[];
}

/**
 * Rewrites OpenAI-style messages for one template: assistant `tool_calls` get their `arguments` as objects
 * (what templates `tojson`), or become call markup in the content when the template ignores them; `tool`
 * messages get the function `name` of their call, or become user turns of `<tool_response>` text when the
 * template has no tool role; null contents are ''. `tools` (none when omitted or empty) go where the
 * template takes them: its `tools` variable, the system message's `tools` field, or the system prompt.
 * @throws ToolCallError INVALID_TOOL_MESSAGE for a malformed `tool_calls` entry or `tool` message.
 */
export function prepareToolConversation(messages: ReadonlyArray<Readonly<Record<string, unknown>>>, info: ToolTemplateInfo, tools: readonly ToolDefinition[] | undefined): ToolConversation {
  const callNames = new Map<string, string>();
  const out: ChatMessage[] = messages.map((message, i) => {
    const at = `messages[${i}]`;
    const role = message.role;
    const content = (message.content ?? '') as ChatMessage['content'];
    if (typeof role !== 'string') throw new ToolCallError('INVALID_TOOL_MESSAGE', `${at}.role`, `${at}.role must be a string`);
    if (role === 'assistant' && message.tool_calls !== undefined && message.tool_calls !== null) {
      const calls = checkCalls(message.tool_calls, `${at}.tool_calls`);
      for (const c of calls) callNames.set(c.id, c.function.name);
      if (!info.rendersToolCalls) {
        const markup = formatToolCalls(info.format, calls.map((c) => c.function));
        const text = typeof content === 'string' ? content : '';
        const { tool_calls: _calls, ...plain } = message;
        return { ...plain, role, content: text === '' ? markup : `${text}\n${markup}` } as ChatMessage;
      }
      return { ...message, role, content, tool_calls: calls } as ChatMessage;
    }
    if (role === 'tool') {
      const id = message.tool_call_id;
      if (id !== undefined && typeof id !== 'string') throw new ToolCallError('INVALID_TOOL_MESSAGE', `${at}.tool_call_id`, `${at}.tool_call_id must be a string`);
      const name = typeof message.name === 'string' ? message.name : id === undefined ? undefined : callNames.get(id);
      if (!info.rendersToolResults) {
        const text = typeof content === 'string' ? content : '';
        return { role: 'user', content: `<tool_response>\n${text}\n</tool_response>` };
      }
      return { ...message, role, content, ...(name === undefined ? {} : { name }) } as ChatMessage;
    }
    return { ...message, role, content } as ChatMessage;
  });
  if (tools === undefined || tools.length === 0) return { messages: out };
  if (info.toolsVia === 'variable') return { messages: out, tools: [...tools] };
  const system = out[0]?.role === 'system' ? out[0] : undefined;
  const rest = system === undefined ? out : out.slice(1);
  if (info.toolsVia === 'system-field') {
    return { messages: [{ ...(system ?? { role: 'system', content: '' }), tools: pythonJson(tools.map((t) => t.function)) }, ...rest] };
  }
  const prompt = toolSystemPrompt(tools, info.format);
  const systemText = typeof system?.content === 'string' ? system.content : '';
  return { messages: [{ ...(system ?? {}), role: 'system', content: systemText === '' ? prompt : `${systemText}\n\n${prompt}` }, ...rest] };
}

interface TemplateCall {
  readonly id: string;
  readonly type: 'function';
  readonly function: { readonly name: string; readonly arguments: Record<string, unknown> };
}

function checkCalls(calls: unknown, field: string): TemplateCall[] {
  if (!Array.isArray(calls)) throw new ToolCallError('INVALID_TOOL_MESSAGE', field, `${field} must be an array`);
  return calls.map((call: unknown, j) => {
    const at = `${field}[${j}]`;
    const fn = (call as { function?: { name?: unknown; arguments?: unknown } } | null)?.function;
    if (typeof call !== 'object' || call === null || typeof fn !== 'object' || fn === null || typeof fn.name !== 'string') {
      throw new ToolCallError('INVALID_TOOL_MESSAGE', at, `${at} must be { id, type: 'function', function: { name, arguments } }`);
    }
    let args: unknown = fn.arguments ?? {};
    if (typeof args === 'string') {
      try {
        args = JSON.parse(args === '' ? '{}' : args) as unknown;
      } catch {
        throw new ToolCallError('INVALID_TOOL_MESSAGE', `${at}.function.arguments`, `${at}.function.arguments is not JSON text`);
      }
    }
    if (typeof args !== 'object' || args === null || Array.isArray(args)) throw new ToolCallError('INVALID_TOOL_MESSAGE', `${at}.function.arguments`, `${at}.function.arguments must be a JSON object`);
    const id = (call as { id?: unknown }).id;
    return { id: typeof id === 'string' ? id : '', type: 'function', function: { name: fn.name, arguments: args as Record<string, unknown> } };
  });
}
