// Boot of the PV kernel model from start_info and shared_info, and its console (Linux
// enlighten_pv.c xen_start_kernel, hvc_xen.c; io/console.h).

import { describe, expect, it } from 'vitest';
import { xenconsReadOut, xenconsWriteIn } from '../../hypercalls/io/console.js';
import { EVTCHNOP_bind_virq, EVTCHNOP_send } from '../../hypercalls/event-channel.js';
import { VCPUOP_initialise, VCPUOP_stop_periodic_timer, VCPUOP_up } from '../../hypercalls/vcpu.js';
import { CONSOLE_PFN, CONSOLE_PORT } from './fake-xen.js';
import { bootKernel } from './kernel-harness.js';

const consoleView = (page: Uint8Array) =>
  new DataView(page.buffer, page.byteOffset, page.byteLength);
const dec = new TextDecoder();

describe('boot', () => {
  it('registers the upcall, stops the periodic tick, binds VIRQ_TIMER and advertises shutdown features', () => {
    const { xen, xsd, kernel, runUntil } = bootKernel();
    expect(xen.upcall).not.toBeNull();
    expect(xen.count('vcpu_op', VCPUOP_stop_periodic_timer)).toBe(1);
    expect(xen.count('event_channel_op', EVTCHNOP_bind_virq)).toBe(1);
    expect(runUntil(() => xsd.watches.length >= 4)).toBe(true);
    expect(xsd.get('control/feature-poweroff')).toBe('1');
    expect(xsd.get('control/feature-reboot')).toBe('1');
    expect(xsd.get('control/feature-suspend')).toBe('1');
    expect(xsd.watches.map((w) => w.path).sort()).toEqual([
      'control/shutdown',
      'cpu',
      'device',
      'memory/target',
    ]);
    // The store and console pages are the kernel's, never handed out.
    expect(kernel().pages.stateOf(1000)).toBe(2);
    expect(kernel().pages.stateOf(1001)).toBe(2);
  });

  it('brings up the vCPUs cpu/<n>/availability calls online with VCPUOP_initialise and VCPUOP_up', () => {
    const { xen, runUntil } = bootKernel(
      {},
      {
        maxVcpus: 3,
        setup: (x) => {
          x.set('cpu/1/availability', 'online');
          x.set('cpu/2/availability', 'offline');
        },
      },
    );
    expect(runUntil(() => xen.count('vcpu_op', VCPUOP_up) === 1)).toBe(true);
    expect(xen.count('vcpu_op', VCPUOP_initialise)).toBe(1);
    expect([...xen.vcpusUp].sort()).toEqual([0, 1]);
  });

  it('xl vcpu-set: a vCPU set offline has its threads moved to vCPU 0 and its code stopped', () => {
    const { xen, xsd, kernel, runUntil } = bootKernel(
      {},
      { maxVcpus: 2, setup: (x) => x.set('cpu/1/availability', 'online') },
    );
    expect(runUntil(() => xen.vcpusUp.has(1) && kernel().xs.outstanding === 0)).toBe(true);
    const k = kernel();
    k.spawn(
      'worker',
      (function* () {
        yield* k.sleep(1e12);
      })(),
      1,
    );
    const r1 = k.runner(1);
    expect(r1.threadNames()).toContain('worker');
    xsd.set('cpu/1/availability', 'offline');
    expect(runUntil(() => r1.halted)).toBe(true);
    expect(r1.threadCount).toBe(0);
    expect(k.runner(0).threadNames()).toContain('worker');
  });

  it('blocks with nothing to do: the idle vCPU sits in SCHEDOP_block without burning time', () => {
    const { xen, xsd, runUntil } = bootKernel();
    runUntil(() => xsd.watches.length >= 4);
    const t = xen.nowNs;
    expect(runUntil(() => false, 5e9)).toBe(false);
    expect(xen.blocked).toBe(true);
    expect(xen.nowNs).toBe(t);
  });
});

describe('console frontend', () => {
  it('writes output into the out ring of the start_info page and notifies the console port', () => {
    const { xen, kernel, runUntil } = bootKernel({ banner: true });
    runUntil(() => kernel().xs.outstanding === 0 && xen.blocked);
    kernel().print('hello, console\n');
    const page = xen.memory.page(CONSOLE_PFN) as Uint8Array;
    const out = xenconsReadOut(consoleView(page));
    expect(out.ok).toBe(true);
    const text = out.ok ? dec.decode(out.value) : '';
    expect(text).toContain('xensim PV kernel: domid 5');
    expect(text.endsWith('hello, console\n')).toBe(true);
    const sends = xen.calls.filter(
      (c) =>
        c.op === 'event_channel_op' &&
        c.cmd === EVTCHNOP_send &&
        (c.arg as { port: number }).port === CONSOLE_PORT,
    );
    expect(sends.length).toBeGreaterThan(0);
  });

  it('holds output the full ring cannot take and sends it once xenconsoled drains', () => {
    const { xen, kernel, runUntil } = bootKernel();
    runUntil(() => xen.blocked);
    const page = xen.memory.page(CONSOLE_PFN) as Uint8Array;
    kernel().print('a'.repeat(3000));
    expect(kernel().console.backlog).toBe(3000 - 2048);
    const first = xenconsReadOut(consoleView(page));
    xen.raise(CONSOLE_PORT);
    runUntil(() => kernel().console.backlog === 0);
    const second = xenconsReadOut(consoleView(page));
    expect((first.ok ? first.value.length : 0) + (second.ok ? second.value.length : 0)).toBe(3000);
  });

  it('reads input from the in ring when the console port fires', () => {
    let got = '';
    const { xen, runUntil } = bootKernel({
      programs: [
        {
          name: 'reader',
          *main(k) {
            const b = yield* k.console.read();
            got = dec.decode(b);
          },
        },
      ],
    });
    runUntil(() => xen.blocked);
    const page = xen.memory.page(CONSOLE_PFN) as Uint8Array;
    xenconsWriteIn(consoleView(page), new TextEncoder().encode('ls\n'));
    xen.raise(CONSOLE_PORT);
    expect(runUntil(() => got !== '')).toBe(true);
    expect(got).toBe('ls\n');
  });
});
