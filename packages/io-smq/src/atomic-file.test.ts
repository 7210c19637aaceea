import { spawn } from 'node:child_process';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AtomicFile, type AtomicFileErrors } from './atomic-file.js';
import { makeTempDir } from './test-helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await makeTempDir()));
afterEach(() => cleanup());

class TestError extends Error {
  constructor(
    readonly code: string,
    readonly detail: string,
  ) {
    super(`${code}: ${detail}`);
  }
}

/** The caller's errors: the shared class must report through them, with what it knows. */
const errors: AtomicFileErrors = {
  destinationExists: (path, appeared) => new TestError('EXISTS', `${path} ${appeared ? 'appeared' : 'existed'}`),
  notOpen: (path, state) => new TestError('NOT_OPEN', `${path} ${state}`),
};

const create = (name: string, overwrite = false) => AtomicFile.create(join(dir, name), { overwrite, tempPath: join(dir, `${name}.part`), errors });

describe('AtomicFile', () => {
  it('publishes the temp file at the destination only on commit, and refuses a second commit', async () => {
    const file = await create('a.bin');
    await file.handle.write(Uint8Array.of(1, 2, 3), 0, 3, 0);
    expect(await readdir(dir)).toEqual(['a.bin.part']);
    await file.commit();
    expect(file.isOpen).toBe(false);
    expect(await readdir(dir)).toEqual(['a.bin']);
    expect([...(await readFile(join(dir, 'a.bin')))]).toEqual([1, 2, 3]);
    await expect(file.commit()).rejects.toMatchObject({ code: 'NOT_OPEN', detail: `${join(dir, 'a.bin')} committed` });
    await file.abort(); // a no-op after commit
    expect(await readdir(dir)).toEqual(['a.bin']);
  });

  it('reports an existing destination through the caller errors, before and during the write', async () => {
    await writeFile(join(dir, 'b.bin'), 'kept');
    await expect(create('b.bin')).rejects.toMatchObject({ code: 'EXISTS', detail: `${join(dir, 'b.bin')} existed` });
    const racing = await create('c.bin');
    await writeFile(join(dir, 'c.bin'), 'someone else');
    await expect(racing.commit()).rejects.toMatchObject({ code: 'EXISTS', detail: `${join(dir, 'c.bin')} appeared` });
    expect(await readFile(join(dir, 'c.bin'), 'utf8')).toBe('someone else');
    expect((await readdir(dir)).sort()).toEqual(['b.bin', 'c.bin']);
  });

  it('overwrites when asked, and abort leaves only what was there', async () => {
    await writeFile(join(dir, 'd.bin'), 'old');
    const replacing = await create('d.bin', true);
    await replacing.handle.write(Uint8Array.of(42), 0, 1, 0);
    await replacing.commit();
    expect([...(await readFile(join(dir, 'd.bin')))]).toEqual([42]);
    const aborted = await create('e.bin');
    await aborted.abort();
    await aborted.abort();
    await expect(aborted.commit()).rejects.toMatchObject({ code: 'NOT_OPEN' });
    expect(await readdir(dir)).toEqual(['d.bin']);
  });
});

describe('AtomicFile clean-up when the process ends', () => {
  const child = fileURLToPath(new URL('./signal-child.ts', import.meta.url));
  const packageRoot = fileURLToPath(new URL('..', import.meta.url));

  /** Starts the child, waits until its files exist, sends `signal`, and returns how it ended. */
  async function signalChild(signal: NodeJS.Signals, mode?: string) {
    const target = join(dir, 'signalled.bin');
    const proc = spawn(process.execPath, ['--import', 'tsx', child, target, ...(mode === undefined ? [] : [mode])], { cwd: packageRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const ready = new Promise<void>((resolve) =>
      proc.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        if (stdout.split('\n').length > 2) resolve();
      }),
    );
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.on('exit', (code, sig) => resolve({ code, signal: sig })));
    await Promise.race([ready, exited]);
    const [tempPath, extra] = stdout.trim().split('\n');
    expect(tempPath, stderr).toBeDefined();
    const before = (await readdir(dir)).sort();
    proc.kill(signal);
    return { ...(await exited), before, tempPath: tempPath!, extra: extra!, stderr };
  }

  it.each(['SIGTERM', 'SIGINT'] as const)('%s removes the temporary file and tracked paths, and the process still dies by it', async (signal) => {
    const ended = await signalChild(signal);
    expect(ended.before).toEqual(['signalled.bin.child.tmp', 'signalled.bin.lock']);
    expect(ended.signal, ended.stderr).toBe(signal);
    expect(await readdir(dir)).toEqual([]);
  });

  it('leaves the decision to an application that handles SIGINT itself, and cleans up when it exits', async () => {
    const ended = await signalChild('SIGINT', 'own-handler');
    expect(ended.signal, ended.stderr).toBeNull();
    expect(ended.code).toBe(3);
    expect(await readdir(dir)).toEqual([]);
  });

  it('stops tracking a file once it is committed or aborted, and removeOnExit can be undone', async () => {
    const before = process.listenerCount('SIGTERM');
    const exitBefore = process.listenerCount('exit');
    const file = await create('tracked.bin');
    expect(process.listenerCount('SIGTERM')).toBe(before + 1);
    const untrack = AtomicFile.removeOnExit(join(dir, 'other'));
    await file.commit();
    expect(process.listenerCount('SIGTERM')).toBe(before + 1);
    untrack();
    untrack(); // idempotent
    expect(process.listenerCount('SIGTERM')).toBe(before);
    const aborted = await create('aborted.bin');
    await aborted.abort();
    expect(process.listenerCount('SIGTERM')).toBe(before);
    expect(process.listenerCount('exit')).toBe(exitBefore);
  });
});
