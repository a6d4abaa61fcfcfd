// The raw image behind a vbd (what Linux blkback's vbd.c opens as the backing block device, here a
// plain file as the `file:` disk type's loop device would serve it): positional synchronous reads and
// writes (async file handles cost ~30 us an op, performance-notes.md), fsync for flush, zeroing for
// discard. Host I/O errors become results: the frontend gets BLKIF_RSP_ERROR, dom0 carries on.

import * as fs from 'node:fs';

export type FileResult = { ok: true } | { ok: false; error: string };

const OK: FileResult = { ok: true };

/** The block backend's view of its backing store. */
export interface BlockFile {
  readonly sizeBytes: number;
  /** Fills all of `dst` from byte `position` (zeros past the end of the file). */
  readAt(dst: Uint8Array, position: number): FileResult;
  /** Writes all of `src` at byte `position`. */
  writeAt(src: Uint8Array, position: number): FileResult;
  /** Fills the buffers in order from byte `position`, as one call (preadv). */
  readvAt(dsts: readonly Uint8Array[], position: number): FileResult;
  /** Writes the buffers in order at byte `position`, as one call (pwritev). */
  writevAt(srcs: readonly Uint8Array[], position: number): FileResult;
  /** Makes every acknowledged write durable (fsync). */
  flush(): FileResult;
  /** Discards `length` bytes at `position`; they read back as zeros afterwards. */
  discard(position: number, length: number): FileResult;
  close(): void;
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** Zeros used for discard, written in 1 MiB pieces. */
const ZEROS = new Uint8Array(1 << 20);

/** A host file opened with fs.openSync, served with readSync/writeSync at explicit positions. */
export class SyncBlockFile implements BlockFile {
  readonly path: string;
  readonly sizeBytes: number;
  private fd: number;

  private constructor(path: string, fd: number, sizeBytes: number) {
    this.path = path;
    this.fd = fd;
    this.sizeBytes = sizeBytes;
  }

  /** Opens `path` read-only or read-write; an error names the path and the cause. */
  static open(
    path: string,
    writable: boolean,
  ): { ok: true; file: SyncBlockFile } | { ok: false; error: string } {
    let fd = -1;
    try {
      fd = fs.openSync(path, writable ? 'r+' : 'r');
      const st = fs.fstatSync(fd);
      if (!st.isFile() && !st.isBlockDevice()) {
        fs.closeSync(fd);
        return { ok: false, error: `${path}: not a file or block device` };
      }
      return { ok: true, file: new SyncBlockFile(path, fd, st.size) };
    } catch (e) {
      if (fd >= 0) fs.closeSync(fd);
      return { ok: false, error: `${path}: ${message(e)}` };
    }
  }

  readAt(dst: Uint8Array, position: number): FileResult {
    if (this.fd < 0) return { ok: false, error: `${this.path}: closed` };
    try {
      let done = 0;
      while (done < dst.length) {
        const n = fs.readSync(this.fd, dst, done, dst.length - done, position + done);
        if (n === 0) {
          dst.fill(0, done);
          break;
        }
        done += n;
      }
      return OK;
    } catch (e) {
      return { ok: false, error: `${this.path}: read at ${position}: ${message(e)}` };
    }
  }

  writeAt(src: Uint8Array, position: number): FileResult {
    if (this.fd < 0) return { ok: false, error: `${this.path}: closed` };
    try {
      let done = 0;
      while (done < src.length) {
        done += fs.writeSync(this.fd, src, done, src.length - done, position + done);
      }
      return OK;
    } catch (e) {
      return { ok: false, error: `${this.path}: write at ${position}: ${message(e)}` };
    }
  }

  /**
   * One preadv into the pieces (blkback's bounce pages, so the bytes land where the grant copies
   * take them: no intermediate buffer). A short read (end of file, signal) finishes piece by piece.
   */
  readvAt(dsts: readonly Uint8Array[], position: number): FileResult {
    if (this.fd < 0) return { ok: false, error: `${this.path}: closed` };
    let done = 0;
    try {
      done = fs.readvSync(this.fd, dsts, position);
    } catch (e) {
      return { ok: false, error: `${this.path}: read at ${position}: ${message(e)}` };
    }
    return finishVector(dsts, done, position, (b, at) => this.readAt(b, at));
  }

  /** One pwritev of the pieces; a short write finishes piece by piece. */
  writevAt(srcs: readonly Uint8Array[], position: number): FileResult {
    if (this.fd < 0) return { ok: false, error: `${this.path}: closed` };
    let done = 0;
    try {
      done = fs.writevSync(this.fd, srcs, position);
    } catch (e) {
      return { ok: false, error: `${this.path}: write at ${position}: ${message(e)}` };
    }
    return finishVector(srcs, done, position, (b, at) => this.writeAt(b, at));
  }

  flush(): FileResult {
    if (this.fd < 0) return { ok: false, error: `${this.path}: closed` };
    try {
      fs.fsyncSync(this.fd);
      return OK;
    } catch (e) {
      return { ok: false, error: `${this.path}: fsync: ${message(e)}` };
    }
  }

  // DEVIATION(xen): Linux punches a hole (fallocate) in a file-backed disk; Node has no fallocate,
  // so discarded ranges are overwritten with zeros, which also meets BLKIF_DISCARD_SECURE.
  discard(position: number, length: number): FileResult {
    let done = 0;
    while (done < length) {
      const n = Math.min(ZEROS.length, length - done);
      const r = this.writeAt(ZEROS.subarray(0, n), position + done);
      if (!r.ok) return r;
      done += n;
    }
    return OK;
  }

  close(): void {
    if (this.fd < 0) return;
    try {
      fs.closeSync(this.fd);
    } catch {
      // Closing twice or a vanished fd: nothing left to release.
    }
    this.fd = -1;
  }
}

/**
 * After a vector call moved `done` bytes, moves the rest of the pieces one by one with `single`
 * (which loops and zero-fills past the end of the file as readAt/writeAt do).
 */
function finishVector(
  pieces: readonly Uint8Array[],
  done: number,
  position: number,
  single: (b: Uint8Array, at: number) => FileResult,
): FileResult {
  let skip = done;
  let at = position;
  for (const b of pieces) {
    if (skip >= b.length) {
      skip -= b.length;
      at += b.length;
      continue;
    }
    const r = single(skip === 0 ? b : b.subarray(skip), at + skip);
    if (!r.ok) return r;
    skip = 0;
    at += b.length;
  }
  return OK;
}
