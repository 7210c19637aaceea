/**
 * Structured output through the server and the official `openai` client: response_format json_schema (strict)
 * and json_object, llama.cpp's `grammar` and `json_schema` fields, and 400s naming the bad field.
 */
import { Ajv } from 'ajv';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { post, startTestServer, storiesModel } from './test-support.js';

type TestServer = Awaited<ReturnType<typeof startTestServer>>;

const schema = {
  type: 'object',
  properties: { name: { type: 'string', maxLength: 8 }, count: { type: 'integer', minimum: 0 }, kind: { enum: ['a', 'b'] } },
  required: ['name', 'count', 'kind'],
  additionalProperties: false,
};

describe('structured output over the OpenAI API', () => {
  let server: TestServer;
  let client: OpenAI;
  const ajv = new Ajv({ strict: false });

  beforeAll(async () => {
    server = await startTestServer({ parallel: 1 });
    client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 60_000 });
  });
  afterAll(() => server.cleanup());

  it('response_format json_schema: every answer parses and validates, finish_reason stop', async () => {
    const validate = ajv.compile(schema);
    for (let seed = 0; seed < 4; seed++) {
      const completion = await client.chat.completions.create({
        model: storiesModel,
        messages: [{ role: 'user', content: 'Give me a thing.' }],
        temperature: 1,
        seed,
        max_tokens: 100,
        response_format: { type: 'json_schema', json_schema: { name: 'thing', schema, strict: true } },
      });
      const text = completion.choices[0]!.message.content!;
      expect(completion.choices[0]!.finish_reason, text).toBe('stop');
      expect(validate(JSON.parse(text)), text).toBe(true);
    }
  }, 120_000);

  it('json_object, grammar and json_schema fields on /v1/completions', async () => {
    const obj = await client.completions.create({ model: storiesModel, prompt: 'Data:', temperature: 1, seed: 3, max_tokens: 80, response_format: { type: 'json_object' } } as never);
    const text = (obj as OpenAI.Completion).choices[0]!.text;
    if ((obj as OpenAI.Completion).choices[0]!.finish_reason === 'stop') expect(typeof JSON.parse(text)).toBe('object');
    else expect(text.startsWith('{')).toBe(true);
    const yes = await post(`${server.url}/v1/completions`, { prompt: 'Answer:', grammar: 'root ::= "yes" | "no"', temperature: 1, seed: 1 });
    expect(yes.status).toBe(200);
    expect(['yes', 'no']).toContain(yes.json.choices[0].text);
    expect(yes.json.choices[0].finish_reason).toBe('stop');
    const num = await post(`${server.url}/v1/completions`, { prompt: 'N:', json_schema: { type: 'integer', minimum: 0 }, temperature: 1, seed: 2, max_tokens: 30 });
    expect(num.status).toBe(200);
    if (num.json.choices[0].finish_reason === 'stop') expect(Number.isInteger(JSON.parse(num.json.choices[0].text))).toBe(true);
    else expect(num.json.choices[0].text).toMatch(/^[0-9]+$/);
  }, 120_000);

  it('a bad grammar or schema is a 400 naming the field', async () => {
    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      [{ grammar: 'root ::= "a" )' }, 'grammar', /grammar 1:14: expected a newline/],
      [{ json_schema: { type: 'string', format: 'email' } }, 'json_schema', /format "email" is not supported/],
      [{ response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object', properties: { a: { not: {} } } } } } }, 'response_format.json_schema.schema', /keyword not is not supported/],
      [{ grammar: 'root ::= "a"', json_schema: { type: 'integer' } }, 'json_schema', /only one way/],
    ];
    for (const [extra, param, message] of cases) {
      const response = await post(`${server.url}/v1/chat/completions`, { messages: [{ role: 'user', content: 'x' }], ...extra });
      expect(response.status, JSON.stringify(extra)).toBe(400);
      expect(response.json.error.type).toBe('invalid_request_error');
      expect(response.json.error.param).toBe(param);
      expect(response.json.error.message).toMatch(message);
    }
  });
});
