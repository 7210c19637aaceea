import type { IWeightTensor } from '@smallmind/quantization-tensors';
import { KernelError } from './errors.js';
import { MAX_JOBS } from './thread-pool.js';
import { WasmWeightTensor, type WasmBackend } from './wasm-backend.js';

/**
 * outs[t] = X * weights[t]^T for every t: one input (n rows of `cols`, the same for every tensor)
 * times several matrices, e.g. Q/K/V or gate/up. Tensors prepared by the same WebAssembly backend
 * (and in the same memory shard) share the work: X is quantized once per activation type and all
 * their products run in one thread-pool dispatch. Any other tensor gets its own matVec/matMul call.
 * The results are exactly those of separate matVec (n = 1) / matMul calls.
 *
 * `outs[t]` holds n * weights[t].rows values, row i at i * rows.
 */
export function multiplyShared(weights: readonly IWeightTensor[], x: Float32Array, n: number, outs: readonly Float32Array[]): void {
  if (weights.length !== outs.length) {
    throw new KernelError('BAD_ARGUMENT', `${weights.length} weight tensors but ${outs.length} output arrays`, { field: 'outs' });
  }
  if (!Number.isSafeInteger(n) || n < 0) throw new KernelError('BAD_ARGUMENT', `batch size ${n} is not a non-negative integer`, { field: 'n' });
  const first = weights[0];
  if (first === undefined) return;
  const cols = first.cols;
  for (const [t, tensor] of weights.entries()) {
    if (tensor.cols !== cols) {
      throw new KernelError('BAD_ARGUMENT', `weights[${t}] has ${tensor.cols} columns, weights[0] has ${cols}: one input needs equal columns`, { field: 'weights' });
    }
    if (outs[t]!.length < n * tensor.rows) {
      throw new KernelError('BAD_ARGUMENT', `outs[${t}] has ${outs[t]!.length} elements, needs ${n * tensor.rows}`, { field: 'outs' });
    }
  }
  if (x.length < n * cols) throw new KernelError('BAD_ARGUMENT', `x has ${x.length} elements, needs ${n * cols}`, { field: 'x' });
  if (n === 0) return;
  const input = x.subarray(0, n * cols);

  // Group the kernel tensors by backend and shard, keeping each group's output arrays alongside.
  const groups = new Map<unknown, { backend: WasmBackend; tensors: WasmWeightTensor[]; outs: Float32Array[] }>();
  const alone: number[] = [];
  for (const [t, tensor] of weights.entries()) {
    if (!(tensor instanceof WasmWeightTensor)) {
      alone.push(t);
      continue;
    }
    let group = groups.get(tensor.shard);
    if (group === undefined) groups.set(tensor.shard, (group = { backend: tensor.owner, tensors: [], outs: [] }));
    group.tensors.push(tensor);
    group.outs.push(outs[t]!);
  }
  for (const { backend, tensors, outs: groupOuts } of groups.values()) {
    for (let j0 = 0; j0 < tensors.length; j0 += MAX_JOBS) {
      const part = tensors.slice(j0, j0 + MAX_JOBS);
      const partOuts = groupOuts.slice(j0, j0 + MAX_JOBS);
      if (backend.canGroup(part)) backend.multiplyGroup(part, input, n, partOuts);
      else for (const [j, tensor] of part.entries()) tensor.matMul(input, n, partOuts[j]!);
    }
  }
  for (const t of alone) {
    const tensor = weights[t]!;
    const out = outs[t]!.subarray(0, n * tensor.rows);
    if (n === 1) tensor.matVec(input, out);
    else tensor.matMul(input, n, out);
  }
}
