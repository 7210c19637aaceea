import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const fixtures = fileURLToPath(new URL('../../../fixtures/', import.meta.url));
const stories = join(fixtures, 'stories260K/stories260K-F32.gguf');
const reference = JSON.parse(readFileSync(join(fixtures, 'stories260K/stories260K-F32.ref.json'), 'utf8')) as {
  tensors: Array<{ name: string }>;
  prompts: Array<{ prompt: string; greedy_text: string }>;
};
const work = mkdtempSync(join(tmpdir(), 'smallmind-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Runs the CLI from source (tsx resolves the workspace packages through tsconfig paths). */
function cli(...args: string[]) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
    cwd: packageDir,
    encoding: 'utf8',
    env: { ...process.env, SMALLMIND_CACHE_DIR: join(work, 'cache') },
    timeout: 120_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('smallmind CLI', () => {
  it('inspect lists every tensor of a GGUF file', () => {
    const { status, stdout } = cli('inspect', stories);
    expect(status).toBe(0);
    expect(stdout).toContain('GGUF v3');
    for (const t of reference.tensors) expect(stdout).toContain(t.name);
    expect(stdout).toContain('general.architecture = "llama"');
  });

  it('import writes an SMQ file that inspect reads back, and refuses to overwrite', () => {
    const smq = join(work, 'stories.smq');
    const first = cli('import', stories, smq);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stderr).toContain(`imported ${reference.tensors.length} tensors`);
    const again = cli('import', stories, smq);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/exists/i);
    const shown = cli('inspect', smq);
    expect(shown.status).toBe(0);
    expect(shown.stdout).toContain('SMQ v');
    for (const t of reference.tensors) expect(shown.stdout).toContain(t.name);
  });

  it('generate continues "Once upon a time" as llama.cpp does', () => {
    const { status, stdout, stderr } = cli('generate', stories, 'Once upon a time', '-n', '32');
    expect(status, stderr).toBe(0);
    expect(stdout.trimEnd()).toBe(`Once upon a time${reference.prompts[0]!.greedy_text}`.trimEnd());
  });

  it('bad arguments and bad files fail with a message and exit code 1', () => {
    const badNumber = cli('generate', stories, 'x', '-n', 'many');
    expect(badNumber.status).toBe(1);
    expect(badNumber.stderr).toContain('--tokens must be an integer');
    const missing = cli('inspect', join(work, 'nope.gguf'));
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/smallmind: .*nope\.gguf/);
  });
});

describe('progressLine', () => {
  it('writes only when the whole percentage changes', async () => {
    const { progressLine } = await import('./format.js');
    const lines: string[] = [];
    const show = progressLine('importing ', (t) => lines.push(t));
    for (let done = 0; done <= 1000; done += 3) show(done, 1000);
    show(1000, 1000);
    expect(lines.length).toBe(101);
    expect(lines[0]).toBe('\rimporting 0.0 MB / 0.0 MB (0%)');
    expect(lines.at(-1)).toContain('(100%)');
  });
});
