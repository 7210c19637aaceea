#!/usr/bin/env node
// A static file server for the example page, the Chromium tests and the benchmark page.
// `--isolated` sends COOP/COEP, which makes the page cross-origin isolated: SharedArrayBuffer exists
// and the engine (and wllama) can run more than one thread. Without it they run on one thread.
//
// It answers HTTP Range requests (206), as real static servers do; `--no-ranges` turns that off (200 only).
//
//   node scripts/serve.mjs [--isolated] [--no-ranges] [--port 8080] [--host 127.0.0.1] [--root dist]
//                          [--mount /models=../../fixtures] ...
import { createReadStream, realpathSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The headers that make a page cross-origin isolated (and so allow SharedArrayBuffer and threads). */
export const ISOLATION_HEADERS = Object.freeze({
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
});

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  // WebAssembly.instantiateStreaming refuses any other type.
  '.wasm': 'application/wasm',
  '.gguf': 'application/octet-stream',
  '.smq': 'application/octet-stream',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * Resolves a URL path against the mounts (longest prefix first) to a file inside that mount's folder,
 * or null when it would leave the folder (`..`, symlinks out of it) or matches no mount.
 * @param {string} urlPath decoded URL path, starting with '/'
 * @param {ReadonlyArray<{ prefix: string, dir: string }>} mounts
 */
export function resolveFile(urlPath, mounts) {
  for (const { prefix, dir } of mounts) {
    if (urlPath !== prefix && !urlPath.startsWith(prefix.endsWith('/') ? prefix : `${prefix}/`)) continue;
    const rest = urlPath.slice(prefix.length).replace(/^\/+/, '');
    const candidate = resolve(dir, rest);
    if (candidate !== dir && !candidate.startsWith(dir + sep)) return null;
    let real;
    try {
      real = realpathSync(candidate);
    } catch {
      return null;
    }
    const realDir = realpathSync(dir);
    if (real !== realDir && !real.startsWith(realDir + sep)) return null;
    let stat = statSync(real);
    if (stat.isDirectory()) {
      real = resolve(real, 'index.html');
      try {
        stat = statSync(real);
      } catch {
        return null;
      }
    }
    return stat.isFile() ? { path: real, size: stat.size } : null;
  }
  return null;
}

/**
 * Starts the server; resolves once it listens. `port: 0` picks a free port (see `url`).
 * Answers single-range `Range` requests with 206 (as nginx, CDNs and Hugging Face do), unless `ranges: false`.
 * @param {{ root: string, mounts?: Record<string, string>, isolated?: boolean, ranges?: boolean, port?: number, host?: string, log?: (line: string) => void }} options
 * @returns {Promise<{ url: string, port: number, close: () => Promise<void> }>}
 */
export async function startStaticServer(options) {
  const host = options.host ?? '127.0.0.1';
  // Longest prefix first, so '/models' wins over '/'.
  const mounts = [
    ...Object.entries(options.mounts ?? {}).map(([prefix, dir]) => ({ prefix: normalizePrefix(prefix), dir: resolve(dir) })),
    { prefix: '/', dir: resolve(options.root) },
  ].sort((a, b) => b.prefix.length - a.prefix.length);
  const extraHeaders = options.isolated ? ISOLATION_HEADERS : {};
  const server = createServer((request, response) => {
    const headers = { ...extraHeaders, 'Cache-Control': 'no-store' };
    const fail = (status, message) => {
      response.writeHead(status, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' });
      response.end(`${status} ${message}\n`);
      options.log?.(`${status} ${request.method} ${request.url}`);
    };
    if (request.method !== 'GET' && request.method !== 'HEAD') return fail(405, 'method not allowed');
    let urlPath;
    try {
      urlPath = decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname);
    } catch {
      return fail(400, 'bad URL');
    }
    if (urlPath.includes('\0')) return fail(400, 'bad URL');
    const file = resolveFile(urlPath, mounts);
    if (file === null) return fail(404, 'not found');
    const type = MIME[extname(file.path).toLowerCase()] ?? 'application/octet-stream';
    const range = options.ranges === false ? undefined : parseRange(request.headers.range, file.size);
    if (range === null) {
      response.writeHead(416, { ...headers, 'Content-Range': `bytes */${file.size}` });
      return response.end();
    }
    const served = range ?? { start: 0, end: file.size - 1 };
    const length = Math.max(0, served.end - served.start + 1);
    response.writeHead(range === undefined ? 200 : 206, {
      ...headers,
      'Content-Type': type,
      'Content-Length': String(length),
      ...(options.ranges === false ? {} : { 'Accept-Ranges': 'bytes' }),
      ...(range === undefined ? {} : { 'Content-Range': `bytes ${range.start}-${range.end}/${file.size}` }),
    });
    if (request.method === 'HEAD' || length === 0) return response.end();
    const stream = createReadStream(file.path, { start: served.start, end: served.end });
    stream.on('error', () => response.destroy());
    stream.pipe(response);
  });
  await new Promise((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolveListen(undefined));
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://${host}:${port}/`,
    port,
    close: () =>
      new Promise((resolveClose) => {
        server.closeAllConnections();
        server.close(() => resolveClose(undefined));
      }),
  };
}

/**
 * A single-range `Range: bytes=...` header as inclusive offsets, as static servers and CDNs answer it (206):
 * undefined when there is none or it is not a single byte range (the whole file, 200), null when it cannot
 * be satisfied (416).
 * @param {string | undefined} header
 * @param {number} size
 * @returns {{ start: number, end: number } | undefined | null}
 */
export function parseRange(header, size) {
  const match = header === undefined ? null : /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (match === null || (match[1] === '' && match[2] === '')) return undefined;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    return suffix === 0 || size === 0 ? null : { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(match[1]);
  const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  return start >= size || end < start ? null : { start, end };
}

function normalizePrefix(prefix) {
  const withSlash = prefix.startsWith('/') ? prefix : `/${prefix}`;
  return withSlash.length > 1 ? withSlash.replace(/\/+$/, '') : withSlash;
}

/** Parses the CLI flags; throws a message naming the bad flag. */
export function parseServeArgs(argv, defaultRoot) {
  const options = { root: defaultRoot, mounts: {}, isolated: false, port: 8080, host: '127.0.0.1' };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    // `pnpm run serve -- --port 9000` passes the `--` through.
    if (flag === '--') continue;
    if (flag === '--isolated') options.isolated = true;
    else if (flag === '--no-ranges') options.ranges = false;
    else if (flag === '--port') {
      const port = Number(value());
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0-65535, got ${argv[i]}`);
      options.port = port;
    } else if (flag === '--host') options.host = value();
    else if (flag === '--root') options.root = resolve(value());
    else if (flag === '--mount') {
      const spec = value();
      const eq = spec.indexOf('=');
      if (eq <= 0) throw new Error(`--mount expects /prefix=folder, got ${spec}`);
      options.mounts[spec.slice(0, eq)] = resolve(spec.slice(eq + 1));
    } else throw new Error(`unknown flag ${flag} (flags: --isolated --no-ranges --port --host --root --mount)`);
  }
  return options;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const defaultRoot = fileURLToPath(new URL('../dist/', import.meta.url));
  let options;
  try {
    options = parseServeArgs(process.argv.slice(2), defaultRoot);
  } catch (error) {
    console.error(`serve: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(2);
  }
  const server = await startStaticServer({ ...options, log: (line) => console.error(line) });
  console.log(`serving ${options.root} at ${server.url} (${options.isolated ? 'cross-origin isolated: COOP/COEP sent, threads on' : 'not isolated: no COOP/COEP, one thread'})`);
  for (const [prefix, dir] of Object.entries(options.mounts)) console.log(`  ${prefix} -> ${dir}`);
}
