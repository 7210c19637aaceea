/**
 * A bounded load test: 24 concurrent clients for about three seconds on stories260K with 4 slots and a queue
 * of 8. Every answer is either a well-formed completion or a well-formed 429; /health keeps answering 200.
 * (Its latency is printed, not asserted: speed is a benchmark's business, and this machine is shared.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { post, readSse, startTestServer, storiesModel } from './test-support.js';

type TestServer = Awaited<ReturnType<typeof startTestServer>>;

describe('load', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ parallel: 4, maxQueue: 8 });
  });
  afterAll(() => server.cleanup());

  it('24 clients for 3 s: no errors beyond 429, every response well-formed, /health answering 200 throughout', async () => {
    const deadline = Date.now() + 3000;
    const counts = { ok: 0, streamed: 0, rejected: 0 };
    const problems: string[] = [];
    const prompts = ['Once upon a time', 'Lily and Ben', 'The dog ran', 'Tom had a red ball'];

    const one = async (client: number, i: number): Promise<void> => {
      const chat = (client + i) % 2 === 0;
      const stream = (client + i) % 3 === 0;
      const prompt = prompts[(client * 7 + i) % prompts.length]!;
      const path = chat ? '/v1/chat/completions' : '/v1/completions';
      const body = { model: storiesModel, max_tokens: 12, temperature: 0.8, seed: client, stream, ...(chat ? { messages: [{ role: 'user', content: prompt }] } : { prompt }) };
      if (!stream) {
        const r = await post(`${server.url}${path}`, body);
        if (r.status === 429) {
          if (r.json?.error?.type !== 'rate_limit_error' || r.headers.get('retry-after') === null) problems.push(`bad 429: ${JSON.stringify(r.json)}`);
          counts.rejected++;
          return;
        }
        const choice = r.json?.choices?.[0];
        const text = chat ? choice?.message?.content : choice?.text;
        if (r.status !== 200 || typeof text !== 'string' || !['stop', 'length'].includes(choice.finish_reason) || r.json.usage?.completion_tokens > 12) {
          problems.push(`bad ${r.status}: ${JSON.stringify(r.json)}`);
        } else counts.ok++;
        return;
      }
      const response = await fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      if (response.status === 429) {
        await response.text();
        counts.rejected++;
        return;
      }
      const events = await readSse(response);
      const last = events.at(-2);
      const reason = last?.choices?.[0]?.finish_reason;
      if (response.status !== 200 || events.at(-1) !== '[DONE]' || !['stop', 'length'].includes(reason) || events.slice(0, -2).some((e) => e.choices?.[0]?.finish_reason !== null)) {
        problems.push(`bad stream ${response.status}: ${JSON.stringify(events).slice(0, 300)}`);
      } else counts.streamed++;
    };

    const client = async (id: number): Promise<void> => {
      for (let i = 0; Date.now() < deadline; i++) await one(id, i);
    };
    let slowestHealth = 0;
    const healthProbe = async (): Promise<void> => {
      while (Date.now() < deadline) {
        const started = performance.now();
        const r = await fetch(`${server.url}/health`);
        await r.text();
        slowestHealth = Math.max(slowestHealth, performance.now() - started);
        if (r.status !== 200) problems.push(`/health ${r.status}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    await Promise.all([...Array.from({ length: 24 }, (_, id) => client(id)), healthProbe()]);

    expect(problems).toEqual([]);
    expect(counts.ok).toBeGreaterThan(0);
    expect(counts.streamed).toBeGreaterThan(0);
    // 24 clients on 4 slots + 8 queued: some are refused.
    expect(counts.rejected).toBeGreaterThan(0);
    const health = (await (await fetch(`${server.url}/health`)).json()) as { models: Array<{ busy: number; queued: number }> };
    expect(health.models[0]).toMatchObject({ busy: 0, queued: 0 });
    console.log(`load: ${counts.ok} json + ${counts.streamed} streamed answers, ${counts.rejected} x 429, slowest /health ${slowestHealth.toFixed(0)} ms`);
  }, 30_000);
});
