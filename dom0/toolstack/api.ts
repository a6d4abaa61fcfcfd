// The typed toolstack interface the host daemon serves to `xl`: the libxl calls xl makes
// (tools/libs/light/libxl.h, libxl_types.idl), as plain data records in and out.

import type { MigrationProgress, MigrationStats } from '../migration/types.js';

/** libxl_error (libxl_types.idl): the codes a toolstack call can fail with. */
export const LIBXL_ERROR = {
  NONSPECIFIC: -1,
  VERSION: -2,
  FAIL: -3,
  NI: -4,
  NOMEM: -5,
  INVAL: -6,
  BADFAIL: -7,
  GUEST_TIMEDOUT: -8,
  TIMEDOUT: -9,
  NOPARAVIRT: -10,
  NOT_READY: -11,
  LOCK_FAIL: -15,
  DEVICE_EXISTS: -17,
  DOMAIN_NOTFOUND: -21,
  ABORTED: -22,
  NOTFOUND: -23,
  DOMAIN_DESTROYED: -24,
} as const;
export type LibxlErrorCode = keyof typeof LIBXL_ERROR;

/**
 * A failed toolstack call as a plain record: the libxl code, and what libxl logs on stderr for
 * it (without a trailing newline; may be empty). xl adds its own line where xl has one
 * ("destroy failed (rc=-21)"), so the message is libxl's part, not xl's.
 */
export interface ToolstackErrorRecord {
  readonly code: LibxlErrorCode;
  readonly message: string;
}

/** The error a ToolstackApi method rejects with; `toRecord()` is what crosses the socket. */
export class ToolstackError extends Error {
  readonly code: LibxlErrorCode;

  constructor(code: LibxlErrorCode, message: string) {
    super(message);
    this.name = 'ToolstackError';
    this.code = code;
  }

  /** The libxl return code (negative), as xl prints it in `(rc=%d)`. */
  get rc(): number {
    return LIBXL_ERROR[this.code];
  }

  toRecord(): ToolstackErrorRecord {
    return { code: this.code, message: this.message };
  }

  static fromRecord(r: ToolstackErrorRecord): ToolstackError {
    return new ToolstackError(r.code, r.message);
  }
}

export function isLibxlErrorCode(s: unknown): s is LibxlErrorCode {
  return typeof s === 'string' && Object.hasOwn(LIBXL_ERROR, s);
}

/** Shutdown reasons (libxl_shutdown_reason = SHUTDOWN_* of public/sched.h). */
export const SHUTDOWN_REASON = {
  poweroff: 0,
  reboot: 1,
  suspend: 2,
  crash: 3,
  watchdog: 4,
  soft_reset: 5,
} as const;

/** libxl_dominfo: one domain as `xl list` sees it. */
export interface DomainInfo {
  readonly domid: number;
  readonly name: string;
  /** Canonical 36-character lowercase form. */
  readonly uuid: string;
  readonly running: boolean;
  readonly blocked: boolean;
  readonly paused: boolean;
  readonly shutdown: boolean;
  readonly dying: boolean;
  /** Valid when `shutdown` is true: a SHUTDOWN_REASON value. */
  readonly shutdownReason: number;
  readonly currentMemKb: number;
  readonly outstandingMemKb: number;
  readonly maxMemKb: number;
  readonly cpuTimeNs: number;
  readonly vcpuOnline: number;
  readonly vcpuMaxId: number;
  readonly cpupool: string;
  /** FLASK label; undefined without XSM (xl prints `-`). */
  readonly ssidLabel?: string;
  /** Domain start time, seconds since the epoch (libxl_vm_get_start_time). */
  readonly startTimeS: number;
}

/** libxl_vcpuinfo plus its domain: one row of `xl vcpu-list`. */
export interface VcpuInfo {
  readonly domid: number;
  readonly name: string;
  readonly vcpuId: number;
  readonly online: boolean;
  readonly running: boolean;
  readonly blocked: boolean;
  /** The pCPU it is on (meaningful when online). */
  readonly cpu: number;
  readonly vcpuTimeNs: number;
  /** pCPU numbers in the hard and soft affinity masks. */
  readonly hardAffinity: readonly number[];
  readonly softAffinity: readonly number[];
}

/** libxl_physinfo + libxl_version_info + uname: everything `xl info` prints. */
export interface HostInfo {
  readonly host: string;
  readonly release: string;
  readonly version: string;
  readonly machine: string;
  readonly nrCpus: number;
  readonly maxCpuId: number;
  readonly nrNodes: number;
  readonly coresPerSocket: number;
  readonly threadsPerCore: number;
  readonly cpuKhz: number;
  /** Eight 32-bit words. */
  readonly hwCaps: readonly number[];
  /** Capability words in print order, e.g. ['pv', 'hvm', 'gnttab-v1']. */
  readonly virtCaps: readonly string[];
  readonly totalPages: number;
  readonly freePages: number;
  readonly outstandingPages: number;
  readonly sharingFreedPages: number;
  readonly sharingUsedFrames: number;
  readonly freeCpus: number;
  readonly xenMajor: number;
  readonly xenMinor: number;
  /** e.g. ".7" or "-unstable". */
  readonly xenExtra: string;
  readonly xenCaps: string;
  readonly scheduler: string;
  readonly pageSize: number;
  /** Hex digits of virt_start without 0x (it does not fit a double). */
  readonly virtStartHex: string;
  readonly changeset: string;
  readonly commandline: string;
  readonly ccCompiler: string;
  readonly ccCompileBy: string;
  readonly ccCompileDomain: string;
  readonly ccCompileDate: string;
  readonly buildId: string;
  /** Host wall clock, ms since the epoch (for `uptime -s` and `top`). */
  readonly nowMs: number;
  /** Seconds the host (dom0) has been up. */
  readonly uptimeS: number;
}

export interface SchedDomainParams {
  readonly domid: number;
  readonly name: string;
  readonly weight: number;
  readonly cap: number;
}

export interface CreditPoolParams {
  readonly tsliceMs: number;
  readonly ratelimitUs: number;
  readonly migrationDelayUs: number;
}

export interface Credit2PoolParams {
  readonly ratelimitUs: number;
}

/** One cpupool run by a scheduler, with its parameters and its domains. */
export interface SchedPool<P> {
  readonly poolName: string;
  readonly params: P;
  readonly domains: readonly SchedDomainParams[];
}

/** libxl_diskinfo: one row of `xl block-list`. */
export interface DiskInfo {
  readonly devid: number;
  readonly backendId: number;
  readonly frontendId: number;
  readonly state: number;
  readonly evtch: number;
  readonly rref: number;
  readonly backendPath: string;
}

/** libxl_nicinfo plus the nic's MAC: one row of `xl network-list`. */
export interface NicInfo {
  readonly devid: number;
  readonly backendId: number;
  readonly frontendId: number;
  /** Lowercase `xx:xx:xx:xx:xx:xx`. */
  readonly mac: string;
  /** The frontend's XenbusState. */
  readonly state: number;
  readonly evtch: number;
  readonly rrefTx: number;
  readonly rrefRx: number;
  readonly backendPath: string;
}

/** What a command run in dom0 printed (`xensim bridge …`). */
export interface CommandResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CreateRequest {
  /** The configuration file text (xl reads the file; the daemon may run elsewhere). */
  readonly configText: string;
  /** Where it came from, for messages: the file name as the user gave it. */
  readonly configSource: string;
  /** `key=value` lines from the command line, applied after the file. */
  readonly overrides: readonly string[];
  readonly paused: boolean;
  readonly dryRun: boolean;
  /** Directory relative paths in the config (kernel, disk images) resolve against. */
  readonly cwd: string;
}

export interface CreateResult {
  /** Undefined on a dry run. */
  readonly domid?: number;
  readonly name: string;
  /** libxl_domain_config as JSON text (what `-n` prints). */
  readonly configJson: string;
  /** Lines xl prints on stderr while parsing (warnings). */
  readonly warnings: readonly string[];
}

export type ShutdownKind = 'poweroff' | 'reboot';

/** What `-w` waited for: the domain shut down (with a reason) or was destroyed. */
export interface DeathEvent {
  readonly domid: number;
  readonly event: 'shutdown' | 'destroyed';
  readonly shutdownReason?: number;
}

/** Progress of a long operation, as libxl's progress callbacks report it. */
export interface ProgressReport {
  /** e.g. "Saving memory", "Restoring memory". */
  readonly phase: string;
  readonly done: number;
  readonly total: number;
  /**
   * A whole line xl prints on stderr at this point instead of a progress figure
   * (e.g. "Saving to FILE new xl format (info 0x3/0x0/1234)"); then done/total are 0.
   */
  readonly note?: string;
}
export type ProgressCallback = (p: ProgressReport) => void;

export interface SaveRequest {
  readonly domid: number;
  /** Absolute path of the save file, on the host daemon's filesystem. */
  readonly file: string;
  /** `-c`: leave the domain running after the checkpoint. */
  readonly checkpoint: boolean;
  /** `-p`: leave it paused. */
  readonly leavePaused: boolean;
  /** Optional config text to store instead of the domain's own. */
  readonly configText?: string;
}

export interface RestoreRequest {
  readonly file: string;
  readonly configText?: string;
  readonly paused: boolean;
}

/** A domain console: bytes out of the guest, bytes into it. */
export interface ConsoleStream {
  /** Called with guest output; returns a function that stops the delivery. */
  onData(listener: (bytes: Uint8Array) => void): () => void;
  /** Called once when the console goes away (domain destroyed). */
  onClose(listener: () => void): void;
  write(bytes: Uint8Array): void;
  /** Detach (the domain keeps running). */
  close(): void;
}

/**
 * The toolstack the host daemon serves. Every method resolves with plain data or rejects with
 * a ToolstackError whose message is xl's wording. Domains are named by domid: `xl` resolves names.
 */
export interface ToolstackApi {
  listDomains(): Promise<readonly DomainInfo[]>;
  domainInfo(domid: number): Promise<DomainInfo>;
  /** libxl_retrieve_domain_configuration as a JSON-able record (`xl list -l`). */
  domainConfig(domid: number): Promise<Record<string, unknown>>;
  create(req: CreateRequest): Promise<CreateResult>;
  destroy(domid: number): Promise<void>;
  /** Asks the guest to shut down; with `wait`, resolves when it has (the DeathEvent). */
  shutdown(domid: number, kind: ShutdownKind, wait: boolean): Promise<DeathEvent | undefined>;
  pause(domid: number): Promise<void>;
  unpause(domid: number): Promise<void>;
  rename(domid: number, newName: string): Promise<void>;
  vcpuList(domid?: number): Promise<readonly VcpuInfo[]>;
  /** vcpu 'all' pins every vCPU; null leaves that mask alone. */
  vcpuPin(
    domid: number,
    vcpu: number | 'all',
    hard: readonly number[] | null,
    soft: readonly number[] | null,
    force: boolean,
  ): Promise<void>;
  vcpuSet(domid: number, count: number): Promise<void>;
  memSet(domid: number, targetKb: number): Promise<void>;
  memMax(domid: number, maxKb: number): Promise<void>;
  schedCreditGet(pool?: string): Promise<readonly SchedPool<CreditPoolParams>[]>;
  schedCreditDomainSet(domid: number, params: { weight?: number; cap?: number }): Promise<void>;
  schedCreditParamsSet(pool: string | undefined, params: Partial<CreditPoolParams>): Promise<void>;
  schedCredit2Get(pool?: string): Promise<readonly SchedPool<Credit2PoolParams>[]>;
  schedCredit2DomainSet(domid: number, params: { weight?: number; cap?: number }): Promise<void>;
  schedCredit2ParamsSet(
    pool: string | undefined,
    params: Partial<Credit2PoolParams>,
  ): Promise<void>;
  info(): Promise<HostInfo>;
  /** The hypervisor console ring; `clear` empties it after reading. */
  dmesg(clear: boolean): Promise<string>;
  save(req: SaveRequest, progress: ProgressCallback): Promise<void>;
  restore(req: RestoreRequest, progress: ProgressCallback): Promise<{ domid: number }>;
  /** Disk spec words as xl passes them (`xl-disk-configuration(5)`). */
  blockAttach(domid: number, spec: readonly string[]): Promise<void>;
  blockDetach(domid: number, vdev: string, force: boolean): Promise<void>;
  blockList(domid: number): Promise<readonly DiskInfo[]>;
  consoleAttach(domid: number): Promise<ConsoleStream>;
  /** NET_SPEC words as xl passes them (`xl-network-configuration(5)`); resolves with the devid. */
  networkAttach(domid: number, spec: readonly string[]): Promise<number>;
  /** `device` is a devid or a MAC (it has a `:`), as `xl network-detach` takes it. */
  networkDetach(domid: number, device: string): Promise<void>;
  networkList(domid: number): Promise<readonly NicInfo[]>;
  /** `xensim bridge add|del [-f]|list [--json]|macs <br>|ports <br>` on the host's bridges. */
  bridgeCommand(argv: readonly string[]): Promise<CommandResult>;
}

/** The method names of ToolstackApi: what the control socket accepts. */
export type ToolstackOp = keyof ToolstackApi;

// ---- live migration between host daemons (xl migrate; tools/xl/xl_migrate.c) ----------------

/** `xl migrate` as the sending host daemon runs it: connect, authenticate, send. */
export interface MigrateRequest {
  readonly domid: number;
  /** The target daemon's migration listener. */
  readonly address: string;
  readonly port: number;
  /** The target's shared migration token. */
  readonly token: string;
  /** The target as the user named it (messages only). */
  readonly target: string;
  /** `-p`: leave the domain paused on the target. */
  readonly leavePaused: boolean;
  /** `-e`: no background monitor on the target (accepted; xensim's hosts have none). */
  readonly noMonitor: boolean;
  /** `--debug`. */
  readonly debug: boolean;
}

/** What `xl migrate` shows while the migration runs. */
export type MigrateEvent =
  /** A whole line for stderr: xl's own messages, and the target's, in order. */
  | { readonly kind: 'message'; readonly text: string }
  /** Pre-copy progress (per round and batch). */
  | { readonly kind: 'progress'; readonly progress: MigrationProgress };

export interface MigrateResult {
  readonly stats: MigrationStats;
}

/**
 * A host that migrates its domains to others. Not part of ToolstackApi: the host daemon serves it
 * around the toolstack's migrateSend. On failure it rejects after reporting xl's failure lines as
 * 'message' events (the rejection's message is the first of them).
 */
export interface MigrateApi {
  migrate(req: MigrateRequest, onEvent: (e: MigrateEvent) => void): Promise<MigrateResult>;
}
