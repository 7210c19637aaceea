import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { casesFile, chatFixtures, conversation } from './chat/test-support.js';
import { renderTemplateOfFile } from './cli-template.js';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const repoDir = join(packageDir, '../..');
const stories = join(repoDir, 'fixtures/stories260K/stories260K-F32.gguf');
const reference = JSON.parse(readFileSync(join(repoDir, 'fixtures/stories260K/stories260K-F32.ref.json'), 'utf8')) as {
  prompts: Array<{ prompt: string; tokens: number[]; token_pieces: string[]; greedy_tokens: number[]; greedy_text: string }>;
};
const onceUponATime = reference.prompts.find((p) => p.prompt === 'Once upon a time')!;
const work = mkdtempSync(join(tmpdir(), 'smallmind-cli-commands-'));
const cacheDir = join(work, 'cache');
const distCli = join(packageDir, 'dist/cli.js');
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The newest modification time under `dir` (ms). */
function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

// These tests run the built CLI, as users do. `pnpm test` builds first; a run of this file alone rebuilds a
// stale dist/ (turbo builds the dependencies too, from its cache when nothing changed).
beforeAll(() => {
  let stale = true;
  try {
    stale = statSync(distCli).mtimeMs < newest(join(packageDir, 'src'));
  } catch {
    // no dist/cli.js yet
  }
  if (!stale) return;
  const built = spawnSync('npx', ['turbo', 'run', 'build', '--filter=@smallmind/engine', '--output-logs=errors-only'], { cwd: repoDir, encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`build failed: ${built.stdout}${built.stderr}`);
}, 600_000);

function cli(args: string[], input?: string) {
  const result = spawnSync(process.execPath, [distCli, ...args], {
    cwd: work,
    encoding: 'utf8',
    env: { ...process.env, SMALLMIND_CACHE_DIR: cacheDir },
    timeout: 120_000,
    ...(input === undefined ? { stdio: ['ignore', 'pipe', 'pipe'] } : { input }),
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const lines = (text: string): string[] => text.split('\n').filter((l) => l.length > 0);

/** A vendored vocab-only GGUF (metadata, no weights), unzipped into the work folder. */
function vocabGguf(name: string): string {
  const path = join(work, `ggml-vocab-${name}.gguf`);
  writeFileSync(path, gunzipSync(readFileSync(join(chatFixtures, `ggml-vocab-${name}.gguf.gz`))));
  return path;
}

describe('the built smallmind CLI', () => {
  it('run with only a prompt uses the bundled stories260K and continues it as llama.cpp does', () => {
    const { status, stdout, stderr } = cli(['run', 'Once upon a time', '-n', '32']);
    expect(status, stderr).toBe(0);
    expect(stdout.trimEnd()).toBe(onceUponATime.greedy_text.trimEnd());
  });

  it('run / complete --json print one object with the greedy tokens; complete reads the prompt from stdin', () => {
    const expected = onceUponATime.greedy_tokens.slice(0, 6);
    const run = cli(['run', stories, 'Once upon a time', '-n', '6', '--json', '-q']);
    expect(run.status, run.stderr).toBe(0);
    const parsed = JSON.parse(run.stdout) as { text: string; tokens: number[]; finishReason: string; timings: { promptTokens: number } };
    expect(parsed.tokens).toEqual(expected);
    expect(parsed.finishReason).toBe('length');
    expect(parsed.timings.promptTokens).toBe(onceUponATime.tokens.length);
    expect(onceUponATime.greedy_text.startsWith(parsed.text)).toBe(true);
    const piped = cli(['complete', stories, '-n', '6', '--json', '-q'], 'Once upon a time');
    expect(piped.status, piped.stderr).toBe(0);
    expect((JSON.parse(piped.stdout) as { tokens: number[] }).tokens).toEqual(expected);
  });

  it('generate stays an alias of run, and --stop ends the text before the stop string', () => {
    const text = onceUponATime.greedy_text;
    const stop = text.slice(10, 14);
    const { status, stdout, stderr } = cli(['generate', stories, 'Once upon a time', '-n', '32', '--stop', stop, '-q']);
    expect(status, stderr).toBe(0);
    expect(stdout).toBe(`${text.slice(0, text.indexOf(stop))}\n`);
  });

  it('chat from a pipe answers each line, one JSON line per turn, reusing the KV cache', () => {
    const { status, stdout, stderr } = cli(['chat', stories, '--json', '-n', '5', '--template', 'plain', '-q'], 'Hello\n\nTell me a story\n');
    expect(status, stderr).toBe(0);
    const turns = lines(stdout).map((l) => JSON.parse(l) as { role: string; content: string; finishReason: string; timings: { cachedTokens: number; generatedTokens: number } });
    expect(turns).toHaveLength(2); // the empty line is no turn
    for (const turn of turns) {
      expect(turn.role).toBe('assistant');
      expect(turn.finishReason).toBe('length');
      expect(turn.timings.generatedTokens).toBe(5);
    }
    expect(turns[1]!.timings.cachedTokens).toBeGreaterThan(0);
  });

  it('chat /reset forgets the conversation: the same question gets the same answer', () => {
    const { status, stdout, stderr } = cli(['chat', stories, '--json', '-n', '6', '--template', 'plain', '--system', 'Be brief.', '-q'], 'Hi\n/reset\nHi\n');
    expect(status, stderr).toBe(0);
    const turns = lines(stdout).map((l) => JSON.parse(l) as { content: string });
    expect(turns).toHaveLength(2);
    expect(turns[1]!.content).toBe(turns[0]!.content);
  });

  it('tokenize prints the ids and pieces llama.cpp gives', () => {
    const { status, stdout, stderr } = cli(['tokenize', stories, 'Once upon a time', '--json']);
    expect(status, stderr).toBe(0);
    const parsed = JSON.parse(stdout) as { count: number; tokens: Array<{ id: number; piece: string }> };
    expect(parsed.tokens.map((t) => t.id)).toEqual(onceUponATime.tokens);
    expect(parsed.tokens.map((t) => t.piece)).toEqual(onceUponATime.token_pieces);
    expect(parsed.count).toBe(onceUponATime.tokens.length);
    const plain = cli(['tokenize', stories, '--no-add-bos'], 'Once upon a time');
    expect(plain.status, plain.stderr).toBe(0);
    expect(lines(plain.stdout).at(-1)).toBe(`${onceUponATime.tokens.length - 1} tokens`);
  });

  it('inspect shows the architecture and whether it is supported, and the tensor types', () => {
    const { status, stdout } = cli(['inspect', stories]);
    expect(status).toBe(0);
    expect(stdout).toContain('architecture: llama, supported');
    expect(stdout).toContain('types: F32 x48');
  });

  it('bench reports pp and tg tokens/s per repetition', () => {
    const { status, stdout, stderr } = cli(['bench', stories, '-p', '16', '-n', '4', '-r', '2', '--no-warmup', '--json', '-q']);
    expect(status, stderr).toBe(0);
    const report = JSON.parse(stdout) as { results: Array<{ test: string; samples: number[]; avgTokensPerSecond: number }> };
    expect(report.results.map((r) => r.test)).toEqual(['pp16', 'tg4']);
    for (const r of report.results) {
      expect(r.samples).toHaveLength(2);
      expect(r.avgTokensPerSecond).toBeGreaterThan(0);
    }
    const table = cli(['bench', stories, '-p', '8', '-n', '0', '-r', '1', '-q']);
    expect(table.status, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/\| pp8 +\| +[\d.]+ ± [\d.]+ \|/);
    expect(table.stdout).not.toContain('tg');
  });

  it('bad flags and values: one line naming the flag, exit code 2', () => {
    const cases: Array<[string[], RegExp]> = [
      [['run', 'x', '--top-p', '5'], /--top-p: 5 is outside \(0, 1\]/],
      [['run', 'x', '--temperature', '-1'], /--temperature: -1 is outside >= 0/],
      [['run', 'x', '--top-k', '1.5'], /--top-k: 1.5 is not an integer/],
      [['run', 'x', '--logit-bias', 'seven'], /--logit-bias: "seven" is not TOKEN_ID=BIAS/],
      [['run', 'x', '--kernels', 'gpu'], /\[INVALID_ARGUMENT\].*gpu/],
      [['run'], /\[MISSING_ARGUMENT\].*prompt/],
      [['bench', stories, '-p', 'lots'], /--n-prompt must be an integer/],
      [['chat', stories, '--template', 'no-such-template'], /--template: "no-such-template" is neither/],
      [['template', stories], /\[MISSING_MANDATORY_OPTION_VALUE\].*--messages/],
      [['complete', stories, 'x', '--bogus'], /\[UNKNOWN_OPTION\].*--bogus/],
    ];
    for (const [args, message] of cases) {
      const { status, stdout, stderr } = cli(args);
      expect(status, args.join(' ')).toBe(2);
      expect(stdout).toBe('');
      expect(lines(stderr), args.join(' ')).toEqual([expect.stringMatching(message)]);
    }
  });

  it('template prints exactly what jinja2 renders for the file\'s own template, no newline added', () => {
    const qwen2 = vocabGguf('qwen2');
    for (const addGenerationPrompt of [true, false]) {
      const c = casesFile.cases.find((k) => k.template === 'qwen2' && k.conversation === 'system-multi-turn' && k.add_generation_prompt === addGenerationPrompt)!;
      const messagesFile = join(work, 'messages.json');
      writeFileSync(messagesFile, JSON.stringify(conversation(c.conversation).messages));
      const { status, stdout, stderr } = cli(['template', qwen2, '--messages', messagesFile, ...(addGenerationPrompt ? [] : ['--no-generation-prompt'])]);
      expect(status, stderr).toBe(0);
      expect(stdout).toBe(c.expected);
    }
    const broken = join(work, 'broken.json');
    writeFileSync(broken, '{"messages": [{"role": "user"}]}');
    const bad = cli(['template', qwen2, '--messages', broken]);
    expect(bad.status).toBe(1);
    expect(lines(bad.stderr)).toEqual([expect.stringMatching(/ChatTemplateError \[INVALID_MESSAGE\].*messages\[0\]\.content/)]);
  });
});

describe('renderTemplateOfFile on vocab-only GGUFs, against jinja2', () => {
  const files = new Map<string, string>();
  const cases = casesFile.cases.filter((c) => c.template === 'qwen2' || c.template === 'phi-3');

  it('covers both vocabularies, every conversation and both generation-prompt settings', () => {
    expect(new Set(cases.map((c) => c.template))).toEqual(new Set(['qwen2', 'phi-3']));
    expect(cases.length).toBeGreaterThanOrEqual(24);
  });

  it.each(cases.map((c) => [`${c.template} / ${c.conversation} / generation prompt ${c.add_generation_prompt}`, c] as const))('%s', async (_, c) => {
    if (!files.has(c.template)) files.set(c.template, vocabGguf(c.template));
    const { messages, tools } = conversation(c.conversation);
    const rendered = await renderTemplateOfFile(files.get(c.template)!, tools === undefined ? { messages } : { messages, tools }, { addGenerationPrompt: c.add_generation_prompt });
    expect(rendered).toBe(c.expected);
  });
});
