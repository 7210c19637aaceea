/**
 * Test support: cross-checks of a parsed GGUF against the fixture's NAME.ref.json and against
 * @huggingface/gguf. Each returns a list of differences (empty = equal) so a failing test names them all.
 */
import { gguf as hfGguf } from '@huggingface/gguf';
import { MetadataValueType, metadataTypeName } from '@smallmind/io-smq';
import type { MetadataArray, MetadataScalar, MetadataValue } from '@smallmind/io-smq';
import { ggmlTypeInfo } from '@smallmind/quantization-tensors';
import type { GgufHeader } from '../header-parser.js';
import type { RefJson } from './fixtures.js';

function sameScalar(ours: MetadataScalar, ref: number | string | boolean | bigint): boolean {
  if (typeof ours === 'bigint') return typeof ref === 'bigint' ? ours === ref : Number(ours) === ref;
  if (typeof ours === 'number' && typeof ref === 'number') return Object.is(ours, ref) || ours === ref;
  return ours === ref;
}

/** Differences between `header` and what NAME.ref.json lists (metadata and tensor infos, not data). */
export function diffAgainstRef(header: GgufHeader, ref: RefJson): string[] {
  const diffs: string[] = [];
  const pseudo: Record<string, number> = {
    'GGUF.version': header.version,
    'GGUF.tensor_count': header.tensors.length,
    'GGUF.kv_count': header.metadata.size,
  };
  const refKeys = Object.keys(ref.metadata).filter((k) => !(k in pseudo));
  for (const [k, v] of Object.entries(pseudo)) {
    const r = ref.metadata[k];
    if (r !== undefined && 'value' in r && r.value !== v) diffs.push(`${k}: ours ${v}, ref ${String(r.value)}`);
  }
  if (refKeys.join('\n') !== header.metadata.keys().join('\n')) diffs.push(`metadata keys/order differ: ours [${header.metadata.keys().join(', ')}], ref [${refKeys.join(', ')}]`);
  for (const key of refKeys) {
    const r = ref.metadata[key]!;
    const ours = header.metadata.get(key);
    if (ours === undefined) {
      diffs.push(`${key}: missing`);
      continue;
    }
    if (metadataTypeName(ours.type).toLowerCase() !== r.type) diffs.push(`${key}: type ours ${metadataTypeName(ours.type)}, ref ${r.type}`);
    if ('elem_type' in r) {
      if (ours.type !== MetadataValueType.ARRAY) continue;
      const arr = ours.value;
      if (metadataTypeName(arr.elementType) !== r.elem_type) diffs.push(`${key}: element type ours ${metadataTypeName(arr.elementType)}, ref ${r.elem_type}`);
      if (arr.values.length !== r.length) diffs.push(`${key}: length ours ${arr.values.length}, ref ${r.length}`);
      r.first.forEach((v, i) => {
        const o = arr.values[i];
        if (o === undefined || typeof o === 'object' || !sameScalar(o, v)) diffs.push(`${key}[${i}]: ours ${String(o)}, ref ${String(v)}`);
      });
    } else if (ours.type === MetadataValueType.ARRAY || !sameScalar(ours.value, r.value)) {
      diffs.push(`${key}: ours ${String(ours.value)}, ref ${String(r.value)}`);
    }
  }
  if (header.tensors.length !== ref.tensors.length) diffs.push(`tensor count ours ${header.tensors.length}, ref ${ref.tensors.length}`);
  ref.tensors.forEach((r, i) => {
    const t = header.tensors[i];
    if (t === undefined) return;
    const got = { name: t.name, type: ggmlTypeInfo(t.type).name.toLowerCase(), ne: t.shape, offset: t.offset, nbytes: t.byteLength };
    const want = { name: r.name, type: r.type.toLowerCase(), ne: r.ne, offset: r.offset, nbytes: r.nbytes };
    if (JSON.stringify(got) !== JSON.stringify(want)) diffs.push(`tensor ${i}: ours ${JSON.stringify(got)}, ref ${JSON.stringify(want)}`);
  });
  return diffs;
}

type HfValue = string | number | bigint | boolean | HfValue[];

function hfEquals(ours: MetadataScalar | MetadataArray, theirs: HfValue): boolean {
  // @huggingface/gguf decodes strings with a BOM-stripping TextDecoder, so a token that *is* U+FEFF (or
  // starts with it) loses it there. We keep the bytes; the BOM is the only accepted difference.
  if (typeof ours === 'string' && ours.startsWith('\uFEFF') && ours.slice(1) === theirs) return true;
  if (typeof ours !== 'object') return !Array.isArray(theirs) && sameScalar(ours, theirs);
  if (!Array.isArray(theirs) || theirs.length !== ours.values.length) return false;
  return ours.values.every((v, i) => hfEquals(v, theirs[i]!));
}

/** Differences between `header` (parsed from `path`) and @huggingface/gguf's parse of the same file. */
export async function diffAgainstHuggingFace(header: GgufHeader, path: string): Promise<string[]> {
  const diffs: string[] = [];
  const hf = await hfGguf(path, { allowLocalFile: true, typedMetadata: true });
  const typed = hf.typedMetadata as unknown as Record<string, { value: HfValue; type: number; subType?: number }>;
  const hfKeys = Object.keys(typed).filter((k) => !['version', 'tensor_count', 'kv_count'].includes(k));
  if (hfKeys.join('\n') !== header.metadata.keys().join('\n')) diffs.push('metadata keys/order differ from @huggingface/gguf');
  if (Number(typed['version']!.value) !== header.version) diffs.push(`version ours ${header.version}, hf ${String(typed['version']!.value)}`);
  for (const key of header.metadata.keys()) {
    const ours = header.metadata.get(key) as MetadataValue;
    const theirs = typed[key];
    if (theirs === undefined) {
      diffs.push(`${key}: missing in hf`);
      continue;
    }
    if (theirs.type !== ours.type) diffs.push(`${key}: type ours ${ours.type}, hf ${theirs.type}`);
    if (ours.type === MetadataValueType.ARRAY && theirs.subType !== ours.value.elementType) diffs.push(`${key}: element type ours ${ours.value.elementType}, hf ${String(theirs.subType)}`);
    if (!hfEquals(ours.value, theirs.value)) diffs.push(`${key}: value differs from hf`);
  }
  if (Number(hf.tensorDataOffset) !== header.dataOffset) diffs.push(`data offset ours ${header.dataOffset}, hf ${hf.tensorDataOffset}`);
  if (hf.tensorInfos.length !== header.tensors.length) diffs.push(`tensor count ours ${header.tensors.length}, hf ${hf.tensorInfos.length}`);
  hf.tensorInfos.forEach((h, i) => {
    const t = header.tensors[i];
    if (t === undefined) return;
    const same =
      h.name === t.name &&
      Number(h.dtype) === t.type &&
      h.shape.length === t.shape.length &&
      h.shape.every((d, j) => Number(d) === t.shape[j]) &&
      Number(hf.tensorDataOffset + h.offset) === t.offset;
    if (!same) diffs.push(`tensor ${i} (${t.name}) differs from hf`);
  });
  return diffs;
}
