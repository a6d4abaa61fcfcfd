// SyncBlockFile's vector calls against a real file: blkback reads and writes a request's segments
// straight between the image and the bounce pages with one preadv/pwritev (xen-blkback submits one
// bio per request; here the host's positional vector I/O).

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SyncBlockFile } from '../../dom0/backends/blkback/block-file.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function image(bytes: number): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xensim-blockfile-'));
  dirs.push(dir);
  const file = path.join(dir, 'disk.img');
  const data = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) data[i] = (i * 7 + 3) & 0xff;
  fs.writeFileSync(file, data);
  return file;
}

function open(file: string, writable: boolean): SyncBlockFile {
  const r = SyncBlockFile.open(file, writable);
  if (!r.ok) throw new Error(r.error);
  return r.file;
}

describe('SyncBlockFile vector I/O', () => {
  it('readvAt fills the pieces in order from the position, each piece with the next bytes', () => {
    const f = open(image(16384), false);
    const pieces = [new Uint8Array(512), new Uint8Array(4096), new Uint8Array(1024)];
    expect(f.readvAt(pieces, 1536)).toEqual({ ok: true });
    const want = fs.readFileSync(f.path).subarray(1536, 1536 + 5632);
    expect(Buffer.concat(pieces).equals(want)).toBe(true);
    f.close();
  });

  it('readvAt across the end of the file gives the bytes there and zeros after them', () => {
    const f = open(image(4096), false);
    const pieces = [new Uint8Array(1024).fill(9), new Uint8Array(2048).fill(9)];
    expect(f.readvAt(pieces, 3072)).toEqual({ ok: true });
    expect(
      Buffer.from(pieces[0] as Uint8Array).equals(fs.readFileSync(f.path).subarray(3072)),
    ).toBe(true);
    expect((pieces[1] as Uint8Array).every((b) => b === 0)).toBe(true);
    f.close();
  });

  it('writevAt puts the pieces back to back at the position and nothing else changes', () => {
    const file = image(16384);
    const before = fs.readFileSync(file);
    const f = open(file, true);
    const pieces = [new Uint8Array(512).fill(0xa1), new Uint8Array(4096).fill(0xb2)];
    expect(f.writevAt(pieces, 2048)).toEqual({ ok: true });
    f.close();
    const after = fs.readFileSync(file);
    expect(after.subarray(0, 2048).equals(before.subarray(0, 2048))).toBe(true);
    expect(after.subarray(2048, 2560).every((b) => b === 0xa1)).toBe(true);
    expect(after.subarray(2560, 6656).every((b) => b === 0xb2)).toBe(true);
    expect(after.subarray(6656).equals(before.subarray(6656))).toBe(true);
  });

  it('vector calls on a closed file or a read-only one answer with an error naming the file', () => {
    const file = image(4096);
    const ro = open(file, false);
    const w = ro.writevAt([new Uint8Array(512)], 0);
    expect(w.ok).toBe(false);
    if (!w.ok) expect(w.error).toContain(file);
    ro.close();
    const r = ro.readvAt([new Uint8Array(512)], 0);
    expect(r).toEqual({ ok: false, error: `${file}: closed` });
  });
});
