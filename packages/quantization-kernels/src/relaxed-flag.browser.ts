/**
 * Browser twin of relaxed-flag.ts: a page cannot set engine flags, so relaxed SIMD is used exactly when the
 * engine validates the probe module (WebAssembly.validate of the relaxed build) and it passes the self-check.
 */
export function enableRelaxedSimdFlag(): boolean {
  return false;
}
