import { describe, expect, it } from 'vitest';
import { runSchedulingDemo } from '../../hypervisor/index.js';

describe('runSchedulingDemo', () => {
  it('returns per-domain CPU shares that follow the weights (credit and credit2)', () => {
    for (const scheduler of ['credit', 'credit2'] as const) {
      const rows = runSchedulingDemo({ weights: [128, 256, 512], seconds: 3, scheduler });
      expect(rows.map((r) => r.weight)).toEqual([128, 256, 512]);
      for (const r of rows) expect(Math.abs(r.share - r.expectedShare)).toBeLessThan(0.03);
      expect(rows.reduce((a, r) => a + r.share, 0)).toBeGreaterThan(0.97);
    }
  });

  it('honours caps', () => {
    const [row] = runSchedulingDemo({ weights: [256], caps: [25], seconds: 2 });
    expect(row?.share).toBeLessThanOrEqual(0.26);
  });
});
