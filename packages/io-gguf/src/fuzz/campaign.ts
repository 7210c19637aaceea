/**
 * A fuzzing campaign over the GGUF header parser. Every case must end in either a typed
 * `GgufFormatError` (with a known code, a field name and an offset inside the file) or a parse that is
 * correct: internally consistent, re-encodable to the same metadata and tensors, and identical when
 * parsed incrementally from a small first read. Anything else is a failure.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MemoryByteSource, MetadataValueType, ModelMetadata } from '@smallmind/io-smq';
import type { MetadataValue } from '@smallmind/io-smq';
import { GgmlType } from '@smallmind/quantization-tensors';
import { encodeGgufHeader } from '../encoder.js';
import { GgufFormatError, GgufFormatErrorCode } from '../errors.js';
import { parseGgufHeader } from '../header-parser.js';
import type { GgufHeader } from '../header-parser.js';
import { readGgufHeader } from '../reader.js';
import { planGgufLayout } from '../writer.js';
import { craftGguf, f32Tensor, kv } from '../test-support/craft.js';
import { REPO_FIXTURES } from '../test-support/fixtures.js';
import { diffMetadata } from '../test-support/metadata-diff.js';
import { Rng, caseSeed, mutate, sizeFieldCandidates } from './mutator.js';
import type { Seed } from './mutator.js';

const KNOWN_CODES = new Set<string>(Object.values(GgufFormatErrorCode));

function richSeedBytes(): Uint8Array {
  const entries: Array<[string, MetadataValue]> = [
    ['general.architecture', { type: MetadataValueType.STRING, value: 'llama' }],
    ['general.alignment', { type: MetadataValueType.UINT32, value: 64 }],
    ['u8', { type: MetadataValueType.UINT8, value: 7 }],
    ['i8', { type: MetadataValueType.INT8, value: -7 }],
    ['u16', { type: MetadataValueType.UINT16, value: 700 }],
    ['i16', { type: MetadataValueType.INT16, value: -700 }],
    ['i32', { type: MetadataValueType.INT32, value: -70000 }],
    ['f32', { type: MetadataValueType.FLOAT32, value: 0.5 }],
    ['bool', { type: MetadataValueType.BOOL, value: true }],
    ['u64', { type: MetadataValueType.UINT64, value: 12345678901n }],
    ['i64', { type: MetadataValueType.INT64, value: -5n }],
    ['f64', { type: MetadataValueType.FLOAT64, value: 2.5 }],
    ['tokenizer.ggml.tokens', { type: MetadataValueType.ARRAY, value: { elementType: MetadataValueType.STRING, values: ['<unk>', '<s>', '</s>', 'é', '🍎', 'hello'] } }],
    ['tokenizer.ggml.scores', { type: MetadataValueType.ARRAY, value: { elementType: MetadataValueType.FLOAT32, values: [0, -1, -2, -3, -4, -5] } }],
    [
      'nested',
      {
        type: MetadataValueType.ARRAY,
        value: { elementType: MetadataValueType.ARRAY, values: [{ elementType: MetadataValueType.UINT64, values: [1n, 2n] }, { elementType: MetadataValueType.STRING, values: ['x'] }] },
      },
    ],
  ];
  const layout = planGgufLayout(new ModelMetadata(entries), [
    { name: 'token_embd.weight', type: GgmlType.Q4_0, shape: [64, 2] },
    { name: 'norm', type: GgmlType.F32, shape: [8] },
    { name: 'k', type: GgmlType.Q6_K, shape: [256] },
    { name: 'f16', type: GgmlType.F16, shape: [4, 2, 2, 1] },
  ]);
  const bytes = new Uint8Array(layout.fileSize);
  bytes.set(layout.header);
  const rng = new Rng(1);
  for (const t of layout.tensors) bytes.set(rng.bytes(t.byteLength), t.offset);
  return bytes;
}

function seedOf(name: string, bytes: Uint8Array): Seed {
  const headerLength = parseGgufHeader(bytes).headerByteLength;
  return { name, bytes, headerLength, sizeFields: sizeFieldCandidates(bytes, headerLength) };
}

/** The seed files mutations start from: crafted v1/v2/v3 files and (when present) a real fixture. */
export function fuzzSeeds(): Seed[] {
  const seeds = [
    seedOf('rich-v3', richSeedBytes()),
    seedOf('v2', craftGguf({ version: 2, kvs: [kv.str('general.name', 'v2'), kv.u32('n', 3)], tensors: [f32Tensor('a', [4, 2], 0), f32Tensor('b', [3], 32)] })),
    seedOf('v1', craftGguf({ version: 1, tensors: [f32Tensor('a', [4], 0), { name: 'q', dims: [32], type: GgmlType.Q8_0, offset: 32 }] })),
  ];
  const real = join(REPO_FIXTURES, 'stories260K/stories260K-Q4_0.gguf');
  if (existsSync(real)) seeds.push(seedOf('stories260K-Q4_0', new Uint8Array(readFileSync(real))));
  return seeds;
}

export interface FuzzFailure {
  readonly index: number;
  readonly seed: string;
  readonly steps: readonly string[];
  readonly problem: string;
}

export interface FuzzReport {
  readonly seed: number;
  readonly cases: number;
  readonly parsed: number;
  readonly errorsByCode: Record<string, number>;
  readonly failures: FuzzFailure[];
  /** Slowest single case, ms (hangs are caught by the parent's watchdog, not here). */
  readonly slowestCaseMs: number;
}

type Outcome = { readonly header: GgufHeader } | { readonly error: GgufFormatError };

function problemWithError(error: GgufFormatError, fileSize: number): string | undefined {
  if (!KNOWN_CODES.has(error.code)) return `unknown error code ${error.code}`;
  if (typeof error.field !== 'string' || error.field.length === 0) return `error ${error.code} without a field`;
  if (!Number.isSafeInteger(error.offset) || error.offset < 0 || error.offset > fileSize) return `error ${error.code} offset ${error.offset} outside the file (${fileSize} bytes)`;
  return undefined;
}

/** Checks a successful parse: every invariant the parser promises, and a lossless re-encode. */
function problemWithHeader(h: GgufHeader, fileSize: number): string | undefined {
  if (h.dataOffset % h.alignment !== 0 || h.dataOffset < h.headerByteLength) return `data offset ${h.dataOffset} not aligned after header ${h.headerByteLength}`;
  const sorted = [...h.tensors].sort((a, b) => a.offset - b.offset);
  let end = h.dataOffset;
  for (const t of sorted) {
    if ((t.offset - h.dataOffset) % h.alignment !== 0) return `tensor ${t.name} offset not aligned`;
    if (t.offset < end) return `tensor ${t.name} overlaps`;
    end = t.offset + t.byteLength;
    if (end > fileSize) return `tensor ${t.name} ends at ${end}, past the file (${fileSize})`;
  }
  // Re-encode as v3 and parse again: metadata and tensor infos must survive unchanged.
  const relative = h.tensors.map((t) => ({ name: t.name, type: t.type, shape: t.shape, relativeOffset: t.offset - h.dataOffset }));
  const encoded = encodeGgufHeader(h.metadata, relative, h.alignment);
  const dataSpan = fileSize - h.dataOffset;
  const again = parseGgufHeader(encoded, { fileSize: encoded.length + Math.max(0, dataSpan) });
  const diffs = diffMetadata(again.metadata, h.metadata);
  if (diffs.length > 0) return `re-encoded metadata differs: ${diffs.slice(0, 3).join('; ')}`;
  const shift = again.dataOffset - h.dataOffset;
  const same = again.tensors.every((t, i) => {
    const o = h.tensors[i]!;
    return t.name === o.name && t.type === o.type && t.byteLength === o.byteLength && t.offset === o.offset + shift && t.shape.join() === o.shape.join();
  });
  return same && again.tensors.length === h.tensors.length ? undefined : 're-encoded tensor infos differ';
}

function sameOutcome(a: Outcome, b: Outcome): boolean {
  if ('error' in a || 'error' in b) return 'error' in a && 'error' in b && a.error.code === b.error.code && a.error.offset === b.error.offset;
  return (
    a.header.dataOffset === b.header.dataOffset &&
    a.header.tensors.length === b.header.tensors.length &&
    diffMetadata(a.header.metadata, b.header.metadata).length === 0 &&
    JSON.stringify(a.header.tensors) === JSON.stringify(b.header.tensors)
  );
}

async function outcomeOf(parse: () => GgufHeader | Promise<GgufHeader>): Promise<Outcome | { readonly unexpected: unknown }> {
  try {
    return { header: await parse() };
  } catch (error) {
    if (error instanceof GgufFormatError) return { error };
    return { unexpected: error };
  }
}

function describeUnexpected(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}\n${error.stack ?? ''}` : String(error);
}

/** Runs one case; returns a problem description, or undefined when the parser behaved. */
export async function runFuzzCase(seeds: readonly Seed[], campaignSeed: number, index: number, tally?: (outcome: Outcome) => void): Promise<FuzzFailure | undefined> {
  const rng = new Rng(caseSeed(campaignSeed, index));
  const seed = rng.pick(seeds);
  const { bytes, steps } = mutate(seed, rng);
  const fail = (problem: string): FuzzFailure => ({ index, seed: seed.name, steps, problem });

  const direct = await outcomeOf(() => parseGgufHeader(bytes));
  if ('unexpected' in direct) return fail(`untyped error: ${describeUnexpected(direct.unexpected)}`);
  tally?.(direct);
  let problem: string | undefined;
  try {
    problem = 'error' in direct ? problemWithError(direct.error, bytes.length) : problemWithHeader(direct.header, bytes.length);
  } catch (error) {
    problem = `checking a successful parse threw: ${describeUnexpected(error)}`;
  }
  if (problem !== undefined) return fail(problem);

  // A quarter of the cases also go through the incremental reader with a tiny first read.
  if (rng.next() < 0.25) {
    const initialReadBytes = 1 + rng.int(64);
    const incremental = await outcomeOf(() => readGgufHeader(new MemoryByteSource(bytes), { initialReadBytes }));
    if ('unexpected' in incremental) return fail(`incremental reader: untyped error: ${describeUnexpected(incremental.unexpected)}`);
    if (!sameOutcome(direct, incremental)) return fail(`incremental reader (first read ${initialReadBytes}) disagrees with the one-shot parse`);
  }
  return undefined;
}

export interface CampaignOptions {
  readonly seed: number;
  readonly cases: number;
  readonly startIndex?: number;
  /** Called before each case (the parent's watchdog uses it to spot a hang). */
  readonly beforeCase?: (index: number) => void;
  readonly maxFailures?: number;
}

export async function runFuzzCampaign(options: CampaignOptions): Promise<FuzzReport> {
  const seeds = fuzzSeeds();
  const errorsByCode: Record<string, number> = {};
  const failures: FuzzFailure[] = [];
  let parsed = 0;
  let slowestCaseMs = 0;
  const tally = (outcome: Outcome): void => {
    if ('error' in outcome) errorsByCode[outcome.error.code] = (errorsByCode[outcome.error.code] ?? 0) + 1;
    else parsed++;
  };
  const start = options.startIndex ?? 0;
  for (let index = start; index < start + options.cases; index++) {
    // Cases only await settled promises (microtasks); give the event loop a turn now and then so the
    // child's progress messages actually leave the process.
    if ((index - start) % 50 === 49) await new Promise((resolve) => setImmediate(resolve));
    options.beforeCase?.(index);
    const began = performance.now();
    const failure = await runFuzzCase(seeds, options.seed, index, tally);
    slowestCaseMs = Math.max(slowestCaseMs, performance.now() - began);
    if (failure !== undefined && failures.length < (options.maxFailures ?? 25)) failures.push(failure);
  }
  return { seed: options.seed, cases: options.cases, parsed, errorsByCode, failures, slowestCaseMs };
}
