// The in-process stand-in for a migrated or saved PV guest's register state (xg_sr_save.c's
// X86_PV_VCPU_BASIC records): the guest program running a suspended domain is parked under a
// one-shot `handoff:<instance>.<n>` ref, and the domain a migration or `xl restore` builds runs it,
// lazily, once it is first scheduled.
// DEVIATION(xen): a coroutine's execution state cannot be serialized, so it moves by reference,
// within one process only.

import { randomBytes } from 'node:crypto';
import type { GuestCoroutine, GuestEnv, GuestProgram } from '../../hypercalls/guest-interface.js';
import type { XenResult } from '../../hypercalls/errno.js';
import type { GuestMemory } from '../../hypercalls/memory.js';

export const HANDOFF_PREFIX = 'handoff:';

/** A taken handoff: whether its domain started running it, or a failed migration revoked it. */
interface TakenHandoff {
  started: boolean;
  revoked: boolean;
}

/** The wrapper programs `take` handed out, with the real program behind each. */
const WRAPPED = new WeakMap<GuestProgram, GuestProgram>();

/** The real program behind a handoff wrapper (the program itself if it is not one). */
export function unwrapHandoff(program: GuestProgram): GuestProgram {
  return WRAPPED.get(program) ?? program;
}

/** Parked guest programs of one host, or of every host of a pool (refs are unique across it). */
/** Finds the memory of the domain an env belongs to, if this resolver's host runs it. */
export type EnvMemoryResolver = (env: GuestEnv) => XenResult<GuestMemory> | undefined;

/**
 * Programs parked and never taken that a table keeps at most (an `xl save` parks one for a restore
 * that may never come); past it the oldest is dropped and its save file restores by a kernel start.
 */
export const MAX_PARKED = 16;

export class HandoffTable {
  private readonly resolvers: EnvMemoryResolver[] = [];
  private next = 1;
  /**
   * Names this table in its refs (`handoff:<instance>.<n>`): a save file outlives the process, and
   * a ref from another process's table must never find a program parked here.
   */
  readonly instance: string;

  constructor(instance: string = randomBytes(4).toString('hex')) {
    this.instance = instance;
  }

  /** A host of the pool registers how to find the memory of the domains it runs. */
  addMemoryResolver(r: EnvMemoryResolver): void {
    this.resolvers.push(r);
  }

  /** The memory behind `env` on whichever host runs it (undefined: no host claims it). */
  memoryOf(env: GuestEnv): XenResult<GuestMemory> | undefined {
    for (const r of this.resolvers) {
      const m = r(env);
      if (m) return m;
    }
    return undefined;
  }

  private readonly parked = new Map<string, GuestProgram>();
  private readonly taken = new Map<string, TakenHandoff>();

  /**
   * Parks `program` (unwrapped, if it is itself a handoff wrapper) under a fresh ref; beyond
   * MAX_PARKED the oldest parked program is dropped.
   */
  put(program: GuestProgram): string {
    const ref = `${HANDOFF_PREFIX}${this.instance}.${this.next++}`;
    this.parked.set(ref, unwrapHandoff(program));
    if (this.parked.size > MAX_PARKED) {
      const oldest = this.parked.keys().next().value;
      if (oldest !== undefined) this.parked.delete(oldest);
    }
    return ref;
  }

  /** Programs parked and not yet taken. */
  get size(): number {
    return this.parked.size;
  }

  /**
   * Takes the program out (one-shot: a second take is undefined) and returns a wrapper whose
   * coroutine for each vCPU calls the real program only on its first step.
   */
  take(ref: string): GuestProgram | undefined {
    const real = this.parked.get(ref);
    if (real === undefined) return undefined;
    this.parked.delete(ref);
    const state: TakenHandoff = { started: false, revoked: false };
    this.taken.set(ref, state);
    return lazyHandoffProgram(real, state, () => this.taken.delete(ref));
  }

  /**
   * A migration that failed before the target ran the program: a parked one is dropped, a taken
   * one that never ran will crash its domain rather than run. False once the target ran it.
   */
  revoke(ref: string): boolean {
    if (this.parked.delete(ref)) return true;
    const t = this.taken.get(ref);
    if (t === undefined || t.started) return false;
    t.revoked = true;
    this.taken.delete(ref);
    return true;
  }
}

/**
 * The wrapper a new domain boots with. The hypervisor creates each vCPU's coroutine at boot, while
 * the domain is still paused; the real program is called only when the first of them is stepped,
 * vCPU 0's call first (it makes the kernel adopt the new domain, domU/boot.ts), then the one being
 * stepped.
 */
function lazyHandoffProgram(
  real: GuestProgram,
  state: TakenHandoff,
  onStart: () => void,
): GuestProgram {
  let boot: { env: GuestEnv; vcpu0: GuestCoroutine | null } | null = null;
  const start = (env: GuestEnv): void => {
    if (state.revoked) throw new Error('guest program handoff was revoked (migration failed)');
    if (boot !== null) return;
    state.started = true;
    onStart();
    boot = { env, vcpu0: null };
    boot.vcpu0 = real(env, 0);
  };
  const wrapper: GuestProgram = function* (env: GuestEnv, vcpu: number): GuestCoroutine {
    start(env);
    let inner: GuestCoroutine;
    if (vcpu === 0 && boot?.vcpu0) {
      inner = boot.vcpu0;
      boot.vcpu0 = null;
    } else inner = real(env, vcpu);
    yield* inner;
  };
  WRAPPED.set(wrapper, real);
  return wrapper;
}
