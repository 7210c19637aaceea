/**
 * The server through the official `openai` client on a real loopback socket: completions and chat, streaming
 * and not, usage, stop strings, finish reasons, the prompt cache across chat turns, and the llama-server
 * extras (/tokenize, /detokenize, /health, /metrics).
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { post, startTestServer, storiesModel, storiesReference } from './test-support.js';

type TestServer = Awaited<ReturnType<typeof startTestServer>>;

describe('OpenAI-compatible server', () => {
  let server: TestServer;
  let client: OpenAI;
  const story = storiesReference.prompts[0]!;

  beforeAll(async () => {
    server = await startTestServer({ parallel: 2 });
    client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 30_000 });
  });
  afterAll(() => server.cleanup());

  it('lists the configured model', async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual([storiesModel]);
    expect(models.data[0]).toMatchObject({ object: 'model', owned_by: 'smallmind' });
  });

  it('completes greedily as llama.cpp does, with usage and finish_reason length', async () => {
    const completion = await client.completions.create({ model: storiesModel, prompt: story.prompt, max_tokens: story.greedy_tokens.length, temperature: 0 });
    expect(completion.object).toBe('text_completion');
    expect(completion.choices).toHaveLength(1);
    expect(completion.choices[0]!.text).toBe(story.greedy_text);
    expect(completion.choices[0]!.finish_reason).toBe('length');
    expect(completion.usage).toMatchObject({ prompt_tokens: story.tokens.length, completion_tokens: story.greedy_tokens.length, total_tokens: story.tokens.length + story.greedy_tokens.length });
  });

  it('streams the same completion in chunks ending with the finish reason, usage on request', async () => {
    const stream = await client.completions.create({ model: storiesModel, prompt: story.prompt, max_tokens: story.greedy_tokens.length, temperature: 0, stream: true, stream_options: { include_usage: true } });
    const texts: string[] = [];
    const reasons: Array<string | null> = [];
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      for (const choice of chunk.choices) {
        texts.push(choice.text);
        reasons.push(choice.finish_reason);
      }
      if (chunk.usage != null) usage = chunk.usage;
    }
    expect(texts.length).toBeGreaterThan(2);
    expect(texts.join('')).toBe(story.greedy_text);
    expect(reasons.at(-1)).toBe('length');
    expect(reasons.slice(0, -1).every((r) => r === null)).toBe(true);
    expect(usage).toMatchObject({ prompt_tokens: story.tokens.length, completion_tokens: story.greedy_tokens.length });
  });

  it('stops before a stop string (finish_reason stop) and on an end-of-generation token (stop)', async () => {
    const word = ' Lily';
    const expected = story.greedy_text.slice(0, story.greedy_text.indexOf(word));
    const stopped = await client.completions.create({ model: storiesModel, prompt: story.prompt, max_tokens: 32, temperature: 0, stop: [word] });
    expect(stopped.choices[0]!.text).toBe(expected);
    expect(stopped.choices[0]!.finish_reason).toBe('stop');
    // logit_bias +100 on EOS makes it the first token: an end-of-generation, reported as "stop".
    const eos = await client.completions.create({ model: storiesModel, prompt: story.prompt, max_tokens: 32, temperature: 0, logit_bias: { [storiesReference.eos_token_id]: 100 } });
    expect(eos.choices[0]!.text).toBe('');
    expect(eos.choices[0]!.finish_reason).toBe('stop');
    expect(eos.usage!.completion_tokens).toBe(0);
  });

  it('accepts a token-id prompt and a seed; a seeded sample repeats, with llama.cpp extras passed through', async () => {
    const byIds = await client.completions.create({ model: storiesModel, prompt: story.tokens, max_tokens: 8, temperature: 0 });
    expect(byIds.choices[0]!.text).toBe((await client.completions.create({ model: storiesModel, prompt: story.prompt, max_tokens: 8, temperature: 0 })).choices[0]!.text);
    const sample = { model: storiesModel, prompt: story.prompt, max_tokens: 24, temperature: 1.2, top_p: 0.95, seed: 1234, presence_penalty: 0.5, frequency_penalty: 0.5, top_k: 40, min_p: 0.01, repeat_penalty: 1.1 } as OpenAI.CompletionCreateParamsNonStreaming;
    const [a, b] = [await client.completions.create(sample), await client.completions.create(sample)];
    expect(a.choices[0]!.text).toBe(b.choices[0]!.text);
    expect(a.choices[0]!.text).not.toBe(story.greedy_text.slice(0, a.choices[0]!.text.length));
  });

  it('chats through the chat template, streaming and not, with the same answer and usage', async () => {
    const messages: OpenAI.ChatCompletionMessageParam[] = [
      { role: 'system', content: 'You tell stories.' },
      { role: 'user', content: 'Tell me about a cat.' },
    ];
    const chat = await client.chat.completions.create({ model: storiesModel, messages, max_completion_tokens: 12, temperature: 0 });
    expect(chat.object).toBe('chat.completion');
    expect(chat.choices[0]!.message.role).toBe('assistant');
    expect(chat.choices[0]!.message.content!.length).toBeGreaterThan(0);
    expect(chat.choices[0]!.finish_reason).toBe('length');
    expect(chat.usage!.completion_tokens).toBe(12);
    // The prompt is the chatml rendering (the model has no template): far more tokens than the two contents.
    const rendered = await post(`${server.url}/tokenize`, { content: '<|im_start|>system\nYou tell stories.<|im_end|>\n<|im_start|>user\nTell me about a cat.<|im_end|>\n<|im_start|>assistant\n', add_special: true });
    expect(chat.usage!.prompt_tokens).toBe(rendered.json.tokens.length);

    const stream = await client.chat.completions.create({ model: storiesModel, messages, max_tokens: 12, temperature: 0, stream: true });
    let content = '';
    let role: string | undefined;
    let finish: string | null = null;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      if (choice === undefined) continue;
      role ??= choice.delta.role;
      content += choice.delta.content ?? '';
      finish = choice.finish_reason;
    }
    expect(role).toBe('assistant');
    expect(content).toBe(chat.choices[0]!.message.content);
    expect(finish).toBe('length');
  });

  it('the second chat turn reuses the first turn\'s KV cache (prompt_n = only the new tokens), even after another conversation', async () => {
    const turn1: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Once upon a time there was a dog named Max.' }];
    const first = (await client.chat.completions.create({ model: storiesModel, messages: turn1, max_tokens: 8, temperature: 0 })) as OpenAI.ChatCompletion & { timings: { prompt_n: number; cache_n: number } };
    // Another conversation in between takes the other slot instead of evicting this one.
    await client.chat.completions.create({ model: storiesModel, messages: [{ role: 'user', content: 'A different story about a bird.' }], max_tokens: 8, temperature: 0 });
    const turn2: OpenAI.ChatCompletionMessageParam[] = [...turn1, { role: 'assistant', content: first.choices[0]!.message.content! }, { role: 'user', content: 'What next?' }];
    const second = (await client.chat.completions.create({ model: storiesModel, messages: turn2, max_tokens: 8, temperature: 0 })) as OpenAI.ChatCompletion & { timings: { prompt_n: number; cache_n: number } };
    const prompt = second.usage!.prompt_tokens;
    expect(second.timings.cache_n).toBeGreaterThanOrEqual(first.usage!.prompt_tokens);
    expect(second.timings.prompt_n).toBe(prompt - second.timings.cache_n);
    expect(second.usage!.prompt_tokens_details!.cached_tokens).toBe(second.timings.cache_n);
    expect(second.timings.prompt_n).toBeLessThan(prompt / 2);
  });

  it('tokenizes and detokenizes as llama-server does', async () => {
    const tokens = await post(`${server.url}/tokenize`, { content: story.prompt, add_special: true });
    expect(tokens.status).toBe(200);
    expect(tokens.json.tokens).toEqual(story.tokens);
    const pieces = await post(`${server.url}/tokenize`, { content: story.prompt, add_special: false, with_pieces: true });
    expect(pieces.json.tokens.map((p: { id: number }) => p.id)).toEqual(story.tokens.slice(1));
    expect(pieces.json.tokens.map((p: { piece: string }) => p.piece).join('')).toBe(story.prompt);
    const text = await post(`${server.url}/detokenize`, { tokens: story.greedy_tokens });
    expect(text.json.content).toBe(story.greedy_text);
  });

  it('reports health and Prometheus metrics with the tokens served', async () => {
    const health = await fetch(`${server.url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', models: [{ model: storiesModel, slots: 2, busy: 0, queued: 0 }] });
    const metrics = await fetch(`${server.url}/metrics`);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await metrics.text();
    const value = (name: string): number => Number(new RegExp(`^${name}\\{model="${storiesModel}"\\} (\\S+)$`, 'm').exec(text)?.[1]);
    expect(value('smallmind_generated_tokens_total')).toBeGreaterThan(100);
    expect(value('smallmind_prompt_tokens_cached_total')).toBeGreaterThan(0);
    expect(value('smallmind_queue_depth')).toBe(0);
    expect(text).toMatch(/^smallmind_http_requests_total\{method="POST",route="\/v1\/completions",status="200"\} \d+$/m);
    expect(text).toContain('smallmind_http_request_duration_seconds_bucket');
  });
});
