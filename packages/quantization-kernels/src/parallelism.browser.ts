/** Browser twin of parallelism.ts: navigator.hardwareConcurrency (1 when the page does not say). */
export function hardwareThreads(): number {
  const n = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency;
  return typeof n === 'number' && Number.isSafeInteger(n) && n > 0 ? n : 1;
}
