// The byte sources are @smallmind/io-smq's (one implementation for both formats), re-exported for convenience.
export { ByteSourceError, FileByteSource, MemoryByteSource } from '@smallmind/io-smq';
export type { ByteSource } from '@smallmind/io-smq';
export {
  GgufError,
  GgufFormatError,
  GgufFormatErrorCode,
  GgufReadError,
  GgufReadErrorCode,
  GgufWriteError,
  GgufWriteErrorCode,
} from './errors.js';
export {
  GGUF_ALIGNMENT_KEY,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_DEFAULT_MAX_HEADER_BYTES,
  GGUF_MAGIC,
  GGUF_MAX_ARRAY_NESTING,
  GGUF_MAX_DIMS,
  GGUF_MAX_KEY_BYTES,
  GGUF_MAX_TENSOR_NAME_BYTES,
  GGUF_VERSION,
} from './format.js';
export { parseGgufHeader } from './header-parser.js';
export type { GgufHeader, GgufTensorInfo, GgufVersion, ParseGgufHeaderOptions } from './header-parser.js';
export { GgufFile, openGguf, readGguf, readGgufHeader } from './reader.js';
export type { GgufReadTensorsOptions, GgufTensorTarget, ReadGgufOptions } from './reader.js';
export { ByteWriter, encodeGgufHeader, encodeMetadataEntry } from './encoder.js';
export type { EncodedTensorInfo } from './encoder.js';
export { GgufWriter, planGgufLayout, writeGguf } from './writer.js';
export type { GgufLayout, GgufTensorSpec, GgufTensorWithData, GgufWriterOptions } from './writer.js';
export { GgufImporter, importGgufToSmq, sweepAbandonedImports } from './importer.js';
export { GgufSourceImporter, GgufTeeSource } from './import-core.js';
export type { GgufImportOptions, GgufImportProgress, GgufImportResult, SweepOptions } from './importer.js';
