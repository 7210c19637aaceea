import { createServer } from 'node:http';
import { createReadStream, statSync } from 'node:fs';
import { UrlByteSource } from '@smallmind/io-smq';
import { openGguf } from '@smallmind/io-gguf';
import { SmqModelLoader, silentLogger } from '@smallmind/runtime';
import { createBackend } from '@smallmind/quantization-kernels';
const file = process.argv[2]!;
const size = statSync(file).size;
const server = createServer((req, res) => {
  const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
  if (m) { const s = +m[1]!, e = Math.min(+m[2]!, size - 1); res.writeHead(206, { 'content-range': `bytes ${s}-${e}/${size}`, 'content-length': e - s + 1 }); createReadStream(file, { start: s, end: e }).pipe(res); return; }
  res.writeHead(200, { 'content-length': size }); createReadStream(file).pipe(res);
});
await new Promise<void>((r) => server.listen(8765, r));
const t0 = performance.now();
const at = (what: string) => console.log(`${((performance.now() - t0) / 1000).toFixed(2)} s ${what}`);
const backend = await createBackend({ threads: 2, logger: silentLogger });
at('backend');
let lastDl = 0;
const src = await UrlByteSource.open('http://127.0.0.1:8765/m.gguf', { onProgress: (l) => { lastDl = performance.now(); } });
const gguf = await openGguf(src);
at('header');
let n = 0;
const model = await SmqModelLoader.loadFromTensors(gguf, 'm', { backend, logger: silentLogger, onProgress: (p) => { if (++n % 40 === 0 || p.tensorsDone === p.tensorsTotal) at(`tensor ${p.tensorsDone}/${p.tensorsTotal} ${(p.bytesDone / 2 ** 20).toFixed(0)} MiB`); } });
at(`loaded; last download at ${((lastDl - t0) / 1000).toFixed(2)}`);
await model.dispose(); await backend.dispose(); server.close();
