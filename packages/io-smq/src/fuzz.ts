/**
 * Mutation fuzzer for the SMQ reader, shared by the default test suite (a few thousand cases) and the
 * `fuzz` script (long campaigns). Every mutated file must either be refused with a well-formed
 * `SmqFormatError`, or parse into something the writer would write back identically; corruption that
 * no checksum was recomputed for must always be detected; and no case may take long.
 */
import { ByteWriter } from './binary.js';
import { align64, PrefixField, SMQ_PREFIX_BYTES } from './constants.js';
import { SmqFormatError, SmqFormatErrorCode } from './errors.js';
import { encodeEntries } from './metadata-codec.js';
import { MetadataValueType as T, ModelMetadata } from './metadata.js';
import { provenanceEntries } from './provenance.js';
import { SmqReader } from './reader.js';
import { encodeSmqBytes, resealSmqBytes, type RawTensor } from './smq-bytes.js';
import { everyTypeMetadata, metadataSnapshot, patchU32, patchU64, prng, readU64 } from './test-helpers.js';

export interface FuzzOptions {
  readonly cases: number;
  readonly seed: number;
  /** A case slower than this is a failure (default 1000 ms): the reader must never hang. */
  readonly caseTimeLimitMs?: number;
  readonly onProgress?: (done: number) => void;
}

export interface FuzzFailure {
  readonly caseIndex: number;
  readonly mutation: string;
  readonly problem: string;
  /** The input, when small enough to print (base64). */
  readonly input?: string;
}

export interface FuzzReport {
  readonly seed: number;
  readonly cases: number;
  /** Cases per mutation kind. */
  readonly mutations: Record<string, number>;
  /** Cases whose file opened and all of whose tensors read back. */
  readonly accepted: number;
  /** Rejections per error code (at open or at tensor read). */
  readonly rejections: Record<string, number>;
  readonly failures: FuzzFailure[];
  readonly slowestCaseMs: number;
  readonly elapsedMs: number;
}

function corpus(): Uint8Array[] {
  const ramp = (n: number, k: number) => Uint8Array.from({ length: n }, (_, i) => (i * k + 1) & 0xff);
  const tensors: RawTensor[] = [
    { name: 'token_embd.weight', type: 2, shape: [32, 3], data: ramp(54, 7) },
    { name: 'norm', type: 0, shape: [5], data: new Uint8Array(20) },
    { name: 'blk.0.ffn', type: 12, shape: [256, 1, 1, 1], data: ramp(144, 3) },
  ];
  return [
    encodeSmqBytes({ metadata: everyTypeMetadata(), provenance: provenanceEntries({ sourceFileName: 'a.gguf', sourceFileSize: 1e9, importerName: 'fuzz' }), tensors }),
    encodeSmqBytes({ metadata: new ModelMetadata([['n', { type: T.UINT32, value: 3 }]]), tensors: [{ name: 'w', type: 8, shape: [32], data: ramp(34, 5) }] }),
    encodeSmqBytes({}),
    // Keys and names one bit apart, and many BOOLs: single flips reach the duplicate and BOOL rules.
    encodeSmqBytes({
      metadata: new ModelMetadata([
        ['k.a', { type: T.BOOL, value: true }],
        ['k.c', { type: T.BOOL, value: false }],
        ['k.b', { type: T.ARRAY, value: { elementType: T.BOOL, values: [true, false, true, true, false, true, false, false] } }],
      ]),
      tensors: [{ name: 't.a', type: 0, shape: [2], data: ramp(8, 3) }, { name: 't.c', type: 0, shape: [2], data: ramp(8, 5) }],
    }),
    // A header beyond the encoder's initial 4 KiB buffer, so re-encoding exercises its growth.
    encodeSmqBytes({
      metadata: new ModelMetadata([['vocab', { type: T.ARRAY, value: { elementType: T.STRING, values: Array.from({ length: 400 }, (_, i) => `tok${i}`) } }]]),
    }),
    encodeSmqBytes({
      metadata: new ModelMetadata([['tokens', { type: T.ARRAY, value: { elementType: T.STRING, values: ['<s>', '</s>', '▁a', ''] } }]]),
      tensors: [{ name: 'x', type: 30, shape: [2, 2], data: ramp(8, 9) }, { name: 'y', type: 26, shape: [1], data: ramp(4, 1) }],
    }),
  ];
}

const EXTREMES: readonly bigint[] = [0n, 1n, 2n, 63n, 64n, 65n, 0x7fn, 0xffn, 0x7fffffffn, 0x80000000n, 0xffffffffn, 2n ** 32n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n];
const KNOWN_CODES = new Set<string>(Object.values(SmqFormatErrorCode));

interface Mutant {
  readonly kind: string;
  readonly bytes: Uint8Array;
  /** True when checksums were not recomputed: the change must be detected. */
  readonly mustDetect: boolean;
}

function mutate(base: Uint8Array, rand: () => number): Mutant {
  const int = (n: number) => Math.floor(rand() * n);
  const headerLength = readU64(base, PrefixField.headerLength);
  const inHeader = () => int(headerLength);
  const bytes = base.slice();
  switch (int(9)) {
    case 8: {
      // One header byte nudged by +-1 or set to an edge value: turns keys into their neighbours, BOOLs into 2...
      const i = SMQ_PREFIX_BYTES + int(headerLength - 4 - SMQ_PREFIX_BYTES);
      const old = bytes[i] ?? 0;
      bytes[i] = [old + 1, old - 1, 0, 1, 2, 0x7f, 0x80, 0xff][int(8)] as number;
      resealSmqBytes(bytes);
      return { kind: 'byte-resealed', bytes, mustDetect: false };
    }
    case 0: {
      for (let k = 1 + int(8); k > 0; k--) {
        const i = int(bytes.length);
        bytes[i] = (bytes[i] ?? 0) ^ (1 << int(8));
      }
      return { kind: 'bitflip', bytes, mustDetect: true };
    }
    case 1: {
      for (let k = 1 + int(4); k > 0; k--) {
        const i = inHeader();
        bytes[i] = (bytes[i] ?? 0) ^ (1 << int(8));
      }
      resealSmqBytes(bytes);
      return { kind: 'bitflip-resealed', bytes, mustDetect: false };
    }
    case 2: {
      const v = EXTREMES[int(EXTREMES.length)] as bigint;
      const at = 8 + int(headerLength - 16);
      if (rand() < 0.5 || v > 0xffffffffn) patchU64(bytes, at, v);
      else patchU32(bytes, at, Number(v));
      resealSmqBytes(bytes);
      return { kind: 'extreme-field-resealed', bytes, mustDetect: false };
    }
    case 3: {
      const at = [PrefixField.headerLength, PrefixField.dataOffset, PrefixField.fileLength][int(3)] as number;
      const counts = [PrefixField.metadataCount, PrefixField.provenanceCount, PrefixField.tensorCount][int(3)] as number;
      if (rand() < 0.5) patchU64(bytes, at, EXTREMES[int(EXTREMES.length)] as bigint);
      else patchU32(bytes, counts, Number(EXTREMES[int(11)]));
      resealSmqBytes(bytes);
      return { kind: 'prefix-field-resealed', bytes, mustDetect: false };
    }
    case 4:
      return { kind: 'truncate', bytes: bytes.subarray(0, int(bytes.length)), mustDetect: true };
    case 5: {
      const extra = Uint8Array.from({ length: 1 + int(200) }, () => int(256));
      const longer = new Uint8Array(bytes.length + extra.length);
      longer.set(bytes);
      longer.set(extra, bytes.length);
      return { kind: 'extend', bytes: longer, mustDetect: true };
    }
    case 6: {
      // Insert or delete bytes inside the header sections, with the lengths in the prefix kept consistent.
      const at = SMQ_PREFIX_BYTES + int(Math.max(1, headerLength - 4 - SMQ_PREFIX_BYTES));
      const delta = rand() < 0.5 ? -(1 + int(Math.min(16, headerLength - 4 - at))) : 1 + int(16);
      const newHeaderLength = headerLength + delta;
      const dataShift = align64(newHeaderLength) - align64(headerLength);
      const spliced = new Uint8Array(bytes.length + dataShift);
      spliced.set(bytes.subarray(0, at));
      if (delta > 0) spliced.set(Uint8Array.from({ length: delta }, () => int(256)), at);
      spliced.set(bytes.subarray(delta > 0 ? at : at - delta, headerLength), at + Math.max(0, delta));
      spliced.set(bytes.subarray(align64(headerLength)), align64(newHeaderLength));
      patchU64(spliced, PrefixField.headerLength, newHeaderLength);
      patchU64(spliced, PrefixField.dataOffset, align64(newHeaderLength));
      patchU64(spliced, PrefixField.fileLength, spliced.length);
      resealSmqBytes(spliced);
      return { kind: 'splice-resealed', bytes: spliced, mustDetect: false };
    }
    default: {
      const garbage = Uint8Array.from({ length: int(600) }, () => int(256));
      if (garbage.length >= SMQ_PREFIX_BYTES && rand() < 0.5) {
        garbage.set(base.subarray(0, 12));
        if (rand() < 0.5) resealSmqBytes(garbage);
      }
      return { kind: 'garbage', bytes: garbage, mustDetect: true };
    }
  }
}

function isWellFormed(e: unknown, size: number): e is SmqFormatError {
  return (
    e instanceof SmqFormatError &&
    KNOWN_CODES.has(e.code) &&
    Number.isSafeInteger(e.offset) &&
    e.offset >= 0 &&
    e.offset <= size &&
    e.field.length > 0 &&
    e.message.includes(e.code)
  );
}

/** Examines one input; returns the rejection code, 'accepted', or throws a string describing a failure. */
async function examine(bytes: Uint8Array): Promise<string> {
  let reader: SmqReader;
  try {
    reader = await SmqReader.fromBytes(bytes);
  } catch (e) {
    if (isWellFormed(e, bytes.length)) return e.code;
    throw `open threw ${String(e)}`;
  }
  const data: RawTensor[] = [];
  let expectedOffset = readU64(bytes, PrefixField.dataOffset);
  for (const t of reader.tensors) {
    if (t.offset !== expectedOffset || t.offset % 64 !== 0 || t.offset + t.byteLength > bytes.length) throw `accepted misplaced tensor ${t.name}`;
    expectedOffset = align64(t.offset + t.byteLength);
    try {
      data.push({ ...t, data: await reader.readTensorData(t.name) });
    } catch (e) {
      if (isWellFormed(e, bytes.length) && e.tensor === t.name) return e.code;
      throw `read of ${t.name} threw ${String(e)}`;
    }
  }
  if (expectedOffset !== bytes.length) throw 'accepted a file whose data does not end at its end';
  const prefix = new DataView(bytes.buffer, bytes.byteOffset, SMQ_PREFIX_BYTES);
  if (reader.metadata.size !== prefix.getUint32(PrefixField.metadataCount, true)) throw 'metadata entries were lost';
  if (reader.tensors.length !== prefix.getUint32(PrefixField.tensorCount, true)) throw 'tensors were lost';
  // The metadata section must be exactly the encoding of what was parsed (the parse is the encoder's inverse).
  const section = new ByteWriter();
  encodeEntries(section, reader.metadata.entries, 'metadata');
  const differs = firstDifference(bytes.subarray(SMQ_PREFIX_BYTES), section.toBytes());
  if (differs !== undefined) throw `metadata section re-encodes differently at byte ${SMQ_PREFIX_BYTES + differs}`;
  // What was accepted must be what the writer produces from the parsed contents.
  let again: SmqReader;
  try {
    again = await SmqReader.fromBytes(encodeSmqBytes({ metadata: reader.metadata, provenance: provenanceEntries(reader.provenance), tensors: data }));
  } catch (e) {
    throw `accepted contents cannot be written back: ${String(e)}`;
  }
  if (JSON.stringify(metadataSnapshot(again.metadata)) !== JSON.stringify(metadataSnapshot(reader.metadata))) throw 'metadata changed on re-write';
  if (JSON.stringify(again.provenance) !== JSON.stringify(reader.provenance)) throw 'provenance changed on re-write';
  if (JSON.stringify(again.tensors.map((t) => ({ ...t, offset: 0 }))) !== JSON.stringify(reader.tensors.map((t) => ({ ...t, offset: 0 })))) throw 'tensor directory changed on re-write';
  return 'accepted';
}

/**
 * First index where `encoded` differs from `original`, ignoring one thing JS cannot carry: a signalling
 * FLOAT32 NaN comes back quieted (bit 22 set). See SPEC.md §3.
 */
function firstDifference(original: Uint8Array, encoded: Uint8Array): number | undefined {
  const o = new DataView(original.buffer, original.byteOffset, original.byteLength);
  const e = new DataView(encoded.buffer, encoded.byteOffset, encoded.byteLength);
  const quietedAt = (q: number) =>
    q >= 0 && q + 4 <= encoded.length && q + 4 <= original.length && isSignallingF32(o.getUint32(q, true)) && e.getUint32(q, true) === (o.getUint32(q, true) | 0x400000) >>> 0;
  for (let p = 0; p < encoded.length; p++) {
    if (original[p] === encoded[p]) continue;
    if ([0, 1, 2, 3].some((back) => quietedAt(p - back))) continue;
    return p;
  }
  return undefined;
}

function isSignallingF32(bits: number): boolean {
  return (bits & 0x7f800000) === 0x7f800000 && (bits & 0x400000) === 0 && (bits & 0x3fffff) !== 0;
}

export async function runSmqFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const rand = prng(options.seed);
  const bases = corpus();
  const limit = options.caseTimeLimitMs ?? 1000;
  const mutations: Record<string, number> = {};
  const rejections: Record<string, number> = {};
  const failures: FuzzFailure[] = [];
  let accepted = 0;
  let slowestCaseMs = 0;
  const started = performance.now();
  for (let i = 0; i < options.cases; i++) {
    const base = bases[Math.floor(rand() * bases.length)] as Uint8Array;
    const mutant = mutate(base, rand);
    mutations[mutant.kind] = (mutations[mutant.kind] ?? 0) + 1;
    const t0 = performance.now();
    let problem: string | undefined;
    try {
      const result = await examine(mutant.bytes);
      if (result === 'accepted') {
        accepted++;
        const unchanged = mutant.bytes.length === base.length && mutant.bytes.every((b, j) => b === base[j]);
        if (mutant.mustDetect && !unchanged) problem = 'corruption without recomputed checksums was not detected';
      } else {
        rejections[result] = (rejections[result] ?? 0) + 1;
      }
    } catch (e) {
      problem = typeof e === 'string' ? e : `harness error: ${String(e)}`;
    }
    const ms = performance.now() - t0;
    slowestCaseMs = Math.max(slowestCaseMs, ms);
    if (ms > limit) problem ??= `took ${ms.toFixed(0)} ms`;
    if (problem !== undefined) {
      const failure = { caseIndex: i, mutation: mutant.kind, problem };
      failures.push(mutant.bytes.length <= 4096 ? { ...failure, input: Buffer.from(mutant.bytes).toString('base64') } : failure);
    }
    if (options.onProgress && (i + 1) % 10000 === 0) options.onProgress(i + 1);
  }
  return { seed: options.seed, cases: options.cases, mutations, accepted, rejections, failures, slowestCaseMs, elapsedMs: performance.now() - started };
}
