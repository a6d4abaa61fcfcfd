// Domains and vCPUs as the core keeps them (xen/include/xen/sched.h struct domain / struct vcpu,
// xen/common/domain.c): pause counts, shutdown state, runstates, affinity, timers and guest code.

import type {
  GuestCoroutine,
  GuestEnv,
  GuestProgram,
  UpcallHandler,
} from '../hypercalls/guest-interface.js';
import { SHARED_INFO_SIZE } from '../hypercalls/shared-info.js';
import { NR_VIRQS } from '../hypercalls/virq.js';
import { RUNSTATE_offline } from '../hypercalls/vcpu.js';
import type { EvtchnTable } from './evtchn/evtchn-table.js';

/**
 * Fields holding absolute virtual times (and engine event ids) pass 2^31 early in every run. They are created with
 * this non-integer value (then set to 0 in the constructor) so that V8 lays them out as doubles from the
 * start: otherwise every object changes hidden class mid-run and all hot code deoptimises once.
 */
export const DOUBLE_REPR = 0.5;

/** DOMDYING_* (sched.h). */
export const DOMDYING = { alive: 0, dying: 1, dead: 2 } as const;

export class Vcpu {
  readonly dom: Domain;
  readonly id: number;
  /** Domain id * 65536 + vcpu id: a stable sort key. */
  readonly key: number;

  // pause_flags and pause_count (sched.h).
  initialised = false;
  /** VPF_down clear. */
  online = false;
  /** VPF_blocked. */
  blocked = false;
  pauseCount = 0;
  /** Credit scheduler parked this vCPU (capped and out of credit). */
  parked = false;
  /** The scheduler currently holds this vCPU as runnable (queued or running). */
  inSched = false;
  /** pCPU it runs on now, or -1. */
  runningOn = -1;
  /** v->processor: where it last ran / is queued. */
  processor = 0;
  yieldFlag = false;

  // Runstate accounting (vcpu_runstate_info).
  runstate: number = RUNSTATE_offline;
  runstateEntryNs = DOUBLE_REPR;
  // Time spent in each RUNSTATE_* (running, runnable, blocked, offline): fields of the vCPU itself rather
  // than an array, so that a wake touches no other object for them. Doubles from the start (see DOUBLE_REPR).
  runningNs = DOUBLE_REPR;
  runnableNs = DOUBLE_REPR;
  blockedNs = DOUBLE_REPR;
  offlineNs = DOUBLE_REPR;

  // Affinity: 1 = allowed. hardAll/softAll short-cut the common "all" case.
  hard: Uint8Array;
  soft: Uint8Array;
  hardAll = true;
  softAll = true;

  // SCHEDOP_poll.
  pollPorts: readonly number[] | null = null;
  pollTimer = DOUBLE_REPR;

  // Timers (sched/core.c): periodic runs only while the vCPU runs; singleshot is set_timer_op / VCPUOP.
  periodicPeriodNs = 0;
  periodicLastNs = DOUBLE_REPR;
  singleshotTimer = DOUBLE_REPR;

  /** Ports of per-vCPU VIRQs (0 = unbound): a small-integer array, kept with the vCPU on the JS heap (a typed array this size lives off it). */
  readonly virqPort: number[] = new Array<number>(NR_VIRQS).fill(0);

  // Guest execution.
  program: GuestCoroutine | null = null;
  /** CPU work the guest asked for that has not run yet. */
  workNs = 0;
  /** Hypercall costs charged while guest code ran, added to work after the step. */
  chargeNs = 0;

  // Scheduler-private state (credit and credit2 share these fields; each scheduler owns its meaning).
  credit = 0;
  pri = 0;
  residual = 0;
  startTimeNs = DOUBLE_REPR;
  active = false;
  lastBurnNs = DOUBLE_REPR;
  /** Runqueue link index for the scheduler (-1 when not queued). */
  rqCpu = -1;

  constructor(dom: Domain, id: number, nrPcpus: number) {
    this.dom = dom;
    this.id = id;
    this.key = dom.domid * 65536 + id;
    this.runstateEntryNs = 0;
    this.runningNs = 0;
    this.runnableNs = 0;
    this.blockedNs = 0;
    this.offlineNs = 0;
    this.periodicLastNs = 0;
    this.startTimeNs = 0;
    this.lastBurnNs = 0;
    // Engine event ids pass 2^31 too, once a queue slot has been reused 128 times.
    this.pollTimer = -1;
    this.singleshotTimer = -1;
    this.hard = new Uint8Array(nrPcpus).fill(1);
    this.soft = new Uint8Array(nrPcpus).fill(1);
  }

  /** Accumulated time in RUNSTATE_* `state` (up to the last state change). */
  runstateTimeNs(state: number): number {
    switch (state) {
      case 0:
        return this.runningNs;
      case 1:
        return this.runnableNs;
      case 2:
        return this.blockedNs;
      default:
        return this.offlineNs;
    }
  }

  /** Adds `ns` to the time in RUNSTATE_* `state`. */
  addRunstateTime(state: number, ns: number): void {
    switch (state) {
      case 0:
        this.runningNs += ns;
        break;
      case 1:
        this.runnableNs += ns;
        break;
      case 2:
        this.blockedNs += ns;
        break;
      default:
        this.offlineNs += ns;
    }
  }

  /** vcpu_runnable(): nothing holds it off a pCPU. */
  runnable(): boolean {
    return (
      this.online &&
      !this.blocked &&
      !this.parked &&
      this.pauseCount === 0 &&
      this.dom.pauseCount === 0 &&
      this.dom.dying === DOMDYING.alive
    );
  }
}

export class Domain {
  readonly domid: number;
  privileged: boolean;
  readonly vcpus: Vcpu[] = [];
  maxVcpus = 0;
  /** Internal pause count (includes the controller's). */
  pauseCount = 0;
  controllerPauseCount = 0;

  isShuttingDown = false;
  isShutDown = false;
  shutdownCode = -1;
  pendingShutdownCode = -1;
  dying: number = DOMDYING.alive;
  /** Still referenced after destroy (pages held elsewhere): shown as dying. */
  zombie = false;

  weight = 256;
  cap = 0;
  /** Credit: active vCPU count in accounting; credit2: cap budget left in this period (ns). */
  activeVcpus = 0;
  budgetNs = 0;

  maxMemKb = 0;
  handle = new Uint8Array(16);
  readonly sharedInfo = new Uint8Array(SHARED_INFO_SIZE);
  evtchn!: EvtchnTable;
  upcall: UpcallHandler | null = null;
  env: GuestEnv | null = null;
  program: GuestProgram | null = null;
  /** Xen's watchdog timers (2 per domain): engine event ids, -1 when free. */
  readonly watchdogTimer = [-1, -1];
  readonly watchdogInUse = [false, false];
  /** vCPUs of this domain in SCHEDOP_poll. */
  pollingCount = 0;
  /** Port signalled instead of VIRQ_DOM_EXC on suspend (XEN_DOMCTL_subscribe). */
  suspendEvtchn = 0;
  createdAtNs = 0;

  constructor(domid: number, privileged: boolean) {
    this.domid = domid;
    this.privileged = privileged;
  }

  get cpuTimeNs(): number {
    let t = 0;
    for (const v of this.vcpus) t += v.runningNs;
    return t;
  }
}
