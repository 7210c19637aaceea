/**
 * Browser twin of buffer-limit.ts. Engines differ (Chromium allows larger ArrayBuffers on 64-bit, Safari less),
 * so one tensor read allocates at most 2 GiB - 1; larger tensors go straight into kernel memory (readTensorDataInto).
 */
export const MAX_BUFFER_BYTES: typeof import('./buffer-limit.js').MAX_BUFFER_BYTES = 2 ** 31 - 1;
