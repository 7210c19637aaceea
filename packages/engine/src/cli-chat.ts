/**
 * `smallmind chat`: a conversation with the model's chat template. On a terminal: a `> ` prompt, streamed
 * answers, `/reset`, Ctrl-C stops the answer (a second Ctrl-C at an empty prompt, or Ctrl-D, exits). From a
 * pipe: every non-empty line of stdin is one user turn; `--json` prints one JSON line per answer.
 */
import { createInterface } from 'node:readline';
import type { GenerationOptions } from './generation/options.js';
import { loadEngine, printJson, type EngineFlags, type Output } from './cli-shared.js';

export interface ChatFlags extends EngineFlags {
  system?: string;
  template?: string;
  json?: boolean;
}

export async function chatCommand(out: Output, model: string, flags: ChatFlags, generation: GenerationOptions): Promise<void> {
  const { engine } = await loadEngine(out, model, flags);
  let chat: Awaited<ReturnType<typeof engine.createChat>>;
  try {
    chat = await engine.createChat({ ...(flags.system === undefined ? {} : { system: flags.system }), ...(flags.template === undefined ? {} : { template: flags.template }) });
  } catch (error) {
    await engine.dispose();
    throw error;
  }
  // readline starts reading at once and drops lines nobody listens to: iterate it with no await in between.
  const interactive = process.stdin.isTTY === true;
  const rl = createInterface({ input: process.stdin, ...(interactive ? { output: process.stderr, prompt: '> ' } : {}), terminal: interactive });
  let answering: AbortController | undefined;
  let exitArmed = false;
  rl.on('SIGINT', () => {
    // readline owns Ctrl-C on a terminal (raw mode): it stops the answer, or (twice at the prompt) the chat.
    if (answering !== undefined) {
      answering.abort();
      return;
    }
    if (exitArmed) {
      rl.close();
      return;
    }
    exitArmed = true;
    process.stderr.write('\n(Ctrl-C again or Ctrl-D to exit, /reset to start over)\n');
    rl.prompt();
  });
  try {
    if (interactive) {
      out.note('chat: type a message; /reset forgets the conversation; Ctrl-C stops an answer; Ctrl-D exits');
      rl.prompt();
    }
    for await (const line of rl) {
      exitArmed = false;
      const text = line.trim();
      if (text === '/reset') {
        await chat.reset();
        out.note('(conversation reset)');
      } else if (text === '/exit' || text === '/quit') {
        break;
      } else if (text.length > 0) {
        answering = new AbortController();
        const run = chat.stream(text, { ...generation, signal: answering.signal });
        for await (const chunk of run) if (flags.json !== true) process.stdout.write(chunk.text);
        const result = await run.result;
        answering = undefined;
        if (flags.json === true) printJson({ role: 'assistant', content: result.text, finishReason: result.finishReason, timings: result.timings });
        else process.stdout.write(result.finishReason === 'abort' ? ' [stopped]\n' : '\n');
      }
      if (interactive) rl.prompt();
    }
  } finally {
    answering?.abort();
    rl.close();
    await engine.dispose();
  }
}
