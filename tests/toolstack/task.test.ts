import { describe, expect, it } from 'vitest';
import { Engine } from '../../hypervisor/engine/engine.js';
import { runOp, settle, sleep, Signal, type Op } from '../../dom0/toolstack/task.js';
import type { Dom0Clock } from '../../dom0/toolstack/platform.js';
import {
  DomainRegistry,
  LIBXL_DOMID_REUSE_TIMEOUT_NS,
} from '../../dom0/toolstack/domain-registry.js';
import { crc32 } from '../../dom0/toolstack/crc32.js';

function clockOf(e: Engine): Dom0Clock {
  return {
    now: () => e.now,
    at: (t, fn) => e.at(t, fn),
    cancel: (id) => void e.cancel(id),
    epochS: 0,
  };
}

describe('toolstack ops on virtual time', () => {
  it('an op sleeps in virtual time and settle() runs the engine until it finishes', async () => {
    const e = new Engine({ trace: false });
    const c = clockOf(e);
    function* op(): Op<number> {
      yield sleep(c, 5_000);
      yield sleep(c, 7_000);
      return c.now();
    }
    const t = runOp(c, op());
    expect(t.state).toBe('running');
    expect(await settle(e, t.promise)).toBe(12_000);
  });

  it('a Signal wait resumes with the fired value, or the timeout value when nothing fires in time', async () => {
    const e = new Engine({ trace: false });
    const c = clockOf(e);
    const s = new Signal<string>();
    function* op(): Op<unknown[]> {
      const a = yield s.wait(c, 1_000, 'timeout');
      const b = yield s.wait(c, 1_000, 'timeout');
      return [a, b, c.now()];
    }
    const t = runOp(c, op());
    e.at(500, () => s.fire('fired'));
    expect(await settle(e, t.promise)).toEqual(['fired', 'timeout', 1_500]);
  });

  it('an error thrown inside an op rejects its promise', async () => {
    const e = new Engine({ trace: false });
    const c = clockOf(e);
    function* op(): Op<void> {
      yield sleep(c, 1);
      throw new Error('boom');
    }
    await expect(settle(e, runOp(c, op()).promise)).rejects.toThrow('boom');
  });

  it('settle() rejects when the simulation stops before the op finishes', async () => {
    const e = new Engine({ trace: false });
    const c = clockOf(e);
    const s = new Signal<void>();
    function* op(): Op<void> {
      yield s.wait(c);
    }
    await expect(settle(e, runOp(c, op()).promise)).rejects.toThrow('simulation stopped');
  });
});

describe('domid reuse (libxl__is_domid_recent)', () => {
  it('a freed domid is recent for exactly 60 s, and old entries are pruned', () => {
    const r = new DomainRegistry();
    r.markRecent(5, 1_000);
    expect(r.isRecent(5, 1_000 + LIBXL_DOMID_REUSE_TIMEOUT_NS - 1)).toBe(true);
    expect(r.isRecent(5, 1_000 + LIBXL_DOMID_REUSE_TIMEOUT_NS)).toBe(false);
    r.markRecent(5, 2 * LIBXL_DOMID_REUSE_TIMEOUT_NS);
    expect(r.isRecent(5, 2 * LIBXL_DOMID_REUSE_TIMEOUT_NS + 1)).toBe(true);
  });
});

describe('crc32', () => {
  it('matches the IEEE check value', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });
});
