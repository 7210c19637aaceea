import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, watch } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runCli } from './cli-program.js';
import { createProgress, parseByteSize, formatBytes } from './format.js';
import { writeLongMetadataGguf, writeWideStories } from './test-models.js';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const fixtures = fileURLToPath(new URL('../../../fixtures/', import.meta.url));
const stories = join(fixtures, 'stories260K/stories260K-F32.gguf');
const reference = JSON.parse(readFileSync(join(fixtures, 'stories260K/stories260K-F32.ref.json'), 'utf8')) as {
  tensors: Array<{ name: string }>;
  prompts: Array<{ prompt: string; greedy_text: string }>;
};
const version = (JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { version: string }).version;
const work = mkdtempSync(join(tmpdir(), 'smallmind-cli-'));
const cacheDir = join(work, 'cache');
afterAll(() => rmSync(work, { recursive: true, force: true }));

const CLI = ['--import', 'tsx', 'src/cli.ts'];

/** Runs the CLI from source (tsx resolves the workspace packages through tsconfig paths). */
function cli(...args: string[]) {
  const result = spawnSync(process.execPath, [...CLI, ...args], {
    cwd: packageDir,
    encoding: 'utf8',
    env: { ...process.env, SMALLMIND_CACHE_DIR: cacheDir },
    timeout: 120_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Runs the CLI in this process (no start-up cost), capturing what it writes. */
async function cliHere(...args: string[]) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const capture = (into: string[]) => (chunk: string | Uint8Array): boolean => {
    into.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString());
    return true;
  };
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(capture(stdout) as typeof process.stdout.write);
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(capture(stderr) as typeof process.stderr.write);
  try {
    const status = await runCli([process.execPath, 'smallmind', ...args]);
    return { status, stdout: stdout.join(''), stderr: stderr.join('') };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

const lines = (text: string): string[] => text.split('\n').filter((l) => l.length > 0);

describe('smallmind CLI', () => {
  it('inspect lists every tensor of a GGUF file', () => {
    const { status, stdout } = cli('inspect', stories);
    expect(status).toBe(0);
    expect(stdout).toContain('GGUF v3');
    for (const t of reference.tensors) expect(stdout).toContain(t.name);
    expect(stdout).toContain('general.architecture = "llama"');
  });

  it('import writes an SMQ file that inspect reads back, and refuses to overwrite', async () => {
    const smq = join(work, 'stories.smq');
    const first = cli('import', stories, smq);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stderr).toContain(`imported ${reference.tensors.length} tensors`);
    const again = await cliHere('import', stories, smq);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/exists/i);
    const shown = await cliHere('inspect', smq);
    expect(shown.status).toBe(0);
    expect(shown.stdout).toContain('SMQ v');
    for (const t of reference.tensors) expect(shown.stdout).toContain(t.name);
  });

  it('generate prints only the continuation (never the prompt), as llama.cpp continues it', async () => {
    const { status, stdout, stderr } = cli('generate', stories, 'Once upon a time', '-n', '32');
    expect(status, stderr).toBe(0);
    expect(stdout.trimEnd()).toBe(reference.prompts[0]!.greedy_text.trimEnd());
    expect(stderr).toMatch(/prompt tokens .* new tokens/);
    const quiet = await cliHere('-q', 'generate', stories, 'Once upon a time', '-n', '4');
    expect(quiet.status, quiet.stderr).toBe(0);
    expect(quiet.stderr).toBe('');
    expect(quiet.stdout.length).toBeGreaterThan(1);
  });

  it('a prompt longer than the context fails with one line naming PROMPT_TOO_LONG, echoing nothing', () => {
    const prompt = 'Once upon a time there was a little girl. '.repeat(60);
    const { status, stdout, stderr } = cli('generate', stories, prompt, '-n', '4');
    expect(status).toBe(1);
    expect(stdout).toBe('');
    // A slow machine may show load progress lines first; the error itself is one line.
    const errorLines = lines(stderr).filter((l) => !/^loading /.test(l));
    expect(errorLines).toEqual([expect.stringMatching(/^smallmind: EngineError \[PROMPT_TOO_LONG\]: /)]);
    expect(stderr).not.toContain('little girl');
  });

  it('--version prints the package version', async () => {
    const { status, stdout } = cli('--version');
    expect(status).toBe(0);
    expect(stdout.trim()).toBe(version);
    const short = await cliHere('-V');
    expect(short).toEqual({ status: 0, stdout: `${version}\n`, stderr: '' });
  });

  it('bad flags and values fail with one line and exit code 2; bad files with one line and exit code 1', async () => {
    const spawned = cli('generate', stories, 'x', '--bogus');
    expect(spawned.status).toBe(2);
    expect(lines(spawned.stderr)).toEqual([expect.stringMatching(/^smallmind: UsageError \[UNKNOWN_OPTION\]: .*--bogus/)]);
    const cases: Array<[string[], RegExp]> = [
      [['generate', stories, 'x', '-n', 'many'], /\[INVALID_ARGUMENT\].*--max-tokens: "many" is not a number/],
      [['generate', stories, 'x', '--bogus'], /\[UNKNOWN_OPTION\].*--bogus/],
      [['generate', stories], /\[MISSING_ARGUMENT\].*prompt/],
      [['frobnicate'], /\[UNKNOWN_COMMAND\].*frobnicate/],
      [['cache', 'prune', '--max-size', '20 parsecs'], /\[INVALID_ARGUMENT\].*--max-size/],
    ];
    for (const [args, message] of cases) {
      const { status, stderr } = await cliHere(...args);
      expect(status, args.join(' ')).toBe(2);
      expect(lines(stderr), args.join(' ')).toHaveLength(1);
      expect(stderr).toMatch(message);
    }
    const missing = await cliHere('inspect', join(work, 'nope.gguf'));
    expect(missing.status).toBe(1);
    expect(lines(missing.stderr)).toEqual([expect.stringMatching(/^smallmind: .*ENOENT.*nope\.gguf/)]);
    const verbose = await cliHere('inspect', join(work, 'nope.gguf'), '--verbose');
    expect(verbose.status).toBe(1);
    expect(verbose.stderr).toMatch(/\n\s+at /); // the stack, only when asked
  });

  it('exits quietly with status 0 when stdout closes early (| head)', async () => {
    const gguf = join(work, 'long-metadata.gguf');
    await writeLongMetadataGguf(gguf, 40_000); // ~500 kB of --all output: far more than a pipe buffers
    const child = spawn(process.execPath, [...CLI, 'inspect', '--all', gguf], { cwd: packageDir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const first = await new Promise<string>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(d.toString())));
    child.stdout.destroy(); // what head does after its first line
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('exit', (c, s) => resolve([c, s])));
    expect(first).toContain('GGUF v3');
    expect(stderr).toBe('');
    expect([code, signal]).toEqual([0, null]);
  });

  it('cache list, prune and clear show and remove entries with their sizes and sources', async () => {
    const dir = join(work, 'cache-commands');
    const loaded = await cliHere('generate', stories, 'Once', '-n', '1', '--cache-dir', dir);
    expect(loaded.status, loaded.stderr).toBe(0);
    const listed = await cliHere('cache', 'list', '--cache-dir', dir);
    expect(listed.status).toBe(0);
    expect(lines(listed.stdout)).toHaveLength(2);
    expect(listed.stdout).toMatch(/1\.2 MB .* current +.*stories260K-F32\.gguf +stories260K-F32-[0-9a-f]{16}\.smq/);
    expect(listed.stdout).toContain(`1 entry, 1.2 MB in ${dir}`);
    const pruned = await cliHere('cache', 'prune', '--cache-dir', dir);
    expect(pruned.stdout).toContain('removed 0 entries; 1.2 MB kept');
    const capped = await cliHere('cache', 'prune', '--max-size', '1MB', '--cache-dir', dir);
    expect(capped.status).toBe(0);
    expect(capped.stdout).toContain('removed 1 entry; 0 B kept');
    expect(readdirSync(dir)).toEqual([]);
    await cliHere('generate', stories, 'Once', '-n', '1', '--cache-dir', dir);
    const cleared = await cliHere('cache', 'clear', '--cache-dir', dir);
    expect(cleared.stdout).toContain('removed 1 entry');
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('smallmind CLI interrupted mid-import', () => {
  const big = join(work, 'wide-stories.gguf');
  const killCache = join(work, 'kill-cache');
  beforeAll(async () => {
    // ~96 MB: an import takes long enough that it is still running when the signal lands.
    await writeWideStories(stories, big, 96e6);
    mkdirSync(killCache);
  });

  /** Starts `args`, waits until the import's temporary file appears in `dir`, then sends `signal`. */
  async function signalMidImport(args: string[], dir: string, signal: NodeJS.Signals) {
    const child = spawn(process.execPath, [...CLI, ...args], { cwd: packageDir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, sig) => resolve({ code, signal: sig })));
    let watcher: ReturnType<typeof watch> | undefined;
    let poll: ReturnType<typeof setInterval> | undefined;
    const midImport = await new Promise<boolean>((resolve) => {
      const check = (): void => {
        if (readdirSync(dir).some((f) => f.endsWith('.tmp'))) resolve(true);
      };
      watcher = watch(dir, check);
      poll = setInterval(check, 5);
      void exited.then(() => resolve(false));
    });
    watcher?.close();
    clearInterval(poll);
    child.kill(signal);
    return { midImport, ...(await exited), stderr };
  }

  const leftovers = (dir: string): string[] => readdirSync(dir).filter((f) => /\.(tmp|import-lock)$/.test(f));

  it.each(['SIGINT', 'SIGTERM'] as const)('generate: %s removes the temporary file, and the process dies by the signal', async (signal) => {
    const ended = await signalMidImport(['generate', big, 'Once', '-n', '1', '--cache-dir', killCache], killCache, signal);
    expect(ended.midImport, ended.stderr).toBe(true);
    expect(ended.signal, ended.stderr).toBe(signal);
    expect(readdirSync(killCache).filter((f) => f.endsWith('.smq'))).toEqual([]); // it was mid-import
    expect(leftovers(killCache)).toEqual([]);
  }, 60_000);

  it('generate: after SIGKILL (uncatchable) the next run sweeps the leftovers and succeeds', async () => {
    const killed = await signalMidImport(['generate', big, 'Once', '-n', '1', '--cache-dir', killCache], killCache, 'SIGKILL');
    expect(killed.midImport).toBe(true);
    expect(killed.signal).toBe('SIGKILL');
    expect(leftovers(killCache).length).toBeGreaterThan(0); // nothing can clean up after SIGKILL ...
    const next = cli('generate', big, 'Once', '-n', '1', '--cache-dir', killCache);
    expect(next.status, next.stderr).toBe(0);
    expect(leftovers(killCache)).toEqual([]); // ... but the next run does
    expect(readdirSync(killCache).filter((f) => f.endsWith('.smq'))).toHaveLength(1);
  }, 60_000);

  it('import: SIGINT leaves neither the destination nor a temporary file, and a rerun succeeds', async () => {
    const outDir = join(work, 'import-out');
    mkdirSync(outDir);
    const dst = join(outDir, 'wide.smq');
    const ended = await signalMidImport(['import', big, dst], outDir, 'SIGINT');
    expect(ended.midImport).toBe(true);
    expect(ended.signal).toBe('SIGINT');
    expect(readdirSync(outDir)).toEqual([]);
    const again = cli('import', big, dst);
    expect(again.status, again.stderr).toBe(0);
    expect(readdirSync(outDir)).toEqual(['wide.smq']);
    expect(existsSync(dst)).toBe(true);
  }, 60_000);
});

describe('createProgress', () => {
  it('on a terminal: silent for quick work, then one bar redrawn per whole percent, cleared at the end', () => {
    let clock = 0;
    const out: string[] = [];
    const progress = createProgress({ label: 'loading m', write: (t) => out.push(t), tty: true, delayMs: 100, now: () => clock });
    clock = 1000; // set-up time before the first report does not count
    progress.update(10, 1000);
    clock = 1050;
    progress.update(20, 1000);
    expect(out).toEqual([]); // within the delay
    clock = 1150;
    for (let done = 0; done <= 1000; done += 3) progress.update(done, 1000);
    progress.update(1000, 1000);
    expect(out).toHaveLength(101);
    expect(out[0]).toBe('\rloading m [------------------------] 0.0 MB / 0.0 MB (0%)\x1b[K');
    expect(out.at(-1)).toContain('[########################]');
    progress.finish('done');
    expect(out.slice(-2)).toEqual(['\r\x1b[K', 'done\n']);
  });

  it('otherwise: a plain line per 10 % step, after the delay', () => {
    let clock = 0;
    const out: string[] = [];
    const progress = createProgress({ label: 'importing m', write: (t) => out.push(t), tty: false, delayMs: 100, now: () => clock });
    progress.update(1, 100);
    expect(out).toEqual([]);
    clock = 200;
    for (let done = 1; done <= 100; done++) progress.update(done, 100);
    expect(out).toHaveLength(11); // the first update after the delay, then each step from 10 % to 100 %
    expect(out[0]).toBe('importing m: 0.0 MB / 0.0 MB (1%)\n');
    expect(out[1]).toBe('importing m: 0.0 MB / 0.0 MB (10%)\n');
    progress.finish();
    expect(out).toHaveLength(11);
  });
});

describe('byte sizes', () => {
  it('parses decimal and binary units and refuses anything else', () => {
    expect(parseByteSize('20GB')).toBe(20e9);
    expect(parseByteSize('1.5 g')).toBe(1.5e9);
    expect(parseByteSize('512MiB')).toBe(512 * 2 ** 20);
    expect(parseByteSize('4096')).toBe(4096);
    for (const bad of ['', 'GB', '-1GB', '20 parsecs', '1e3', '99999999999TB']) expect(parseByteSize(bad), bad).toBeUndefined();
    expect([formatBytes(999), formatBytes(1_185_376), formatBytes(20e9)]).toEqual(['999 B', '1.2 MB', '20.0 GB']);
  });
});
