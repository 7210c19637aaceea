/**
 * Child process of the atomicity test: starts writing an SMQ file, gets part of the data onto the disk,
 * then dies by SIGKILL, as a crash or power cut would interrupt an import.
 */
import { ModelMetadata } from './metadata.js';
import { SmqWriter } from './writer.js';

const [target] = process.argv.slice(2);
if (target === undefined) throw new Error('usage: crash-child <target path>');
const big = new Uint8Array(4 << 20).fill(7); // above the writer's staging buffer, so data reaches the file
const writer = await SmqWriter.create(target, {
  metadata: new ModelMetadata(),
  tensors: [
    { name: 'first', type: 0, shape: [1024, big.length / 4096], byteLength: big.length },
    { name: 'second', type: 0, shape: [256], byteLength: 1024 },
  ],
});
await writer.writeTensorData('first', big);
await writer.writeTensorData('second', new Uint8Array(512));
process.stdout.write(`${writer.tempPath}\n`);
process.kill(process.pid, 'SIGKILL');
