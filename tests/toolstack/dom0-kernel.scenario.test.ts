import { afterEach, describe, expect, it } from 'vitest';
import { VIRQ_DOM_EXC } from '../../hypercalls/virq.js';
import { BASIC_CFG, cleanupHost, createReq, makeHost, type TestHost } from './host.js';

let h: TestHost | undefined;
afterEach(() => {
  if (h) cleanupHost(h);
  h = undefined;
});

describe("dom0's kernel dispatches VIRQ_DOM_EXC to xenstored and the toolstack", () => {
  it('binds VIRQ_DOM_EXC at boot; a guest shutdown fires @releaseDomain from dom0 vCPU time', async () => {
    h = makeHost();
    h.engine.runFor(1_000_000);
    expect(h.kernel.portOf(VIRQ_DOM_EXC)).toBeGreaterThan(0);
    const { domid } = await h.run(
      h.ts.create(createReq(`${BASIC_CFG}\non_poweroff = "preserve"\n`)),
    );
    const released: string[] = [];
    h.xs.watch('@releaseDomain', (p) => released.push(p));
    const dom0Time = h.hv.cpuTime(h.hv.domain(0) as never);
    h.hv.shutdownDomain(h.hv.domain(domid as number) as never, 0);
    h.engine.runFor(100_000_000);
    expect(released.length).toBe(2); // registration + the shutdown
    expect(h.hv.cpuTime(h.hv.domain(0) as never)).toBeGreaterThan(dom0Time);
    expect((await h.run(h.ts.domainInfo(domid as number))).shutdown).toBe(true);
  });
});
