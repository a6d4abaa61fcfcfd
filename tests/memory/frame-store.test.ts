// FrameStore's frames in host memory: exactly one page each, in 1 MiB chunks, none of them
// page-aligned in the chunk's allocation (the host kernel's copy from the page cache into a
// page-aligned buffer runs at about half speed, which blkback's reads straight into frames meet).

import { describe, expect, it } from 'vitest';
import { FRAMES_PER_CHUNK, FrameStore } from '../../hypervisor/memory/frame-store.js';

describe('FrameStore host layout', () => {
  it('frames of one chunk are pages back to back, starting one cache line into the allocation', () => {
    const s = new FrameStore(2 * FRAMES_PER_CHUNK);
    const a = s.view(0);
    const b = s.view(1);
    const c = s.view(FRAMES_PER_CHUNK);
    expect(a.length).toBe(4096);
    expect(a.buffer).toBe(b.buffer);
    expect(b.byteOffset - a.byteOffset).toBe(4096);
    for (const v of [a, b, c]) expect(v.byteOffset % 4096).toBe(64);
    expect(c.buffer).not.toBe(a.buffer);
  });

  it('writing one frame leaves its neighbours untouched', () => {
    const s = new FrameStore(FRAMES_PER_CHUNK);
    s.view(4).fill(0xee);
    s.writePage(5, new Uint8Array(4096).fill(0x11));
    expect(s.view(4).every((x) => x === 0xee)).toBe(true);
    expect(s.view(6).every((x) => x === 0)).toBe(true);
    expect(s.view(5).every((x) => x === 0x11)).toBe(true);
  });
});
