import { afterEach, describe, expect, it } from 'vitest';
import { BUILD_STEPS } from '../../dom0/toolstack/domain-builder.js';
import {
  BASIC_CFG,
  cleanupHost,
  createReq,
  listTree,
  makeHost,
  usedFrames,
  type TestHost,
} from './host.js';

let h: TestHost | undefined;
afterEach(() => {
  if (h) cleanupHost(h);
  h = undefined;
});

const CFG = `${BASIC_CFG}\ndisk = [ '/var/lib/xen/images/guest.img,raw,xvda,rw' ]\n`;

describe('a failed create undoes every earlier step (libxl domcreate_complete -> destroy)', () => {
  for (const step of BUILD_STEPS) {
    it(`failure at ${step} leaves no domain, no xenstore node and no frame`, async () => {
      h = makeHost({ faultAt: step });
      const treeBefore = listTree(h.xs);
      const framesBefore = usedFrames(h.mm);
      await expect(h.run(h.ts.create(createReq(CFG)))).rejects.toThrow(
        `injected failure at build step ${step}`,
      );
      h.engine.runFor(1_000_000_000);
      expect(h.hv.domains().map((d) => d.domid)).toEqual([0]);
      // Only the empty class directories a backend write creates may stay (as in libxl).
      const left = listTree(h.xs).filter((p) => !treeBefore.includes(p));
      expect(
        left.filter((p) => !['/local/domain/0/backend', '/local/domain/0/backend/vbd'].includes(p)),
      ).toEqual([]);
      expect(treeBefore.length).toBeGreaterThan(3);
      expect(usedFrames(h.mm)).toBe(framesBefore);
      expect(h.ts.registry.size).toBe(0);
      expect([...h.store.domains.keys()]).toEqual([0]);
    });
  }

  it('the domid of a rolled-back create is not reused for 60 s (LIBXL_DOMID_REUSE_TIMEOUT)', async () => {
    h = makeHost({ faultAt: 'devices' });
    await expect(h.run(h.ts.create(createReq(CFG)))).rejects.toThrow();
    expect(h.ts.registry.isRecent(1, h.engine.now)).toBe(true);
    expect(h.ts.registry.isRecent(1, h.engine.now + 60_000_000_000)).toBe(false);
  });
});
