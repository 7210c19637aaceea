/**
 * Where an SMQ file came from (SPEC.md §3.2): stored as typed entries so that later versions can add keys
 * that older readers skip.
 */
import { SmqFormatError, SmqFormatErrorCode, SmqWriteError } from './errors.js';
import type { DecodedEntry } from './metadata-codec.js';
import { MetadataValueType, type MetadataValue } from './metadata.js';

/** Provenance of an SMQ file; every field is optional. */
export interface SmqProvenance {
  /** Base name of the imported file, e.g. `model-Q4_0.gguf`. */
  readonly sourceFileName?: string;
  /** Its size in bytes. */
  readonly sourceFileSize?: number;
  /** Its SHA-256 as 64 lowercase hex digits. */
  readonly sourceSha256?: string;
  /** What imported it, e.g. `@smallmind/io-gguf`. */
  readonly importerName?: string;
  readonly importerVersion?: string;
  /** When the SMQ file was written, ISO-8601 UTC. The writer fills in the current time if absent. */
  readonly createdAt?: string;
}

type Kind = 'string' | 'sha256' | 'byteCount';
/** Field, stored key and kind, in the order the writer emits them. */
const FIELDS: ReadonlyArray<readonly [keyof SmqProvenance, string, Kind]> = [
  ['sourceFileName', 'source.file_name', 'string'],
  ['sourceFileSize', 'source.file_size', 'byteCount'],
  ['sourceSha256', 'source.sha256', 'sha256'],
  ['importerName', 'importer.name', 'string'],
  ['importerVersion', 'importer.version', 'string'],
  ['createdAt', 'created_at', 'string'],
];
const SHA256_HEX = /^[0-9a-f]{64}$/;

/** The entries the writer stores for `p` (only the fields that are set); bad fields throw `SmqWriteError`. */
export function provenanceEntries(p: SmqProvenance): Array<[string, MetadataValue]> {
  const entries: Array<[string, MetadataValue]> = [];
  for (const [field, key, kind] of FIELDS) {
    const v: unknown = p[field];
    if (v === undefined) continue;
    const bad = (detail: string) => new SmqWriteError('INVALID_PROVENANCE', detail, `provenance.${field}`);
    if (kind === 'byteCount') {
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw bad(`${String(v)} is not a byte count`);
      entries.push([key, { type: MetadataValueType.UINT64, value: BigInt(v) }]);
    } else {
      if (typeof v !== 'string') throw bad(`expected a string, got ${typeof v}`);
      if (kind === 'sha256' && !SHA256_HEX.test(v)) throw bad('must be 64 lowercase hex digits');
      entries.push([key, { type: MetadataValueType.STRING, value: v }]);
    }
  }
  return entries;
}

/** Reads the known keys of the provenance section; unknown keys are skipped (SPEC.md §3.2). */
export function provenanceFromEntries(entries: readonly DecodedEntry[]): SmqProvenance {
  const out: { -readonly [K in keyof SmqProvenance]: SmqProvenance[K] } = {};
  for (const e of entries) {
    const known = FIELDS.find(([, key]) => key === e.key);
    if (known === undefined) continue;
    const [field, , kind] = known;
    const bad = (detail: string) =>
      new SmqFormatError(SmqFormatErrorCode.BAD_PROVENANCE, detail, { offset: e.offset, field: `provenance[${JSON.stringify(e.key)}]` });
    if (kind === 'byteCount') {
      if (e.value.type !== MetadataValueType.UINT64) throw bad('must be a UINT64');
      if (e.value.value > BigInt(Number.MAX_SAFE_INTEGER)) throw bad(`${e.value.value} is beyond 2^53 - 1`);
      out.sourceFileSize = Number(e.value.value);
    } else {
      if (e.value.type !== MetadataValueType.STRING) throw bad('must be a STRING');
      if (kind === 'sha256' && !SHA256_HEX.test(e.value.value)) throw bad('must be 64 lowercase hex digits');
      (out as Record<string, string>)[field] = e.value.value;
    }
  }
  return out;
}
