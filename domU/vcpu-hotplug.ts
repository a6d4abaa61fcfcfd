// vCPU hotplug as a PV guest does it (Linux drivers/xen/cpu_hotplug.c and arch/x86/xen/smp_pv.c):
// `cpu/<n>/availability` says "online" or "offline"; the guest brings a vCPU up with
// VCPUOP_initialise + VCPUOP_up and takes one down by stopping its code (VCPUOP_down on itself),
// after moving its threads to vCPU 0. `xl vcpu-set` only writes the nodes.

import type { HypercallInterface } from '../hypercalls/guest-interface.js';
import { VCPUOP_initialise, VCPUOP_is_up, VCPUOP_up } from '../hypercalls/vcpu.js';
import { XEN_EEXIST } from '../hypercalls/errno.js';
import type { KThread } from './kthread.js';
import type { XenbusClient } from './xenbus/xs-client.js';

export interface HotplugHost {
  readonly h: HypercallInterface;
  readonly xs: XenbusClient;
  readonly vcpus: number;
  /** Prepares vCPU `v` to run (its timer, its runner) before VCPUOP_up starts it. */
  prepareVcpu(v: number): void;
  /** Stops vCPU `v`'s code after moving its threads to vCPU 0; the vCPU then goes down. */
  offlineVcpu(v: number): void;
  printk(line: string): void;
}

export class VcpuHotplug {
  private readonly k: HotplugHost;

  constructor(host: HotplugHost) {
    this.k = host;
  }

  /** setup_vcpu_hotplug_event + the boot pass over every possible vCPU. */
  *setup(): KThread {
    for (let v = 1; v < this.k.vcpus; v++) yield* this.apply(v);
    yield* this.k.xs.watch('cpu', (path) => this.onEvent(path));
  }

  private *onEvent(path: string): KThread {
    const m = /^cpu\/([0-9]+)\/availability$/.exec(path);
    if (!m) return;
    const v = Number(m[1]);
    if (v > 0 && v < this.k.vcpus) yield* this.apply(v);
  }

  /** vcpu_hotplug: read the node and make the vCPU match it; a missing node changes nothing. */
  *apply(v: number): KThread {
    const r = yield* this.k.xs.read(`cpu/${v}/availability`);
    if (!r.ok) return;
    const up = this.k.h.vcpu_op(VCPUOP_is_up, v) > 0;
    if (r.value === 'online' && !up) this.online(v);
    else if (r.value === 'offline' && up) this.k.offlineVcpu(v);
    else if (r.value !== 'online' && r.value !== 'offline') {
      this.k.printk(`xen: unknown state "${r.value.slice(0, 16)}" for vCPU ${v}`);
    }
  }

  private online(v: number): void {
    this.k.prepareVcpu(v);
    const rc = this.k.h.vcpu_op(VCPUOP_initialise, v, { user_regs: { rip: 0 } });
    const up = rc === 0 || rc === -XEN_EEXIST ? this.k.h.vcpu_op(VCPUOP_up, v) : rc;
    if (up < 0) this.k.printk(`smpboot: vCPU ${v} did not come up (${up})`);
  }
}
