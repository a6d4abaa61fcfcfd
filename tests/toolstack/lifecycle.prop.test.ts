import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  SEC,
  cleanupHost,
  createReq,
  listTree,
  makeHost,
  usedFrames,
  type TestHost,
} from './host.js';

const NAMES = ['a', 'b', 'c'];
const cfg = (n: string): string =>
  `name = "${n}"\nkernel = "/boot/vmlinuz-xensim-pv"\nmemory = 4\non_reboot = "restart"\non_poweroff = "destroy"\n`;

type Cmd =
  | { op: 'create'; name: string }
  | { op: 'destroy' | 'poweroff' | 'reboot' | 'pause' | 'unpause'; name: string }
  | { op: 'memset'; name: string; kb: number };

const cmd = fc.oneof(
  fc.record({ op: fc.constant('create' as const), name: fc.constantFrom(...NAMES) }),
  fc.record({
    op: fc.constantFrom(
      'destroy' as const,
      'poweroff' as const,
      'reboot' as const,
      'pause' as const,
      'unpause' as const,
    ),
    name: fc.constantFrom(...NAMES),
  }),
  fc.record({
    op: fc.constant('memset' as const),
    name: fc.constantFrom(...NAMES),
    kb: fc.integer({ min: 1024, max: 8192 }),
  }),
);

async function apply(h: TestHost, c: Cmd): Promise<void> {
  const domid = h.ts.domidOf(c.name);
  const tolerate = async (p: Promise<unknown>): Promise<void> => {
    await h.run(p).catch(() => undefined);
  };
  if (c.op === 'create') await tolerate(h.ts.create(createReq(cfg(c.name))));
  else if (domid === undefined) return;
  else if (c.op === 'destroy') await tolerate(h.ts.destroy(domid));
  else if (c.op === 'poweroff' || c.op === 'reboot')
    await tolerate(h.ts.shutdown(domid, c.op, false));
  else if (c.op === 'pause') await tolerate(h.ts.pause(domid));
  else if (c.op === 'unpause') await tolerate(h.ts.unpause(domid));
  else if (c.op === 'memset') await tolerate(h.ts.memSet(domid, c.kb));
  h.engine.runFor(SEC / 2);
}

describe('lifecycle invariants under random operation sequences', () => {
  it('names stay unique, and destroying everything returns every frame and node', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(cmd, { minLength: 1, maxLength: 10 }), async (cmds) => {
        const h = makeHost({ memoryBytes: 128 * 1024 * 1024 });
        try {
          const frames0 = usedFrames(h.mm);
          const tree0 = listTree(h.xs);
          for (const c of cmds) {
            await apply(h, c);
            const names = (await h.run(h.ts.listDomains())).map((d) => d.name);
            expect(new Set(names).size).toBe(names.length);
          }
          for (const r of [...h.ts.registry.all()]) await h.run(h.ts.destroy(r.domid));
          h.engine.runFor(SEC);
          expect(h.hv.domains().map((d) => d.domid)).toEqual([0]);
          expect(usedFrames(h.mm)).toBe(frames0);
          const left = listTree(h.xs).filter((p) => !tree0.includes(p));
          expect(left).toEqual([]);
        } finally {
          cleanupHost(h);
        }
      }),
      { numRuns: 12 },
    );
  });
});
