import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ISOLATION_HEADERS, parseServeArgs, startStaticServer } from '../scripts/serve.mjs';

let dir: string;
let outside: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'serve-root-'));
  outside = mkdtempSync(join(tmpdir(), 'serve-outside-'));
  writeFileSync(join(dir, 'index.html'), '<p>hi</p>');
  writeFileSync(join(dir, 'k.wasm'), new Uint8Array([0, 97, 115, 109]));
  mkdirSync(join(dir, 'sub'));
  writeFileSync(join(dir, 'sub', 'index.html'), 'sub');
  writeFileSync(join(outside, 'secret.txt'), 'secret');
  writeFileSync(join(outside, 'm.gguf'), 'GGUF');
  symlinkSync(join(outside, 'secret.txt'), join(dir, 'link.txt'));
});

describe('startStaticServer', () => {
  const servers: Array<{ close: () => Promise<void> }> = [];
  afterAll(async () => {
    for (const s of servers) await s.close();
  });

  it('sends COOP/COEP only when isolated', async () => {
    const isolated = await startStaticServer({ root: dir, isolated: true });
    const plain = await startStaticServer({ root: dir });
    servers.push(isolated, plain);
    const a = await fetch(`${isolated.url}index.html`);
    expect(a.status).toBe(200);
    expect(a.headers.get('cross-origin-opener-policy')).toBe(ISOLATION_HEADERS['Cross-Origin-Opener-Policy']);
    expect(a.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
    const b = await fetch(`${plain.url}index.html`);
    expect(b.status).toBe(200);
    expect(b.headers.get('cross-origin-opener-policy')).toBeNull();
    expect(b.headers.get('cross-origin-embedder-policy')).toBeNull();
    expect(await b.text()).toBe('<p>hi</p>');
  });

  it('serves types, directory indexes and mounts; refuses what leaves the folders', async () => {
    const server = await startStaticServer({ root: dir, mounts: { '/models': outside } });
    servers.push(server);
    const wasm = await fetch(`${server.url}k.wasm`);
    expect(wasm.headers.get('content-type')).toBe('application/wasm');
    expect(await (await fetch(`${server.url}sub/`)).text()).toBe('sub');
    expect(await (await fetch(server.url)).text()).toBe('<p>hi</p>');
    expect(await (await fetch(`${server.url}models/m.gguf`)).text()).toBe('GGUF');
    expect((await fetch(`${server.url}missing.js`)).status).toBe(404);
    expect((await fetch(`${server.url}..%2f..%2f${outside.split('/').pop()}/secret.txt`)).status).toBe(404);
    expect((await fetch(`${server.url}link.txt`)).status).toBe(404);
    expect((await fetch(`${server.url}%E0%A4%A`)).status).toBe(400);
    expect((await fetch(`${server.url}index.html`, { method: 'POST' })).status).toBe(405);
  });

  it('answers single byte ranges with 206 (416 when unsatisfiable), and only 200 with ranges: false', async () => {
    const server = await startStaticServer({ root: dir });
    const plain = await startStaticServer({ root: dir, ranges: false });
    servers.push(server, plain);
    const get = (base: string, range: string) => fetch(`${base}index.html`, { headers: { range } });
    const part = await get(server.url, 'bytes=3-4');
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe('bytes 3-4/9');
    expect(await part.text()).toBe('hi');
    const tail = await get(server.url, 'bytes=-4');
    expect([tail.status, await tail.text()]).toEqual([206, '</p>']);
    const open = await get(server.url, 'bytes=7-');
    expect([open.status, open.headers.get('content-range'), await open.text()]).toEqual([206, 'bytes 7-8/9', 'p>']);
    const beyond = await get(server.url, 'bytes=9-12');
    expect([beyond.status, beyond.headers.get('content-range')]).toEqual([416, 'bytes */9']);
    await beyond.text();
    const multi = await get(server.url, 'bytes=0-1,3-4');
    expect([multi.status, await multi.text()]).toEqual([200, '<p>hi</p>']);
    const ignored = await get(plain.url, 'bytes=3-4');
    expect([ignored.status, ignored.headers.get('accept-ranges'), await ignored.text()]).toEqual([200, null, '<p>hi</p>']);
  });
});

describe('parseServeArgs', () => {
  it('reads the flags and names a bad one', () => {
    expect(parseServeArgs(['--isolated', '--', '--port', '0', '--mount', '/m=/tmp'], '/root')).toMatchObject({ root: '/root', isolated: true, port: 0, mounts: { '/m': '/tmp' } });
    expect(parseServeArgs(['--no-ranges'], '/root')).toMatchObject({ ranges: false });
    expect(() => parseServeArgs(['--port', '70000'], '/r')).toThrow('--port must be 0-65535, got 70000');
    expect(() => parseServeArgs(['--mount', 'nope'], '/r')).toThrow('--mount expects /prefix=folder, got nope');
    expect(() => parseServeArgs(['--bogus'], '/r')).toThrow('unknown flag --bogus');
  });
});
