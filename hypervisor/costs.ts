// Virtual CPU time that hypervisor work costs the guest that caused it (entry/exit of a hypercall,
// a context switch, an event upcall). Xen's costs are real cycles; these are the simulator's knobs.

export interface CostModel {
  /** Charged to the calling vCPU for every hypercall (multicall entries included). */
  hypercallNs: number;
  /** Charged to the vCPU switched in. */
  contextSwitchNs: number;
  /** Charged to the vCPU for entering its event callback. */
  upcallNs: number;
}

export const DEFAULT_COSTS: Readonly<CostModel> = {
  hypercallNs: 100,
  contextSwitchNs: 1_000,
  upcallNs: 300,
};
