/**
 * A `File` or `Blob` as a `ByteSource` (a file picked in a page, an OPFS file's `getFile()`): each read is a
 * `slice().arrayBuffer()`, so a multi-GB file is never read whole. No node:* (Node 20 has Blob too).
 */
import { checkOpen, checkRange, type ByteSource } from './byte-source.js';
import { ByteSourceError } from './errors.js';

export class BlobByteSource implements ByteSource {
  private closed = false;

  constructor(
    private readonly blob: Blob,
    /** A name for messages (a File's name by default). */
    readonly name: string = (blob as Partial<File>).name ?? 'blob',
  ) {}

  get size(): number {
    return this.blob.size;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    this.check(offset, length);
    const bytes = new Uint8Array(await this.blob.slice(offset, offset + length).arrayBuffer());
    if (bytes.length !== length) {
      throw new ByteSourceError('SHORT_READ', `${this.name} gave ${bytes.length} bytes at ${offset}, ${length} were asked for (did it change since it was opened?)`, { offset: offset + bytes.length, length });
    }
    return bytes;
  }

  async readInto(target: Uint8Array, offset: number): Promise<void> {
    target.set(await this.read(offset, target.length));
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  private check(offset: number, length: number): void {
    checkOpen(this.closed, offset, length, this.name);
    checkRange(offset, length, this.blob.size, this.name);
  }
}
