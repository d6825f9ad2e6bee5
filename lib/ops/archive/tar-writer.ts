// A streaming tar writer on node-tar's Header/Pax encoders. We write entries
// ourselves (rather than tar.c) so the archive can mix files under --root with
// a temp etcd snapshot and an in-memory manifest, hash each file in the same
// read that archives it, and keep absolute symlink targets exactly as they are.
import { createReadStream, Stats } from 'node:fs';
import { createHash } from 'node:crypto';
import { sha256Hex } from '../../pki/digest.js';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { Header, type HeaderData } from 'tar/header';
import { Pax } from 'tar/pax';

const BLOCK = 512;

export interface EntryMeta {
  mode: number;
  uid: number;
  gid: number;
  mtime: Date;
}

export const metaOf = (stats: Stats): EntryMeta => ({ mode: stats.mode & 0o7777, uid: stats.uid, gid: stats.gid, mtime: stats.mtime });

export class TarWriter {
  bytesWritten = 0;
  /** `onWrite` sees the running total after every chunk (progress display; keep it cheap). */
  constructor(
    private readonly out: Writable,
    private readonly onWrite: (bytesWritten: number) => void = () => {},
  ) {}

  private async write(chunk: Buffer): Promise<void> {
    // A destroyed stream (the disk filled up downstream) never drains: fail instead of waiting forever.
    if (this.out.destroyed) throw this.out.errored ?? new Error('the archive stream was closed');
    this.bytesWritten += chunk.length;
    this.onWrite(this.bytesWritten);
    if (!this.out.write(chunk)) await once(this.out, 'drain');
  }

  private async header(data: HeaderData): Promise<void> {
    const header = new Header(data);
    const block = Buffer.alloc(BLOCK);
    // encode() returns true when a field (long path, big uid) does not fit ustar: precede with a PAX header.
    if (header.encode(block)) await this.write(new Pax({ ...data, atime: undefined, ctime: undefined }).encode());
    await this.write(block);
  }

  private async pad(size: number): Promise<void> {
    const rest = size % BLOCK;
    if (rest) await this.write(Buffer.alloc(BLOCK - rest));
  }

  async addDirectory(path: string, meta: EntryMeta): Promise<void> {
    await this.header({ path: path.endsWith('/') ? path : `${path}/`, type: 'Directory', size: 0, ...meta });
  }

  async addSymlink(path: string, target: string, meta: EntryMeta): Promise<void> {
    await this.header({ path, type: 'SymbolicLink', linkpath: target, size: 0, ...meta });
  }

  async addBuffer(path: string, data: Buffer, meta: EntryMeta): Promise<string> {
    await this.header({ path, type: 'File', size: data.length, ...meta });
    await this.write(data);
    await this.pad(data.length);
    return sha256Hex(data);
  }

  /**
   * Stream a file into the archive, hashing what is archived. Exactly `size` bytes are written
   * (the header is already out): a file that shrinks while read is padded and reported.
   */
  async addFile(path: string, realPath: string, size: number, meta: EntryMeta): Promise<{ sha256: string; changed: boolean }> {
    await this.header({ path, type: 'File', size, ...meta });
    const hash = createHash('sha256');
    let copied = 0;
    for await (const chunk of createReadStream(realPath, { highWaterMark: 1 << 20, start: 0, end: size > 0 ? size - 1 : 0 }) as AsyncIterable<Buffer>) {
      const part = size === 0 ? Buffer.alloc(0) : chunk.subarray(0, size - copied);
      if (!part.length) continue;
      hash.update(part);
      await this.write(part);
      copied += part.length;
    }
    const changed = copied !== size;
    if (changed) {
      const filler = Buffer.alloc(size - copied);
      hash.update(filler);
      await this.write(filler);
    }
    await this.pad(size);
    return { sha256: hash.digest('hex'), changed };
  }

  async finish(): Promise<void> {
    await this.write(Buffer.alloc(BLOCK * 2));
    this.out.end();
  }
}
