import { setFlagsFromString } from 'node:v8';

let relaxedFlagSet = false;

/**
 * Node 20/21 (V8 11.x) implement relaxed SIMD behind `--experimental-wasm-relaxed-simd`; V8 reads wasm
 * feature flags at compile time, so setting the flag before the first relaxed compile is enough (Node 22+
 * has it on by default). Returns whether the flag was newly set (then validating again may succeed).
 */
export function enableRelaxedSimdFlag(): boolean {
  const major = Number(process.versions.node.split('.')[0]);
  if (relaxedFlagSet || !(major >= 20 && major < 22)) return false;
  relaxedFlagSet = true;
  try {
    setFlagsFromString('--experimental-wasm-relaxed-simd');
    return true;
  } catch {
    return false;
  }
}
