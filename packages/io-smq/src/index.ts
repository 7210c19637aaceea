export { MetadataError, MetadataValueType, ModelMetadata, metadataTypeName } from './metadata.js';
export type { MetadataArray, MetadataScalar, MetadataValue, MetadataValueTypeId } from './metadata.js';
