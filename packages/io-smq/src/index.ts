export { MetadataError, MetadataValueType, ModelMetadata, metadataTypeName } from './metadata.js';
export type { MetadataArray, MetadataErrorCode, MetadataScalar, MetadataValue, MetadataValueTypeId } from './metadata.js';

export {
  SMQ_ALIGNMENT,
  SMQ_LAYOUT_GGML,
  SMQ_MAGIC,
  SMQ_MAX_ARRAY_DEPTH,
  SMQ_MAX_DIMS,
  SMQ_MAX_HEADER_BYTES,
  SMQ_MAX_KEY_BYTES,
  SMQ_MAX_TENSOR_NAME_BYTES,
  SMQ_VERSION,
} from './constants.js';
export { ByteSourceError, ByteSourceErrorCode, SmqError, SmqFormatError, SmqFormatErrorCode, SmqReadError, SmqReadErrorCode, SmqWriteError, SmqWriteErrorCode } from './errors.js';
export type { SmqFormatErrorDetails } from './errors.js';
export type { SmqProvenance } from './provenance.js';
export type { SmqTensorInfo } from './header.js';
// Random-access byte sources, shared with @smallmind/io-gguf. FileByteSource (node:fs) is its own module; the
// browser build (dist/browser.js) has a twin of it whose open() rejects with UNSUPPORTED.
export { MemoryByteSource, readIntoFrom } from './byte-source.js';
export type { ByteSource } from './byte-source.js';
export { FileByteSource } from './file-byte-source.js';
export { BlobByteSource } from './blob-byte-source.js';
export { UrlByteSource } from './url-byte-source.js';
export type { UrlByteSourceOptions } from './url-byte-source.js';
// Where a writer puts its file: Node's AtomicFile, memory, or (in @smallmind/engine/browser) an OPFS file.
export { MemoryWriteTarget, randomHex } from './write-target.js';
export type { SmqWriteTarget } from './write-target.js';
export { crc32 } from './checksum.js';
// Building blocks shared with @smallmind/io-gguf (little-endian encoding, metadata payloads, atomic file publication).
export { ByteWriter } from './binary.js';
export { encodeFixedWidthValue } from './metadata-codec.js';
export { AtomicFile } from './atomic-file.js';
export type { AtomicFileErrors, AtomicFileOptions } from './atomic-file.js';
export { SmqReader } from './reader.js';
// The chunked read pipeline of a tensor stream, shared with @smallmind/io-gguf's GgufFile.readTensorsInto.
export { STREAM_CHUNK_BYTES, STREAM_READS_IN_FLIGHT, pipelineReads, tensorChunks } from './read-pipeline.js';
export type { TensorChunk } from './read-pipeline.js';
export type { ReadTensorsOptions, SmqReaderOptions, TensorReadTarget } from './reader.js';
export { SmqWriter, writeSmq } from './writer.js';
export type { SmqTensorDeclaration, SmqTensorWithData, SmqWriterOptions, WriteSmqOptions } from './writer.js';
