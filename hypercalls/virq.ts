// Virtual IRQs and their binding rules (xen/include/public/xen.h VIRQ_*, xen/common/event_channel.c virq_is_global).

export const VIRQ_TIMER = 0;
export const VIRQ_DEBUG = 1;
export const VIRQ_CONSOLE = 2;
export const VIRQ_DOM_EXC = 3;
export const VIRQ_TBUF = 4;
export const VIRQ_DEBUGGER = 6;
export const VIRQ_XENOPROF = 7;
export const VIRQ_CON_RING = 8;
export const VIRQ_PCPU_STATE = 9;
export const VIRQ_MEM_EVENT = 10;
export const VIRQ_ARGO = 11;
export const VIRQ_ENOMEM = 12;
export const VIRQ_XENPMU = 13;
export const VIRQ_ARCH_0 = 16;
export const VIRQ_ARCH_7 = 23;
export const NR_VIRQS = 24;

/** V: one port per vCPU; D: per domain, bound on vCPU 0 and re-bindable; G: global, one owner at a time. */
export const VIRQ_KIND = {
  PerVcpu: 'V',
  PerDomain: 'D',
  Global: 'G',
} as const;
export type VirqKind = (typeof VIRQ_KIND)[keyof typeof VIRQ_KIND];

/** The binding kind of `virq` (0 <= virq < NR_VIRQS). Unlisted and arch VIRQs are per-vCPU, as in Xen's default case. */
export function virqKind(virq: number): VirqKind {
  switch (virq) {
    case VIRQ_CONSOLE:
    case VIRQ_DOM_EXC:
    case VIRQ_TBUF:
    case VIRQ_DEBUGGER:
    case VIRQ_CON_RING:
    case VIRQ_PCPU_STATE:
    case VIRQ_MEM_EVENT:
    case VIRQ_ENOMEM:
      return VIRQ_KIND.Global;
    case VIRQ_ARGO:
      return VIRQ_KIND.PerDomain;
    default:
      return VIRQ_KIND.PerVcpu;
  }
}
