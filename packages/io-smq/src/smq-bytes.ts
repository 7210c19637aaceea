/**
 * Builds SMQ file bytes in memory straight from the header encoder, without the writer's validation: the
 * tests and the fuzzer use it to make valid files and deliberately invalid ones (unknown types, wrong sizes,
 * duplicate names...) that the writer would refuse. Not part of the public API.
 */
import { crc32 } from './checksum.js';
import { PrefixField, SMQ_MIN_HEADER_BYTES, SMQ_PREFIX_BYTES } from './constants.js';
import { HeaderImage, sealHeader, sealPrefix } from './header.js';
import { ModelMetadata, type MetadataValue } from './metadata.js';

export interface RawTensor {
  readonly name: string;
  readonly type: number;
  readonly shape: readonly number[];
  readonly data: Uint8Array;
  readonly layout?: number;
  /** Stored byteLength; defaults to data.length. */
  readonly byteLength?: number;
}

export interface RawSmq {
  readonly metadata?: ModelMetadata;
  readonly provenance?: ReadonlyArray<readonly [string, MetadataValue]>;
  readonly tensors?: readonly RawTensor[];
}

/** The bytes of an SMQ file with exactly the given contents, checksums correct. */
export function encodeSmqBytes(spec: RawSmq): Uint8Array {
  const tensors = spec.tensors ?? [];
  const header = HeaderImage.build(
    spec.metadata ?? new ModelMetadata(),
    spec.provenance ?? [],
    tensors.map((t) => ({ name: t.name, type: t.type, layout: t.layout ?? 0, shape: t.shape, byteLength: t.byteLength ?? t.data.length })),
  );
  const file = new Uint8Array(header.fileLength);
  tensors.forEach((t, i) => {
    header.setTensorChecksum(i, crc32(t.data));
    file.set(t.data, header.tensorOffsets[i]);
  });
  file.set(header.seal(), 0);
  return file;
}

/** Recomputes both header checksums of `file` in place, after a test or the fuzzer patched its header. */
export function resealSmqBytes(file: Uint8Array): void {
  if (file.length < SMQ_PREFIX_BYTES) return;
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const headerLength = Number(view.getBigUint64(PrefixField.headerLength, true));
  if (headerLength >= SMQ_MIN_HEADER_BYTES && headerLength <= file.length) sealHeader(file, headerLength);
  else sealPrefix(file);
}
