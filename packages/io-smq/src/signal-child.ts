/**
 * Child process of the signal tests of `AtomicFile`: opens a temporary file (and tracks one extra path with
 * `removeOnExit`), prints both paths, then waits to be signalled. With `own-handler` it installs its own
 * SIGINT handler that exits with status 3 a moment later, as an application that handles Ctrl-C would.
 */
import { writeFileSync } from 'node:fs';
import { AtomicFile } from './atomic-file.js';

const [target, mode] = process.argv.slice(2);
if (target === undefined) throw new Error('usage: signal-child <target path> [own-handler]');
const errors = { destinationExists: () => new Error('exists'), notOpen: () => new Error('not open') };
const file = await AtomicFile.create(target, { overwrite: false, tempPath: `${target}.child.tmp`, errors });
await file.handle.write(new Uint8Array(1024).fill(1), 0, 1024, 0);
const extra = `${target}.lock`;
writeFileSync(extra, String(process.pid));
AtomicFile.removeOnExit(extra);
if (mode === 'own-handler') process.on('SIGINT', () => setTimeout(() => process.exit(3), 50));
process.stdout.write(`${file.tempPath}\n${extra}\n`);
setInterval(() => {}, 1000); // stay alive until signalled
