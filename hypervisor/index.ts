// The hypervisor core's public surface: a host's hypervisor, its domains and vCPUs, and the
// built-in guest workloads.
export { Hypervisor, MAX_VIRT_CPUS } from './hypervisor.js';
export type { HypervisorOptions, CreateDomainOptions, XenVersionInfo } from './hypervisor.js';
export { Domain, Vcpu, DOMDYING } from './domain.js';
export { DEFAULT_COSTS, type CostModel } from './costs.js';
export { hypercall } from './dispatch.js';
export { domainFlags } from './domain-info.js';
export type { Scheduler, SchedParams } from './sched/scheduler.js';
export {
  runSchedulingDemo,
  type SchedulingDemoOptions,
  type SchedulingDemoRow,
} from './scheduling-demo.js';
export * from './workloads/index.js';
