/**
 * Engine v2 through the public API: the model runs in the inference worker; sessions stream, reuse their
 * KV cache, abort, stop on strings; chats render the model's template and evaluate only the new suffix.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '@smallmind/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SmallMindEngine } from './index.js';
import { writeRandomModelWithVocabulary } from './test-models.js';

const fixtures = fileURLToPath(new URL('../../../fixtures/', import.meta.url));
const storiesGguf = join(fixtures, 'stories260K/stories260K-F32.gguf');
const reference = JSON.parse(readFileSync(join(fixtures, 'stories260K/stories260K-F32.ref.json'), 'utf8')) as {
  prompts: Array<{ prompt: string; tokens: number[]; greedy_tokens: number[]; greedy_text: string }>;
};

const workDir = mkdtempSync(join(tmpdir(), 'smallmind-engine-v2-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

describe('engine sessions (inference in a worker)', () => {
  const engine = new SmallMindEngine({ cacheDir: join(workDir, 'cache'), logger: silentLogger, threads: 1 });
  beforeAll(async () => {
    await engine.loadModel({ path: storiesGguf });
  });
  afterAll(() => engine.dispose());
  const story = reference.prompts[0]!;

  it('streams llama.cpp\'s greedy continuation in chunks that add up to the result', async () => {
    const session = await engine.createSession();
    const run = session.stream(story.prompt, { maxTokens: story.greedy_tokens.length });
    const pieces: string[] = [];
    const tokens: number[] = [];
    for await (const chunk of run) {
      pieces.push(chunk.text);
      tokens.push(...chunk.tokens);
    }
    const result = await run.result;
    expect(result.tokens).toEqual(story.greedy_tokens);
    expect(tokens).toEqual(story.greedy_tokens);
    expect(pieces.join('')).toBe(result.text);
    expect(result.text).toBe(story.greedy_text);
    expect(result.finishReason).toBe('length');
    expect(result.timings).toMatchObject({ promptTokens: story.tokens.length, cachedTokens: 0, promptEvaluated: story.tokens.length, generatedTokens: story.greedy_tokens.length });
    expect(result.timings.tokensPerSecond).toBeGreaterThan(0);
    await session.dispose();
  });

  it('two sessions generating at once each equal their solo run', async () => {
    const prompts = [reference.prompts[0]!.prompt, reference.prompts[2]!.prompt];
    const solo: number[][] = [];
    for (const prompt of prompts) {
      const session = await engine.createSession();
      solo.push((await session.generate(prompt, { maxTokens: 12 })).tokens);
      await session.dispose();
    }
    const [a, b] = [await engine.createSession(), await engine.createSession()];
    // Record the order chunks arrive in: the two generations interleave token by token in the worker.
    const order: string[] = [];
    const collect = async (name: string, run: ReturnType<typeof a.stream>) => {
      for await (const chunk of run) if (chunk.tokens.length > 0) order.push(name);
      return run.result;
    };
    const [ra, rb] = await Promise.all([collect('a', a.stream(prompts[0]!, { maxTokens: 12 })), collect('b', b.stream(prompts[1]!, { maxTokens: 12 }))]);
    expect(ra.tokens).toEqual(solo[0]);
    expect(rb.tokens).toEqual(solo[1]);
    expect(order.indexOf('b')).toBeLessThan(order.lastIndexOf('a'));
    expect(order.indexOf('a')).toBeLessThan(order.lastIndexOf('b'));
    // One generation at a time per session.
    const first = a.generate(prompts[0]!, { maxTokens: 4 });
    await expect(a.generate(prompts[0]!, { maxTokens: 4 })).rejects.toMatchObject({ code: 'SESSION_BUSY' });
    await first;
    await Promise.all([a.dispose(), b.dispose()]);
  });

  it('a prompt that extends the cached one evaluates only the new tokens', async () => {
    const session = await engine.createSession();
    const first = await session.generate(story.prompt, { maxTokens: 8 });
    const second = await session.generate(story.prompt + first.text + ' She', { maxTokens: 4 });
    expect(second.timings.cachedTokens).toBeGreaterThanOrEqual(story.tokens.length);
    expect(second.timings.promptEvaluated).toBe(second.timings.promptTokens - second.timings.cachedTokens);
    expect(second.timings.promptEvaluated).toBeLessThan(6);
    // Same result as a fresh session on the whole prompt.
    const fresh = await engine.createSession();
    expect((await fresh.generate(story.prompt + first.text + ' She', { maxTokens: 4 })).tokens).toEqual(second.tokens);
    await Promise.all([session.dispose(), fresh.dispose()]);
  });

  it('stops at a stop string that spans tokens, leaving it out of the text', async () => {
    const session = await engine.createSession();
    // The greedy text is ", there was a little girl named Lily. ..."; "girl named" spans two tokens.
    const result = await session.generate(story.prompt, { maxTokens: 32, stop: ['girl named'] });
    expect(result.finishReason).toBe('stop');
    expect(result.stop).toBe('girl named');
    expect(result.text).toBe(story.greedy_text.slice(0, story.greedy_text.indexOf('girl named')));
    await session.dispose();
  });

  it('an AbortSignal stops generation within a token and leaves the session usable', async () => {
    const session = await engine.createSession();
    const controller = new AbortController();
    const run = session.stream(story.prompt, { maxTokens: 200, signal: controller.signal });
    let seen = 0;
    for await (const chunk of run) {
      seen += chunk.tokens.length;
      if (seen >= 3) controller.abort();
    }
    const result = await run.result;
    expect(result.finishReason).toBe('abort');
    expect(result.tokens.length).toBeLessThanOrEqual(seen + 1);
    expect(result.tokens.length).toBeLessThan(200);
    const after = await session.generate(story.prompt, { maxTokens: 5 });
    expect(after.tokens).toEqual(story.greedy_tokens.slice(0, 5));
    // An already-aborted signal does nothing.
    expect((await session.generate(story.prompt, { signal: AbortSignal.abort() })).finishReason).toBe('abort');
    await session.dispose();
  });

  it('validates options once, with the option named', async () => {
    const session = await engine.createSession();
    await expect(async () => session.generate('x', { temperature: -1 })).rejects.toMatchObject({ code: 'INVALID_OPTION', field: 'temperature' });
    await expect(async () => session.generate('x', { bogus: 1 } as never)).rejects.toMatchObject({ code: 'INVALID_OPTION', field: 'bogus' });
    await session.dispose();
  });

  it('tokenizes and detokenizes in the worker', async () => {
    expect(await engine.tokenize(story.prompt)).toEqual(story.tokens);
    expect(await engine.detokenize(story.greedy_tokens)).toBe(story.greedy_text);
  });
});

interface TemplateCase {
  template: string;
  conversation: string;
  add_generation_prompt: boolean;
  expected: string;
}

describe('chat sessions over the model\'s template', () => {
  const cases = (JSON.parse(readFileSync(join(fixtures, 'chat-templates/cases.json'), 'utf8')) as { cases: TemplateCase[] }).cases;
  const conversations = (JSON.parse(readFileSync(join(fixtures, 'chat-templates/conversations.json'), 'utf8')) as { conversations: Array<{ name: string; messages: Array<{ role: string; content: string }> }> }).conversations;

  for (const [architecture, vocab, templateName] of [
    ['qwen2', 'ggml-vocab-qwen2.gguf.gz', 'qwen2'],
    ['phi3', 'ggml-vocab-phi-3.gguf.gz', 'phi-3'],
  ] as const) {
    it(`${architecture} + the ${templateName} template: renders as jinja2 does, and three turns reuse the cache`, async () => {
      const path = join(workDir, `${architecture}-chat.gguf`);
      await writeRandomModelWithVocabulary(architecture, join(fixtures, 'chat-templates', vocab), path);
      const engine = new SmallMindEngine({ cacheDir: join(workDir, 'cache'), logger: silentLogger, threads: 1 });
      try {
        const info = await engine.loadModel({ path });
        expect(info.chatTemplate).toBeDefined();
        // The engine's rendering (the worker, @huggingface/jinja) equals Python jinja2's on the fixture conversations.
        for (const c of cases.filter((x) => x.template === templateName && x.conversation.includes('multi-turn'))) {
          const messages = conversations.find((x) => x.name === c.conversation)!.messages;
          expect(await engine.renderChat(messages as never, { addGenerationPrompt: c.add_generation_prompt })).toBe(c.expected);
        }
        const chat = await engine.createChat({ system: 'You are terse.' });
        const turns = [];
        for (const question of ['Hello there!', 'What is <|im_end|> for?', 'Thanks.']) turns.push(await chat.send(question, { maxTokens: 6 }));
        expect(chat.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user', 'assistant', 'user', 'assistant']);
        for (let i = 1; i < 3; i++) {
          const { timings } = turns[i]!;
          // Everything up to the previous answer was cached: only the new turn's tokens were evaluated.
          expect(timings.cachedTokens).toBeGreaterThanOrEqual(turns[i - 1]!.timings.promptTokens);
          expect(timings.promptEvaluated).toBe(timings.promptTokens - timings.cachedTokens);
          // Only what follows the previous prompt is evaluated (its answer's tail, the new turn), never the history again.
          expect(timings.promptEvaluated).toBeLessThanOrEqual(timings.promptTokens - turns[i - 1]!.timings.promptTokens);
          expect(timings.promptEvaluated).toBeGreaterThan(0);
        }
        // A user's "<|im_end|>" is text: tokenized without special parsing it never yields the control token.
        const rendered = await engine.renderChat(chat.messages.slice(0, 4) as never, { addGenerationPrompt: false });
        expect(rendered).toContain('What is <|im_end|> for?');
      } finally {
        await engine.dispose();
      }
    });
  }
});
