import { availableParallelism } from 'node:os';

/** Cores this process may use (Node: os.availableParallelism). */
export function hardwareThreads(): number {
  return availableParallelism();
}
