import { mkdtempSync, rmSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SmqReader, writeSmq, type ModelMetadata, type SmqTensorWithData } from '@smallmind/io-smq';
import { ReferenceBackend, createBackend } from '@smallmind/quantization-kernels';
import { GgmlType, quantize, type IWeightTensor } from '@smallmind/quantization-tensors';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { ModelConfigError, ModelLoadError } from './errors.js';
import type { Logger } from './logger.js';
import type { ModelConfig } from './model/config.js';
import type { Model } from './model/model.js';
import type { Session } from './model/session.js';
import { SmqModelLoader, type LoadFromSmqOptions, type LoadProgress } from './smq-model-loader.js';
import { defaultTinyShape, f32Bytes, randomLlamaTensors, tinyConfig, tinyLlamaMetadata, tinySession, type RawTensor } from './tiny-llama.fixture.js';

/** The llama weights a test looks at (the table's field names). */
interface LlamaWeights {
  readonly tokenEmbd: IWeightTensor;
  readonly output: IWeightTensor | undefined;
  readonly layers: ReadonlyArray<Record<'q' | 'k' | 'v' | 'output' | 'gate' | 'up' | 'down', IWeightTensor>>;
}
const weightsOf = (model: Model): LlamaWeights => model.weights as LlamaWeights;
const evaluate = (model: Model, tokens: readonly number[]): Float32Array => model.createSession().evaluate(tokens);

const workDir = mkdtempSync(join(tmpdir(), 'smallmind-loader-test-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));
let fileCounter = 0;

/** Writes an SMQ file; 2-D tensors in `matrixType` (quantized with the reference quantizer), norms F32. */
async function writeModel(metadata: ModelMetadata, tensors: ReadonlyMap<string, RawTensor>, matrixType: number = GgmlType.F32): Promise<string> {
  const path = join(workDir, `model-${fileCounter++}.smq`);
  const entries: SmqTensorWithData[] = [...tensors].map(([name, raw]) => {
    const type = raw.shape.length === 1 ? GgmlType.F32 : matrixType;
    return { name, type, shape: raw.shape, data: type === GgmlType.F32 ? f32Bytes(raw.values) : quantize(type, raw.values) };
  });
  await writeSmq(path, { metadata, tensors: entries });
  return path;
}

interface LogRecord {
  level: keyof Logger;
  message: string;
}

function recordingLogger(): { logger: Logger; records: LogRecord[] } {
  const records: LogRecord[] = [];
  const at = (level: keyof Logger) => (message: string) => void records.push({ level, message });
  return { logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, records };
}

async function loadError(path: string, options: LoadFromSmqOptions = {}): Promise<unknown> {
  try {
    await SmqModelLoader.loadFromSmq(path, { logger: recordingLogger().logger, ...options });
  } catch (e) {
    return e;
  }
  throw new Error('expected the load to fail');
}

const prompt = [1, 5, 9, 30, 12, 7];

function directModel(config: ModelConfig, tensors: ReadonlyMap<string, RawTensor>): Session {
  return tinySession(config, tensors);
}

describe('SmqModelLoader.loadFromSmq', () => {
  const config = tinyConfig();
  const metadata = tinyLlamaMetadata(config);

  it('loads a tied F32 model: config, tokenizer, and the same logits as the tensors it was written from', async () => {
    const tensors = randomLlamaTensors(config, 21, true);
    const { logger, records } = recordingLogger();
    // The reference kernels, so the logits must equal the in-memory model's bit for bit: this test is about which
    // weights get loaded, not about kernel arithmetic (the default backend is checked below).
    const loaded = await SmqModelLoader.loadFromSmq(await writeModel(metadata, tensors), { logger, backend: new ReferenceBackend() });
    expect(loaded.config).toEqual(config);
    expect(loaded.metadata.getString('general.architecture')).toBe('llama');
    expect(loaded.tokenizer.bosId).toBe(1);
    expect(weightsOf(loaded).output).toBeUndefined();
    expect([...evaluate(loaded, prompt)]).toEqual([...directModel(config, tensors).evaluate(prompt)]);
    const summary = records.find((r) => r.level === 'info' && r.message.startsWith('Loaded'));
    expect(summary?.message).toMatch(/^Loaded 20\/20 parameters \(0 quantized, 20 FP32\)/);
    expect(summary?.message).toContain('tied output');
    expect(records.some((r) => r.level === 'warn')).toBe(false);
  });

  it('loads an untied model with its own output.weight', async () => {
    const tensors = randomLlamaTensors(config, 22, false);
    const loaded = await SmqModelLoader.loadFromSmq(await writeModel(metadata, tensors), { logger: recordingLogger().logger, backend: new ReferenceBackend() });
    expect(weightsOf(loaded).output).toBeDefined();
    expect([...evaluate(loaded, prompt)]).toEqual([...directModel(config, tensors).evaluate(prompt)]);
  });

  it('multiplies with the WebAssembly kernels by default (same logits as the reference up to float rounding) and releases them on dispose', async () => {
    const q8Config = tinyConfig({ ...defaultTinyShape, feedForwardLength: 64 });
    const path = await writeModel(tinyLlamaMetadata(q8Config), randomLlamaTensors(q8Config, 25, false), GgmlType.Q8_0);
    const { logger, records } = recordingLogger();
    const loaded = await SmqModelLoader.loadFromSmq(path, { logger });
    try {
      expect(records.some((r) => /wasm/i.test(r.message))).toBe(true);
      // A prepared tensor's bytes live in kernel memory: a copy, not the reader's buffer.
      expect(weightsOf(loaded).layers[0]!.q.constructor.name).not.toBe('Q8_0Tensor');
      const reference = await SmqModelLoader.loadFromSmq(path, { logger: recordingLogger().logger, backend: new ReferenceBackend() });
      const expected = evaluate(reference, prompt).slice();
      const logits = evaluate(loaded, prompt);
      const scale = Math.max(...expected.map(Math.abs));
      for (let i = 0; i < expected.length; i++) expect(Math.abs(logits[i]! - expected[i]!)).toBeLessThanOrEqual(1e-5 * scale);
    } finally {
      await loaded.dispose();
    }
    expect(() => loaded.createSession()).toThrow(/dispos/i);
  });

  it('reports progress after every tensor, up to all of the file\'s tensors and bytes, and verifies checksums unless told not to', async () => {
    const q8Config = tinyConfig({ ...defaultTinyShape, feedForwardLength: 64 });
    const path = await writeModel(tinyLlamaMetadata(q8Config), randomLlamaTensors(q8Config, 26, false), GgmlType.Q8_0);
    const reader = await SmqReader.open(path);
    const infos = reader.tensors;
    await reader.close();
    const bytesTotal = infos.reduce((sum, t) => sum + t.byteLength, 0);
    const progress: LoadProgress[] = [];
    const loaded = await SmqModelLoader.loadFromSmq(path, { logger: recordingLogger().logger, onProgress: (p) => progress.push(p) });
    const expected = evaluate(loaded, prompt).slice();
    await loaded.dispose();
    expect(progress.map((p) => p.tensorsDone)).toEqual(infos.map((_, i) => i + 1));
    expect(progress.every((p) => p.tensorsTotal === infos.length && p.bytesTotal === bytesTotal)).toBe(true);
    expect(progress.every((p, i) => p.bytesDone > (progress[i - 1]?.bytesDone ?? 0))).toBe(true);
    expect(progress.at(-1)?.bytesDone).toBe(bytesTotal);

    // One flipped bit in a block scale of a matrix: caught by default, let through (and loaded) with verifyChecksums: false.
    const bytes = new Uint8Array(await readFile(path));
    const q = infos.find((t) => t.name === 'blk.0.attn_q.weight')!;
    bytes[q.offset + 1]! ^= 0x08;
    const damaged = join(workDir, 'damaged.smq');
    await writeFile(damaged, bytes);
    await expect(SmqModelLoader.loadFromSmq(damaged, { logger: recordingLogger().logger })).rejects.toMatchObject({ code: 'TENSOR_CHECKSUM_MISMATCH', tensor: q.name });
    const unverified = await SmqModelLoader.loadFromSmq(damaged, { logger: recordingLogger().logger, verifyChecksums: false });
    try {
      expect(evaluate(unverified, prompt)).not.toEqual(expected);
    } finally {
      await unverified.dispose();
    }
  });

  it('loads onto kernels over an ordinary (unshared) memory, which every new matrix may grow and replace', async () => {
    // A browser page without cross-origin isolation: no SharedArrayBuffer, so growing the memory detaches
    // every view taken before; the loader must read into views of the memory as it is after allocating.
    // Matrices of about 70 KB: the memory grows (by 64 KiB pages) for nearly every one of them.
    const q8Config = tinyConfig({ ...defaultTinyShape, embeddingLength: 128, feedForwardLength: 512 });
    const path = await writeModel(tinyLlamaMetadata(q8Config), randomLlamaTensors(q8Config, 27, false), GgmlType.Q8_0);
    const shared = await SmqModelLoader.loadFromSmq(path, { logger: recordingLogger().logger });
    const expected = evaluate(shared, prompt).slice();
    await shared.dispose();
    vi.stubGlobal('SharedArrayBuffer', undefined);
    try {
      const backend = await createBackend({ threads: 1, warmUpRounds: 1, logger: { warn: () => {} } });
      try {
        const loaded = await SmqModelLoader.loadFromSmq(path, { logger: recordingLogger().logger, backend });
        expect(weightsOf(loaded).layers[0]!.q.data.buffer.constructor.name).toBe('ArrayBuffer'); // not shared
        expect(evaluate(loaded, prompt)).toEqual(expected);
        await loaded.dispose();
      } finally {
        await backend.dispose();
      }
    } finally {
      vi.unstubAllGlobals();
    }
  });

  describe('quantized weights', () => {
    const q8Config = tinyConfig({ ...defaultTinyShape, feedForwardLength: 64 });
    const q8Metadata = tinyLlamaMetadata(q8Config);
    const tensors = randomLlamaTensors(q8Config, 23, false);
    const pathPromise = writeModel(q8Metadata, tensors, GgmlType.Q8_0);

    it('keeps them quantized by default and says so', async () => {
      const { logger, records } = recordingLogger();
      const loaded = await SmqModelLoader.loadFromSmq(await pathPromise, { logger });
      const weights = weightsOf(loaded);
      expect(weights.tokenEmbd.type).toBe(GgmlType.Q8_0);
      expect(weights.layers.every((l) => l.q.type === GgmlType.Q8_0 && l.down.type === GgmlType.Q8_0)).toBe(true);
      expect(records.find((r) => r.message.startsWith('Loaded'))?.message).toMatch(/^Loaded 21\/21 parameters \(16 quantized, 5 FP32\)/);
      // Q8_0 is close to the float model it was quantized from, but not equal to it.
      const exact = directModel(q8Config, tensors).evaluate(prompt).slice();
      const logits = evaluate(loaded, prompt);
      const diff = Math.max(...logits.map((v, i) => Math.abs(v - exact[i]!)));
      expect(diff).toBeGreaterThan(0);
      expect(diff).toBeLessThan(0.05 * (Math.max(...exact) - Math.min(...exact)));
    });

    it('preserveQuantization: false dequantizes every weight to F32 and warns about the memory', async () => {
      const { logger, records } = recordingLogger();
      const path = await pathPromise;
      const loaded = await SmqModelLoader.loadFromSmq(path, { preserveQuantization: false, logger });
      const weights = weightsOf(loaded);
      const matrices: IWeightTensor[] = [weights.tokenEmbd, weights.output!, ...weights.layers.flatMap((l) => [l.q, l.k, l.v, l.output, l.gate, l.up, l.down])];
      expect(matrices.every((m) => m.type === GgmlType.F32)).toBe(true);
      const warning = records.find((r) => r.level === 'warn');
      expect(warning?.message).toMatch(/F32/);
      expect(warning?.message).toMatch(/MiB of weights in memory instead of the file's [0-9.]+ MiB \(3\.[0-9]+x\)/);
      expect(records.find((r) => r.message.startsWith('Loaded'))?.message).toMatch(/^Loaded 21\/21 parameters \(0 quantized, 21 FP32\)/);
      // Float math over the dequantized Q8_0 weights differs from the activation-quantized products.
      const quantized = evaluate(await SmqModelLoader.loadFromSmq(path, { logger }), prompt).slice();
      const float = evaluate(loaded, prompt);
      expect(Math.max(...float.map((v, i) => Math.abs(v - quantized[i]!)))).toBeGreaterThan(0);
    });

    it('hands every weight matrix to the backend and runs on what it returns', async () => {
      const prepared: string[] = [];
      let calls = 0;
      const backend = {
        prepare(tensor: IWeightTensor): IWeightTensor {
          prepared.push(`${tensor.rows}x${tensor.cols}`);
          return {
            type: tensor.type,
            rows: tensor.rows,
            cols: tensor.cols,
            byteLength: tensor.byteLength,
            data: tensor.data,
            dequantizeRow: (row, out, offset) => tensor.dequantizeRow(row, out, offset),
            toFloat32: () => tensor.toFloat32(),
            matVec: (x, y) => {
              calls++;
              tensor.matVec(x, y);
            },
            matMul: (x, n, y) => {
              calls++;
              tensor.matMul(x, n, y);
            },
          };
        },
      };
      const loaded = await SmqModelLoader.loadFromSmq(await pathPromise, { backend, logger: recordingLogger().logger });
      expect(prepared).toHaveLength(16);
      const plain = evaluate(await SmqModelLoader.loadFromSmq(await pathPromise, { backend: new ReferenceBackend(), logger: recordingLogger().logger }), prompt).slice();
      expect([...evaluate(loaded, prompt)]).toEqual([...plain]);
      // 7 products per block, 2 blocks, plus the LM head.
      expect(calls).toBe(15);
    });
  });

  it('exposes the chat template when the file has one', async () => {
    const { ModelMetadata, MetadataValueType } = await import('@smallmind/io-smq');
    const withTemplate = new ModelMetadata([...metadata.entries, ['tokenizer.chat_template', { type: MetadataValueType.STRING, value: '{{ messages }}' }]]);
    const loaded = await SmqModelLoader.loadFromSmq(await writeModel(withTemplate, randomLlamaTensors(config, 24, true)), { logger: recordingLogger().logger, backend: new ReferenceBackend() });
    expect(loaded.chatTemplate).toBe('{{ messages }}');
    const plain = await SmqModelLoader.loadFromSmq(await writeModel(metadata, randomLlamaTensors(config, 24, true)), { logger: recordingLogger().logger, backend: new ReferenceBackend() });
    expect(plain.chatTemplate).toBeUndefined();
  });

  describe('refuses files that do not match the architecture, naming the tensor', () => {
    const tensors = randomLlamaTensors(config, 25, true);

    it('a missing tensor', async () => {
      const without = new Map(tensors);
      without.delete('blk.1.ffn_gate.weight');
      const error = await loadError(await writeModel(metadata, without));
      expect(error).toBeInstanceOf(ModelLoadError);
      expect(error).toMatchObject({ code: 'MISSING_TENSOR', tensorName: 'blk.1.ffn_gate.weight' });
      expect((error as Error).message).toContain('"blk.1.ffn_gate.weight" is missing');
    });

    it('a missing norm weight', async () => {
      const without = new Map(tensors);
      without.delete('output_norm.weight');
      expect(await loadError(await writeModel(metadata, without))).toMatchObject({ code: 'MISSING_TENSOR', tensorName: 'output_norm.weight' });
    });

    it('an unexpected tensor (a block beyond block_count)', async () => {
      const extra = new Map(tensors);
      extra.set('blk.2.attn_q.weight', tensors.get('blk.1.attn_q.weight')!);
      const error = await loadError(await writeModel(metadata, extra));
      expect(error).toMatchObject({ code: 'UNEXPECTED_TENSOR', tensorName: 'blk.2.attn_q.weight' });
    });

    it('an unexpected tensor of another graph (qwen3 Q norm)', async () => {
      const extra = new Map(tensors);
      extra.set('blk.0.attn_q_norm.weight', { shape: [8], values: new Float32Array(8) });
      const error = await loadError(await writeModel(metadata, extra));
      expect(error).toMatchObject({ code: 'UNEXPECTED_TENSOR', tensorName: 'blk.0.attn_q_norm.weight' });
      expect((error as Error).message).toMatch(/not part of the llama graph in .*model-\d+\.smq/);
    });

    it('a missing Q projection when there is no fused QKV either', async () => {
      const without = new Map(tensors);
      without.delete('blk.1.attn_q.weight');
      const error = await loadError(await writeModel(metadata, without));
      expect(error).toMatchObject({ code: 'MISSING_TENSOR', tensorName: 'blk.1.attn_q.weight' });
      expect((error as Error).message).toContain('no fused blk.1.attn_qkv.weight');
    });

    it('a tensor of the wrong shape', async () => {
      const wrong = new Map(tensors);
      const kvWidth = config.headCountKv * config.headDim;
      wrong.set('blk.0.attn_k.weight', { shape: [config.embeddingLength, kvWidth * 2], values: new Float32Array(config.embeddingLength * kvWidth * 2) });
      const error = await loadError(await writeModel(metadata, wrong));
      expect(error).toMatchObject({ code: 'WRONG_SHAPE', tensorName: 'blk.0.attn_k.weight' });
      expect((error as Error).message).toContain('shape [32, 32], expected [32, 16]');
    });

    it('a transposed matrix', async () => {
      const wrong = new Map(tensors);
      wrong.set('blk.1.ffn_down.weight', { shape: [config.embeddingLength, config.feedForwardLength], values: tensors.get('blk.1.ffn_down.weight')!.values });
      expect(await loadError(await writeModel(metadata, wrong))).toMatchObject({ code: 'WRONG_SHAPE', tensorName: 'blk.1.ffn_down.weight' });
    });

    it('a config problem in the metadata', async () => {
      const entries = [...metadata.entries].filter(([key]) => key !== 'llama.block_count');
      const { ModelMetadata } = await import('@smallmind/io-smq');
      const error = await loadError(await writeModel(new ModelMetadata(entries), tensors));
      expect(error).toBeInstanceOf(ModelConfigError);
      expect(error).toMatchObject({ key: 'llama.block_count' });
    });
  });
});
