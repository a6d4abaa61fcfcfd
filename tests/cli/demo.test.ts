import { describe, expect, it } from 'vitest';
import { demoMain } from '../../dom0/cli/demo.js';

function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  return demoMain(argv, {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
  }).then((code) => ({ code, out, err }));
}

describe('xensim demo', () => {
  it('prints each domain with its weight, CPU time and share; 256:512 on one pCPU gives about 1:2', async () => {
    const { code, out } = await run(['--weights', '256,512', '--seconds', '3']);
    expect(code).toBe(0);
    const rows = out
      .trim()
      .split('\n')
      .slice(2)
      .map((l) => l.trim().split(/\s+/));
    expect(rows.map((r) => r[1])).toEqual(['256', '512']);
    const shares = rows.map((r) => parseFloat(r[4] ?? ''));
    expect(shares[0]).toBeGreaterThan(31.3);
    expect(shares[0]).toBeLessThan(35.4);
    expect((shares[0] ?? 0) + (shares[1] ?? 0)).toBeCloseTo(100, 0);
  });

  it('the same seed prints the same table', async () => {
    const a = await run(['--seed', '5', '--seconds', '1', '--sched', 'credit2']);
    const b = await run(['--seed', '5', '--seconds', '1', '--sched', 'credit2']);
    expect(a.out).toBe(b.out);
    expect(a.out).toMatch(/Scheduler credit2/);
  });

  it.each([
    [['--weights', 'x'], /--weights takes integers/],
    [['--pcpus', '0'], /--pcpus takes an integer/],
    [['--seconds', '-1'], /--seconds/],
    [['--sched', 'rtds'], /Invalid values|choices/i],
    [['--bogus'], /Unknown argument/i],
  ])('rejects %j with a clear message and exit code 2', async (argv, message) => {
    const { code, err } = await run(argv);
    expect(code).toBe(2);
    expect(err).toMatch(message);
  });
});
