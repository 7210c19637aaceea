/**
 * The browser's byte sources and write targets, in Node (Node 20 has Blob and fetch): BlobByteSource,
 * UrlByteSource against a local HTTP server with and without Range support, MemoryWriteTarget under the
 * SMQ writer, and the plain-TypeScript CRC-32 of the browser build against zlib's.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crc32Slicing } from './crc32-table.js';
import { BlobByteSource, ByteSourceError, MemoryWriteTarget, ModelMetadata, SmqReader, SmqWriter, UrlByteSource } from './index.js';

const data = Uint8Array.from({ length: 3 * 65536 + 123 }, (_, i) => (i * 2654435761) >>> 24);

interface Served {
  readonly url: string;
  readonly server: Server;
  readonly requests: string[];
}

function serve(mode: 'range' | 'whole' | 'bad-range'): Promise<Served> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(req.headers.range ?? 'whole');
    if (req.url !== '/file.bin') {
      res.writeHead(404, 'Not Found').end();
      return;
    }
    const match = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (mode !== 'whole' && match !== null) {
      const start = Number(match[1]);
      const end = match[2] === '' ? data.length - 1 : Math.min(Number(match[2]), data.length - 1);
      const range = mode === 'range' ? `bytes ${start}-${end}/${data.length}` : 'bytes */*';
      res.writeHead(206, { 'content-range': range, 'content-length': end - start + 1, etag: '"abc"' }).end(data.subarray(start, end + 1));
      return;
    }
    res.writeHead(200, { 'content-length': data.length }).end(data);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, requests })));
}

describe('UrlByteSource', () => {
  const servers: Partial<Record<'range' | 'whole' | 'bad-range', Served>> = {};
  beforeAll(async () => {
    for (const mode of ['range', 'whole', 'bad-range'] as const) servers[mode] = await serve(mode);
  });
  afterAll(() => {
    for (const s of Object.values(servers)) s.server.close();
  });

  it('reads ranges with HTTP Range requests when the server honours them', async () => {
    const { url, requests } = servers.range!;
    const progress: Array<[number, number | undefined]> = [];
    const source = await UrlByteSource.open(`${url}/file.bin`, { blockBytes: 4096, onProgress: (l, t) => progress.push([l, t]) });
    expect(source).toMatchObject({ size: data.length, rangeRequests: true, version: '"abc"' });
    expect(await source.read(10, 20)).toEqual(data.subarray(10, 30));
    // A large read is one open-ended request from its offset, read as far as needed.
    const big = new Uint8Array(70000);
    await source.readInto!(big, 100000);
    expect(big).toEqual(data.subarray(100000, 170000));
    expect(requests).toContain('bytes=100000-');
    expect(await source.read(data.length - 5, 5)).toEqual(data.subarray(data.length - 5));
    await expect(source.read(data.length - 5, 6)).rejects.toMatchObject({ code: 'OUT_OF_RANGE' });
    expect(progress[0]).toEqual([4096, data.length]);
    expect(requests.every((r) => r.startsWith('bytes='))).toBe(true);
    await source.close();
    await expect(source.read(0, 1)).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('ascending readIntos share one open-ended request; a read behind them opens another', async () => {
    const { url, requests } = servers.range!;
    const source = await UrlByteSource.open(`${url}/file.bin`, { blockBytes: 4096 });
    const from = requests.length;
    const inFirstBlock = new Uint8Array(100);
    await source.readInto!(inFirstBlock, 50);
    expect(inFirstBlock).toEqual(data.subarray(50, 150));
    expect(requests.length).toBe(from);
    // Four reads in flight at once, ascending with small gaps, as a tensor stream issues them.
    const spans = [
      [9000, 10],
      [9020, 70000],
      [79100, 5],
      [79200, 60000],
    ] as const;
    const targets = spans.map(([, length]) => new Uint8Array(length));
    await Promise.all(spans.map(([offset], i) => source.readInto!(targets[i]!, offset)));
    spans.forEach(([offset, length], i) => expect(targets[i]).toEqual(data.subarray(offset, offset + length)));
    expect(requests.slice(from)).toEqual(['bytes=9000-']);
    // Behind the cursor: a new open-ended request from there.
    const back = new Uint8Array(10);
    await source.readInto!(back, 5000);
    expect(back).toEqual(data.subarray(5000, 5010));
    expect(requests.slice(from)).toEqual(['bytes=9000-', 'bytes=5000-']);
    // A read past the end of the body is refused before any request.
    await expect(source.readInto!(new Uint8Array(10), data.length - 5)).rejects.toMatchObject({ code: 'OUT_OF_RANGE' });
    await source.close();
  });

  it('a body that ends early is SHORT_READ, and a later read starts afresh', async () => {
    let cut = true;
    const server = createServer((req, res) => {
      const match = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '')!;
      const start = Number(match[1]);
      const end = match[2] === '' ? data.length - 1 : Math.min(Number(match[2]), data.length - 1);
      res.writeHead(206, { 'content-range': `bytes ${start}-${end}/${data.length}` });
      // The open-ended request's body stops 100 bytes in (a dropped connection), once.
      const stop = match[2] === '' && cut ? start + 100 : end + 1;
      if (match[2] === '') cut = false;
      res.end(data.subarray(start, stop));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const source = await UrlByteSource.open(`http://127.0.0.1:${(server.address() as AddressInfo).port}/f`, { blockBytes: 4096 });
      await expect(source.readInto!(new Uint8Array(1000), 10000)).rejects.toMatchObject({ code: 'SHORT_READ' });
      const again = new Uint8Array(1000);
      await source.readInto!(again, 10000);
      expect(again).toEqual(data.subarray(10000, 11000));
      await source.close();
    } finally {
      server.close();
    }
  });

  it('streams the whole body (in chunks, with progress) when the server ignores Range', async () => {
    const { url } = servers.whole!;
    const progress: number[] = [];
    const source = await UrlByteSource.open(`${url}/file.bin`, { onProgress: (loaded) => progress.push(loaded) });
    expect(source).toMatchObject({ size: data.length, rangeRequests: false });
    expect(progress.at(-1)).toBe(data.length);
    expect(await source.read(65530, 20)).toEqual(data.subarray(65530, 65550));
    expect(await source.read(0, data.length)).toEqual(data);
  });

  it('an error status or a malformed Content-Range is FETCH_FAILED naming the URL', async () => {
    const missing = await UrlByteSource.open(`${servers.range!.url}/nope.bin`).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(ByteSourceError);
    expect(missing).toMatchObject({ code: 'FETCH_FAILED' });
    expect((missing as Error).message).toContain(`${servers.range!.url}/nope.bin: HTTP 404`);
    await expect(UrlByteSource.open(`${servers['bad-range']!.url}/file.bin`)).rejects.toMatchObject({ code: 'FETCH_FAILED' });
    await expect(UrlByteSource.open('http://127.0.0.1:9/unreachable.bin')).rejects.toMatchObject({ code: 'FETCH_FAILED' });
  });

  it('an aborted signal rejects with its reason', async () => {
    const reason = new Error('stopped');
    await expect(UrlByteSource.open(`${servers.range!.url}/file.bin`, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
  });
});

describe('BlobByteSource', () => {
  it('reads slices of a Blob, checks ranges, and closes', async () => {
    const source = new BlobByteSource(new Blob([data]), 'data.bin');
    expect(source.size).toBe(data.length);
    expect(await source.read(65536, 100)).toEqual(data.subarray(65536, 65636));
    const target = new Uint8Array(10);
    await source.readInto(target, 5);
    expect(target).toEqual(data.subarray(5, 15));
    await expect(source.read(-1, 2)).rejects.toMatchObject({ code: 'OUT_OF_RANGE' });
    await expect(source.read(0, data.length + 1)).rejects.toMatchObject({ code: 'OUT_OF_RANGE' });
    await source.close();
    await expect(source.read(0, 1)).rejects.toMatchObject({ code: 'CLOSED' });
  });
});

describe('MemoryWriteTarget', () => {
  const metadata = new ModelMetadata([['general.name', { type: 8, value: 'm' }]]);
  const tensors = [{ name: 'w', type: 0, shape: [4, 2], byteLength: 32 }];

  it('takes a whole SMQ file from the writer; the reader reads it back, checksums verified', async () => {
    const target = new MemoryWriteTarget('m.smq');
    const writer = await SmqWriter.createOn(target.open, { metadata, tensors });
    expect(() => target.bytes()).toThrow(expect.objectContaining({ code: 'INCOMPLETE' }) as Error);
    const weights = new Uint8Array(new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]).buffer);
    await writer.writeTensorData('w', weights);
    await writer.finish();
    const reader = await SmqReader.fromBytes(target.bytes());
    expect(await reader.readTensorData('w')).toEqual(weights);
    expect(reader.metadata.getString('general.name')).toBe('m');
  });

  it('an aborted write leaves nothing', async () => {
    const target = new MemoryWriteTarget();
    const writer = await SmqWriter.createOn(target.open, { metadata, tensors });
    await writer.abort();
    expect(() => target.bytes()).toThrow(expect.objectContaining({ code: 'INCOMPLETE' }) as Error);
  });
});

describe('the browser build CRC-32', () => {
  it('equals zlib.crc32 on every length 0..64 and on chained chunks', () => {
    const native = (zlib as unknown as { crc32(d: Uint8Array, v?: number): number }).crc32;
    for (let n = 0; n <= 64; n++) expect(crc32Slicing(data.subarray(0, n))).toBe(native(data.subarray(0, n)));
    const chained = crc32Slicing(data.subarray(1000), crc32Slicing(data.subarray(0, 1000)));
    expect(chained).toBe(native(data));
  });

  it('equals zlib.crc32 at every start alignment and length around the 16-byte steps', () => {
    const native = (zlib as unknown as { crc32(d: Uint8Array, v?: number): number }).crc32;
    const bytes = Uint8Array.from({ length: 300 }, (_, i) => (i * 151 + 7) & 0xff);
    for (let start = 0; start < 8; start++) {
      for (const length of [15, 16, 17, 31, 32, 33, 47, 63, 64, 65, 200]) {
        const slice = bytes.subarray(start, start + length);
        expect(crc32Slicing(slice), `start ${start}, length ${length}`).toBe(native(slice));
      }
    }
  });
});
