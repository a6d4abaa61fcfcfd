import { describe, expect, it } from 'vitest';
import {
  NR_VIRQS,
  VIRQ_ARGO,
  VIRQ_CON_RING,
  VIRQ_DEBUG,
  VIRQ_DOM_EXC,
  VIRQ_KIND,
  VIRQ_TIMER,
  virqKind,
} from '../../hypercalls/virq.js';

describe('VIRQ table (xen.h)', () => {
  it('classifies per-vCPU, per-domain and global VIRQs as Xen does', () => {
    expect(NR_VIRQS).toBe(24);
    expect(virqKind(VIRQ_TIMER)).toBe(VIRQ_KIND.PerVcpu);
    expect(virqKind(VIRQ_DEBUG)).toBe(VIRQ_KIND.PerVcpu);
    expect(virqKind(VIRQ_DOM_EXC)).toBe(VIRQ_KIND.Global);
    expect(virqKind(VIRQ_CON_RING)).toBe(VIRQ_KIND.Global);
    expect(virqKind(VIRQ_ARGO)).toBe(VIRQ_KIND.PerDomain);
  });
});
