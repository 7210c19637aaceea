/**
 * The browser's kernel workers run WORKER_SOURCE with its Node prologue swapped for a postMessage one; real
 * Web Workers are exercised by the Chromium tests (examples/browser). Here: the swap finds its lines, the
 * result is valid script with no require, and a changed prologue disables browser threads instead of
 * running a wrong loop.
 */
import { describe, expect, it } from 'vitest';
import { browserWorkerSource } from './kernel-workers.browser.js';
import { WORKER_SOURCE } from './worker-source.js';

describe('browserWorkerSource', () => {
  it('is the Node worker loop behind a postMessage prologue', () => {
    const source = browserWorkerSource();
    expect(source).toBeDefined();
    expect(source).not.toContain('require(');
    expect(source).not.toContain('node:worker_threads');
    // The loop itself is carried over unchanged.
    const loop = WORKER_SOURCE.slice(WORKER_SOURCE.indexOf('function shardExports'));
    expect(source).toContain(loop.trim());
    expect(() => new Function(source!)).not.toThrow();
  });

  it('is undefined when the worker source no longer starts as expected', () => {
    expect(browserWorkerSource(WORKER_SOURCE.replace('receiveMessageOnPort }', 'receiveMessageOnPort, parentPort }'))).toBeUndefined();
  });
});
