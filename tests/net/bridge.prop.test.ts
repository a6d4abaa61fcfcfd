import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Bridge } from '../../dom0/net/bridge.js';
import { trunkVlans, type PortVlans } from '../../dom0/net/bridge-port.js';
import { frameVid, tagFrame, writeMac } from '../../dom0/net/ethernet.js';

/** Port layouts: access ports in VLANs 1..3, and one trunk carrying 1..2. */
const PORTS: { name: string; vlans: PortVlans; kind: 'vif' | 'trunk' }[] = [
  { name: 'a1', kind: 'vif', vlans: { pvid: 1, vlans: [1], untagged: [1] } },
  { name: 'a2', kind: 'vif', vlans: { pvid: 2, vlans: [2], untagged: [2] } },
  { name: 'b1', kind: 'vif', vlans: { pvid: 1, vlans: [1], untagged: [1] } },
  { name: 'c3', kind: 'vif', vlans: { pvid: 3, vlans: [3], untagged: [3] } },
  { name: 't', kind: 'trunk', vlans: trunkVlans([1, 2]) },
];

describe('bridge isolation (property)', () => {
  it('no frame ever leaves a port outside the VLAN it entered in, or reaches another bridge', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            from: fc.integer({ min: 0, max: PORTS.length - 1 }),
            src: fc.integer({ min: 1, max: 6 }),
            dst: fc.integer({ min: 0, max: 6 }),
            tag: fc.integer({ min: 0, max: 4 }),
            dtNs: fc.integer({ min: 0, max: 400e9 }),
          }),
          { maxLength: 60 },
        ),
        (steps) => {
          let now = 0;
          const br = new Bridge('xenbr0', { now: () => now });
          const other = new Bridge('xenbr1', { now: () => now });
          let leaked = 0;
          other.addPort({ name: 'x', kind: 'vif', deliver: () => leaked++ });
          const seen: { port: string; vid: number }[] = [];
          let ingressVid = 0;
          const ports = PORTS.map((p) => {
            const r = br.addPort({
              name: p.name,
              kind: p.kind,
              vlans: p.vlans,
              deliver: (f) => {
                const v = frameVid(f);
                // Untagged on an access port: the port's PVID.
                seen.push({ port: p.name, vid: v >= 0 ? v : (p.vlans.pvid ?? -1) });
                expect(v >= 0 ? v : p.vlans.pvid).toBe(ingressVid);
              },
            });
            if (!r.ok) throw new Error(r.error);
            return r.port;
          });
          for (const s of steps) {
            now += s.dtNs;
            const f = new Uint8Array(60);
            writeMac(f, 0, s.dst === 0 ? 0xffffffffffff : 0x00163e000000 + s.dst);
            writeMac(f, 6, 0x00163e000000 + s.src);
            const port = ports[s.from];
            if (!port) continue;
            const framed = s.tag === 0 ? f : tagFrame(f, s.tag);
            ingressVid = s.tag === 0 ? port.pvid : s.tag;
            const before = seen.length;
            br.input(port, framed);
            for (const e of seen.slice(before)) {
              const member = PORTS.find((p) => p.name === e.port)?.vlans.vlans ?? [];
              expect(member).toContain(ingressVid);
              expect(e.port).not.toBe(port.name);
            }
          }
          expect(leaked).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });
});
