/**
 * Browser twin of file-byte-source.ts: a browser has no file paths. `FileByteSource.open` rejects with a
 * typed error naming what to use instead (BlobByteSource for a File/Blob, UrlByteSource for a URL).
 */
import type { ByteSource } from './byte-source.js';
import { ByteSourceError } from './errors.js';

export class FileByteSource implements ByteSource {
  private constructor(
    readonly size: number,
    readonly path: string,
  ) {}

  static open(path: string): Promise<FileByteSource> {
    return Promise.reject(
      new ByteSourceError('UNSUPPORTED', `cannot open the file path ${JSON.stringify(path)} in a browser; read a File/Blob with BlobByteSource or a URL with UrlByteSource`, { offset: 0, length: 0 }),
    );
  }

  read(offset: number, length: number): Promise<Uint8Array> {
    return Promise.reject(new ByteSourceError('UNSUPPORTED', `no file source in a browser (${this.path})`, { offset, length }));
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
