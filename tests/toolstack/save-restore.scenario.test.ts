import { afterEach, describe, expect, it } from 'vitest';
import { asDomId } from '../../hypercalls/types.js';
import type { ProgressReport } from '../../dom0/toolstack/api.js';
import { BASIC_CFG, cleanupHost, createReq, makeHost, usedFrames, type TestHost } from './host.js';

let h: TestHost | undefined;
afterEach(() => {
  if (h) cleanupHost(h);
  h = undefined;
});

const CFG = `${BASIC_CFG}\nmemory = 16\n`;
const FILE = '/var/lib/xen/save/guest1.save';

async function bootAndScribble(host: TestHost): Promise<number> {
  const r = await host.run(host.ts.create(createReq(CFG)));
  const domid = r.domid as number;
  const g = host.mm.guest(asDomId(domid));
  if (!g.ok) throw new Error('no guest memory');
  g.value.write(100, 0, new TextEncoder().encode('hello from pfn 100'));
  g.value.write(4000, 4090, new Uint8Array([1, 2, 3, 4, 5, 6]));
  return domid;
}

function save(
  host: TestHost,
  domid: number,
  extra: Partial<{ checkpoint: boolean; leavePaused: boolean }> = {},
) {
  const progress: ProgressReport[] = [];
  const p = host.ts.save(
    {
      domid,
      file: FILE,
      checkpoint: extra.checkpoint ?? false,
      leavePaused: extra.leavePaused ?? false,
    },
    (r) => progress.push(r),
  );
  return { p, progress };
}

describe('xl save / xl restore (non-live)', () => {
  it('save suspends through control/shutdown, writes the file and destroys the domain; restore brings the memory back', async () => {
    h = makeHost();
    const domid = await bootAndScribble(h);
    const { p, progress } = save(h, domid);
    await h.run(p);
    expect(h.hv.domain(domid)).toBeUndefined();
    expect(progress.some((r) => r.note?.startsWith(`Saving to ${FILE} new xl format`))).toBe(true);
    const bytes = h.dom0fs.readFile(FILE) as Uint8Array;
    expect(new TextDecoder().decode(bytes.subarray(0, 27))).toBe('Xen saved domain, xl format');
    const r = await h.run(h.ts.restore({ file: FILE, paused: false }, () => undefined));
    expect(r.domid).not.toBe(domid);
    const g = h.mm.guest(asDomId(r.domid));
    if (!g.ok) throw new Error('no guest memory');
    const buf = new Uint8Array(18);
    g.value.read(100, 0, buf);
    expect(new TextDecoder().decode(buf)).toBe('hello from pfn 100');
    const tail = new Uint8Array(6);
    g.value.read(4000, 4090, tail);
    expect([...tail]).toEqual([1, 2, 3, 4, 5, 6]);
    expect(h.xs.read(`/local/domain/${r.domid}/name`)).toBe('guest1');
    // The kernel resumes from its image, with start_info rewritten for the new domain.
    const b = h.boots.find((x) => x.domid === r.domid);
    expect(b?.resumed).toBe(1);
    expect(String(b?.storeEvtchn)).toBe(h.xs.read(`/local/domain/${r.domid}/store/port`));
  });

  it('save -c (checkpoint) leaves the domain running', async () => {
    h = makeHost();
    const domid = await bootAndScribble(h);
    await h.run(save(h, domid, { checkpoint: true }).p);
    const info = await h.run(h.ts.domainInfo(domid));
    expect(info.shutdown).toBe(false);
    expect(info.paused).toBe(false);
  });

  it('a corrupt save file is refused before anything is created (checksum mismatch)', async () => {
    h = makeHost();
    const domid = await bootAndScribble(h);
    await h.run(save(h, domid).p);
    const bytes = h.dom0fs.readFile(FILE) as Uint8Array;
    bytes[bytes.length - 5000] = (bytes[bytes.length - 5000] as number) ^ 0x40;
    h.dom0fs.writeFile(FILE, bytes);
    const frames = usedFrames(h.mm);
    await expect(
      h.run(h.ts.restore({ file: FILE, paused: false }, () => undefined)),
    ).rejects.toThrow('checksum mismatch');
    expect(h.hv.domains().map((d) => d.domid)).toEqual([0]);
    expect(usedFrames(h.mm)).toBe(frames);
    expect(h.xs.directory('/local/domain')).toEqual(['0']);
  });

  it('a truncated save file is refused with a clear error', async () => {
    h = makeHost();
    const domid = await bootAndScribble(h);
    await h.run(save(h, domid).p);
    const bytes = h.dom0fs.readFile(FILE) as Uint8Array;
    for (const cut of [10, 60, 200, Math.floor(bytes.length / 2), bytes.length - 1]) {
      h.dom0fs.writeFile(FILE, bytes.subarray(0, cut));
      await expect(
        h.run(h.ts.restore({ file: FILE, paused: false }, () => undefined)),
      ).rejects.toThrow(/truncated|shorter than its 48-byte header/);
    }
    expect(h.hv.domains().map((d) => d.domid)).toEqual([0]);
  });

  it('a file that is not a save file is refused by its magic', async () => {
    h = makeHost();
    h.dom0fs.writeFile(
      FILE,
      new TextEncoder().encode(
        '#!/bin/sh\necho not a save file, but long enough to hold a header\n',
      ),
    );
    await expect(
      h.run(h.ts.restore({ file: FILE, paused: false }, () => undefined)),
    ).rejects.toThrow('bad magic');
  });
});
