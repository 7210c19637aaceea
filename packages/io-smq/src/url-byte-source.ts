/**
 * A URL as a `ByteSource`, over `fetch`. When the server honours HTTP Range requests (206 with Content-Range),
 * reads fetch just their bytes. `readInto` reads straight into its target, and ascending `readInto`s (a tensor
 * stream) share one open-ended response read front to back; small `read`s fetch a 1 MiB block and are served
 * from it, and so are reads inside the first 1 MiB, fetched at open (so parsing a header costs a request or two). When it ignores Range (200, the whole body), the body is streamed
 * once into chunks of at most 16 MiB (never one ArrayBuffer, so files over 2 GB work) and served from memory.
 * Failed requests reject with ByteSourceError FETCH_FAILED naming the URL and the HTTP status.
 * No node:* here (Node 20 has fetch too).
 */
import { checkOpen, checkRange, type ByteSource } from './byte-source.js';
import { ByteSourceError } from './errors.js';

export interface UrlByteSourceOptions {
  readonly signal?: AbortSignal;
  /** Bytes received so far, and the total when the server said it. */
  readonly onProgress?: (loaded: number, total: number | undefined) => void;
  /** Extra request headers (e.g. Authorization). */
  readonly headers?: Readonly<Record<string, string>>;
  /** The fetch to use (default: the global one). */
  readonly fetch?: typeof fetch;
  /** Bytes the first request asks for (default 1 MiB); small reads are served from blocks of this size too. */
  readonly blockBytes?: number;
}

const CHUNK_BYTES = 16 * 1024 * 1024;
const DEFAULT_BLOCK_BYTES = 1 << 20;

function fetchFailed(url: string, detail: string, offset = 0, length = 0): ByteSourceError {
  return new ByteSourceError('FETCH_FAILED', `${url}: ${detail}`, { offset, length });
}

/** `bytes a-b/total` of a 206 answer; undefined when the header is missing or not of that form. */
function parseContentRange(header: string | null): { start: number; end: number; total: number } | undefined {
  const match = header === null ? null : /^bytes (\d+)-(\d+)\/(\d+)$/.exec(header.trim());
  if (match === null) return undefined;
  const [start, end, total] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (!Number.isSafeInteger(total) || start > end || end >= total) return undefined;
  return { start, end, total };
}

/** Reads a body to its end into pieces of at most CHUNK_BYTES, reporting progress; `limit` bounds what is accepted. */
async function readBody(response: Response, url: string, limit: number, onChunk: (received: number) => void): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  let current = new Uint8Array(0);
  let filled = 0;
  let received = 0;
  const body = response.body;
  if (body === null) return [];
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    received += value.length;
    if (received > limit) {
      await reader.cancel().catch(() => undefined);
      throw fetchFailed(url, `the body is longer than the ${limit} bytes announced`);
    }
    for (let at = 0; at < value.length; ) {
      if (filled === current.length) {
        if (filled > 0) chunks.push(current);
        current = new Uint8Array(Math.min(CHUNK_BYTES, Math.max(limit - (received - value.length + at), 1)));
        filled = 0;
      }
      const n = Math.min(current.length - filled, value.length - at);
      current.set(value.subarray(at, at + n), filled);
      filled += n;
      at += n;
    }
    onChunk(received);
  }
  if (filled > 0) chunks.push(current.subarray(0, filled));
  return chunks;
}

/**
 * Reads a body of exactly `target.length` bytes straight into `target` (kernel memory, when a model loads
 * from a URL: no buffer of its own per range). Returns the bytes received; a longer body is an error.
 */
async function readBodyInto(response: Response, url: string, target: Uint8Array): Promise<number> {
  const body = response.body;
  if (body === null) return 0;
  const reader = body.getReader();
  let filled = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return filled;
    if (value.length > target.length - filled) {
      await reader.cancel().catch(() => undefined);
      throw fetchFailed(url, `the body is longer than the ${target.length} bytes announced`);
    }
    target.set(value, filled);
    filled += value.length;
  }
}

/** The whole body of a server that ignored Range, held in chunks. */
class ChunkedBytes implements ByteSource {
  private closed = false;
  private readonly starts: number[] = [];
  readonly size: number;

  constructor(
    private readonly chunks: readonly Uint8Array[],
    private readonly url: string,
  ) {
    let at = 0;
    for (const chunk of chunks) {
      this.starts.push(at);
      at += chunk.length;
    }
    this.size = at;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkRange(offset, length, this.size, this.url);
    const out = new Uint8Array(length);
    await this.readInto(out, offset);
    return out;
  }

  readInto(target: Uint8Array, offset: number): Promise<void> {
    try {
      checkOpen(this.closed, offset, target.length, this.url);
      checkRange(offset, target.length, this.size, this.url);
      let index = this.chunkAt(offset);
      for (let done = 0; done < target.length; index++) {
        const chunk = this.chunks[index]!;
        const from = offset + done - this.starts[index]!;
        const n = Math.min(chunk.length - from, target.length - done);
        target.set(chunk.subarray(from, from + n), done);
        done += n;
      }
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  private chunkAt(offset: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}

/** A read may skip up to this many bytes of the open body to reach its offset, rather than start a new request. */
const CURSOR_SKIP_BYTES = 1 << 20;

/**
 * One open-ended range response (`Range: bytes=<start>-`) read front to back. Reads in ascending order are
 * served from it in turn (each body chunk copied once, into its read's target; small gaps skipped), so a
 * tensor stream, with several reads in flight, is one request: in Chromium one sequential body is faster
 * than several range requests at once (120 vs 87 MB/s from localhost on the 2-core test VM).
 */
class BodyCursor {
  /** Where the queued reads end: the next read the cursor takes must start at or after this offset. */
  claimed: number;
  private position: number;
  private leftover: Uint8Array | undefined;
  private tail: Promise<void> = Promise.resolve();
  private pending = 0;
  private error: unknown;

  constructor(
    private readonly body: Promise<ReadableStreamDefaultReader<Uint8Array>>,
    start: number,
    private readonly url: string,
  ) {
    this.claimed = start;
    this.position = start;
    // A failed request is reported by the read that awaits it; keep it from counting as unhandled meanwhile.
    body.catch(() => {});
  }

  /** No read is queued (a new cursor may replace this one without cutting a read short). */
  get idle(): boolean {
    return this.pending === 0;
  }

  /** Whether a read at `offset` can be served by this cursor: ahead of its queued reads, within skipping distance, no failure. */
  takes(offset: number): boolean {
    return this.error === undefined && offset >= this.claimed && offset - this.claimed <= CURSOR_SKIP_BYTES;
  }

  /** Fills `target` with the bytes at `offset` once the reads queued before it are done. */
  read(target: Uint8Array, offset: number): Promise<void> {
    this.claimed = offset + target.length;
    this.pending++;
    const run = this.tail.then(() => this.fill(target, offset));
    this.tail = run.catch(() => {});
    return run.finally(() => {
      this.pending--;
    });
  }

  cancel(): void {
    void this.body.then((reader) => reader.cancel()).catch(() => undefined);
  }

  private async fill(target: Uint8Array, offset: number): Promise<void> {
    if (this.error !== undefined) throw this.error;
    try {
      const reader = await this.body;
      for (let filled = 0; filled < target.length; ) {
        let chunk = this.leftover;
        this.leftover = undefined;
        if (chunk === undefined) {
          const next = await reader.read();
          if (next.done) {
            throw new ByteSourceError('SHORT_READ', `${this.url}: the body ended at byte ${this.position}, ${offset + target.length - this.position} more bytes expected`, { offset: this.position, length: target.length });
          }
          chunk = next.value;
        }
        if (this.position < offset) {
          const skip = Math.min(chunk.length, offset - this.position);
          this.position += skip;
          chunk = chunk.subarray(skip);
        }
        const n = Math.min(chunk.length, target.length - filled);
        target.set(chunk.subarray(0, n), filled);
        filled += n;
        this.position += n;
        if (n < chunk.length) this.leftover = chunk.subarray(n);
      }
    } catch (error) {
      this.error = error;
      this.cancel();
      throw error;
    }
  }
}

export class UrlByteSource implements ByteSource {
  private closed = false;
  /** The last block fetched for small reads. */
  private block: { start: number; bytes: Uint8Array } | undefined;
  /** The open body that serves ascending `readInto`s. */
  private cursor: BodyCursor | undefined;
  private loaded = 0;

  private constructor(
    readonly url: string,
    readonly size: number,
    /** The server's validator (ETag, else Last-Modified): a cache key changes when the file does. */
    readonly version: string | undefined,
    private readonly options: UrlByteSourceOptions,
    first: Uint8Array,
  ) {
    this.block = { start: 0, bytes: first };
    this.loaded = first.length;
  }

  /**
   * Opens `url`: one GET with `Range: bytes=0-<block>`. A 206 answer means random access (`rangeRequests`
   * true); a 200 answer means the server ignored Range, and the whole body is streamed in before this
   * resolves (the source returned is then a plain in-memory one, `rangeRequests` false).
   */
  static async open(url: string | URL, options: UrlByteSourceOptions = {}): Promise<ByteSource & { readonly url: string; readonly size: number; readonly version: string | undefined; readonly rangeRequests: boolean }> {
    const href = String(url);
    const blockBytes = options.blockBytes ?? DEFAULT_BLOCK_BYTES;
    if (!Number.isSafeInteger(blockBytes) || blockBytes < 1) throw new ByteSourceError('OUT_OF_RANGE', `blockBytes = ${blockBytes} must be a positive integer`, { offset: 0, length: 0 });
    const response = await UrlByteSource.request(href, options, `bytes=0-${blockBytes - 1}`, 0, blockBytes);
    const version = response.headers.get('etag') ?? response.headers.get('last-modified') ?? undefined;
    if (response.status === 206) {
      const range = parseContentRange(response.headers.get('content-range'));
      if (range === undefined || range.start !== 0) {
        await response.body?.cancel().catch(() => undefined);
        throw fetchFailed(href, `206 answer with a Content-Range of ${JSON.stringify(response.headers.get('content-range'))}, expected "bytes 0-N/TOTAL"`);
      }
      const expected = range.end + 1;
      const bytes = concat(await readBody(response, href, expected, () => {}), expected);
      if (bytes.length !== expected) throw fetchFailed(href, `the first range gave ${bytes.length} bytes, the server announced ${expected}`);
      const source = new UrlByteSource(href, range.total, version, options, bytes);
      options.onProgress?.(bytes.length, range.total);
      return Object.assign(source, { rangeRequests: true as const });
    }
    // 200: the server ignored Range; take the whole body, in chunks.
    const announced = Number(response.headers.get('content-length') ?? NaN);
    const total = Number.isSafeInteger(announced) && announced >= 0 ? announced : undefined;
    const chunks = await readBody(response, href, total ?? Number.MAX_SAFE_INTEGER, (received) => options.onProgress?.(received, total));
    const whole = new ChunkedBytes(chunks, href);
    if (total !== undefined && whole.size !== total) throw fetchFailed(href, `the body ended after ${whole.size} of ${total} bytes`);
    return Object.assign(whole, { url: href, version, rangeRequests: false as const });
  }

  private static async request(url: string, options: UrlByteSourceOptions, range: string, offset: number, length: number): Promise<Response> {
    const doFetch = options.fetch ?? globalThis.fetch;
    let response: Response;
    try {
      response = await doFetch(url, { headers: { ...options.headers, Range: range }, ...(options.signal === undefined ? {} : { signal: options.signal }) });
    } catch (error) {
      if (options.signal?.aborted === true) throw options.signal.reason;
      throw fetchFailed(url, `the request failed (${(error as Error).message})`, offset, length);
    }
    if (response.status !== 200 && response.status !== 206) {
      await response.body?.cancel().catch(() => undefined);
      throw fetchFailed(url, `HTTP ${response.status}${response.statusText === '' ? '' : ` ${response.statusText}`}`, offset, length);
    }
    return response;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkOpen(this.closed, offset, length, this.url);
    checkRange(offset, length, this.size, this.url);
    const block = this.block;
    if (block !== undefined && offset >= block.start && offset + length <= block.start + block.bytes.length) {
      return block.bytes.slice(offset - block.start, offset - block.start + length);
    }
    const blockBytes = this.options.blockBytes ?? DEFAULT_BLOCK_BYTES;
    if (length < blockBytes) {
      const end = Math.min(this.size, offset + blockBytes);
      this.block = { start: offset, bytes: await this.fetchRange(offset, end - offset) };
      return this.block.bytes.slice(0, length);
    }
    return this.fetchRange(offset, length);
  }

  async readInto(target: Uint8Array, offset: number): Promise<void> {
    checkOpen(this.closed, offset, target.length, this.url);
    checkRange(offset, target.length, this.size, this.url);
    const block = this.block;
    if (block !== undefined && offset >= block.start && offset + target.length <= block.start + block.bytes.length) {
      target.set(block.bytes.subarray(offset - block.start, offset - block.start + target.length));
      return;
    }
    if (target.length === 0) return;
    // From the wire straight into the target (kernel memory, when a model loads), each byte fetched once:
    // ascending reads from one open body, a read elsewhere from a new one when the old is idle, else (a read
    // behind reads still queued) its exact range.
    let cursor = this.cursor;
    if (cursor === undefined || !cursor.takes(offset)) {
      if (cursor !== undefined && !cursor.idle) {
        await this.fetchRangeInto(target, offset);
        return;
      }
      cursor?.cancel();
      cursor = this.cursor = this.openCursor(offset);
    }
    await cursor.read(target, offset);
    this.loaded += target.length;
    this.options.onProgress?.(Math.min(this.loaded, this.size), this.size);
  }

  close(): Promise<void> {
    this.closed = true;
    this.block = undefined;
    this.cursor?.cancel();
    this.cursor = undefined;
    return Promise.resolve();
  }

  /** A cursor over `bytes=<offset>-`; the request starts now, its failures surface in the first read. */
  private openCursor(offset: number): BodyCursor {
    const body = (async () => {
      const response = await UrlByteSource.request(this.url, this.options, `bytes=${offset}-`, offset, this.size - offset);
      const range = response.status === 206 ? parseContentRange(response.headers.get('content-range')) : undefined;
      if (range === undefined || range.start !== offset || response.body === null) {
        await response.body?.cancel().catch(() => undefined);
        throw fetchFailed(this.url, `HTTP ${response.status} with Content-Range ${JSON.stringify(response.headers.get('content-range'))} to a request for bytes ${offset}- (it answered 206 at open)`, offset, this.size - offset);
      }
      return response.body.getReader();
    })();
    return new BodyCursor(body, offset, this.url);
  }

  private async fetchRange(offset: number, length: number): Promise<Uint8Array> {
    const bytes = new Uint8Array(length);
    await this.fetchRangeInto(bytes, offset);
    return bytes;
  }

  /** One range request for exactly `target.length` bytes at `offset`, its body read into `target`. */
  private async fetchRangeInto(target: Uint8Array, offset: number): Promise<void> {
    const length = target.length;
    if (length === 0) return;
    const response = await UrlByteSource.request(this.url, this.options, `bytes=${offset}-${offset + length - 1}`, offset, length);
    if (response.status !== 206) {
      await response.body?.cancel().catch(() => undefined);
      throw fetchFailed(this.url, `HTTP ${response.status} to a range request (it answered 206 at open)`, offset, length);
    }
    const received = await readBodyInto(response, this.url, target);
    if (received !== length) throw new ByteSourceError('SHORT_READ', `${this.url} gave ${received} of the ${length} bytes at ${offset}`, { offset: offset + received, length });
    this.loaded += length;
    this.options.onProgress?.(Math.min(this.loaded, this.size), this.size);
  }
}

function concat(chunks: readonly Uint8Array[], capacity: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const total = chunks.reduce((sum, c) => sum + c.length, 0);
  const out = new Uint8Array(Math.min(total, capacity));
  let at = 0;
  for (const c of chunks) {
    out.set(c.subarray(0, out.length - at), at);
    at += c.length;
  }
  return out;
}

