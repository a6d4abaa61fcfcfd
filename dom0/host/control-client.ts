// The client side of the control socket: a ToolstackApi whose calls travel to a host daemon
// (what libxl's in-process calls are to the real xl, tools/xl/xl.c).

import * as net from 'node:net';
import { ToolstackError } from '../toolstack/api.js';
import type {
  CommandResult,
  ConsoleStream,
  CreateRequest,
  CreateResult,
  Credit2PoolParams,
  CreditPoolParams,
  DeathEvent,
  DiskInfo,
  DomainInfo,
  HostInfo,
  MigrateApi,
  MigrateEvent,
  MigrateRequest,
  MigrateResult,
  NicInfo,
  ProgressCallback,
  RestoreRequest,
  SaveRequest,
  SchedPool,
  ShutdownKind,
  ToolstackApi,
  ToolstackOp,
  VcpuInfo,
} from '../toolstack/api.js';
import { encodeFrame, FrameDecoder, parseDaemonMessage } from './control-protocol.js';
import type { ClientMessage, DaemonMessage } from './control-protocol.js';

interface Pending {
  resolve(v: unknown): void;
  reject(e: ToolstackError): void;
  onMessage?(m: DaemonMessage): void;
  /** A console stays registered after its result, for its data frames. */
  keep: boolean;
}

/** Connects to a socket; resolves with the socket or the connection error. */
export function connectSocket(socketPath: string): Promise<net.Socket | NodeJS.ErrnoException> {
  return new Promise((resolve) => {
    const s = net.createConnection(socketPath);
    const onError = (e: NodeJS.ErrnoException): void => resolve(e);
    s.once('error', onError);
    s.once('connect', () => {
      s.off('error', onError);
      resolve(s);
    });
  });
}

/** One connection to a host daemon, multiplexing requests by id. */
export class ControlClient {
  private readonly socket: net.Socket;
  private readonly pending = new Map<number, Pending>();
  private readonly decoder = new FrameDecoder();
  private nextId = 1;
  private lost: string | undefined;

  constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e) => this.fail(`lost connection to the host daemon: ${e.message}`));
    socket.on('close', () => this.fail('lost connection to the host daemon'));
  }

  private onData(chunk: Buffer): void {
    for (const frame of this.decoder.push(chunk)) {
      const parsed = frame.ok ? parseDaemonMessage(frame.value) : frame;
      if (!parsed.ok) {
        this.fail(`bad reply from the host daemon: ${parsed.error}`);
        this.socket.destroy();
        return;
      }
      const m = parsed.value;
      const p = this.pending.get(m.id);
      if (p === undefined) continue;
      if (m.t === 'result') {
        if (!p.keep) this.pending.delete(m.id);
        p.resolve(m.value);
      } else if (m.t === 'error') {
        this.pending.delete(m.id);
        p.reject(ToolstackError.fromRecord(m.error));
      } else {
        if (m.t === 'closed') this.pending.delete(m.id);
        p.onMessage?.(m);
      }
    }
  }

  private fail(reason: string): void {
    this.lost ??= reason;
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) {
      p.onMessage?.({ t: 'closed', id: 0 });
      p.reject(new ToolstackError('FAIL', `xl: ${reason}`));
    }
  }

  private send(m: ClientMessage): void {
    this.socket.write(encodeFrame(m));
  }

  /** Sends a request; `onMessage` receives progress/data/closed frames for it. */
  request(
    body:
      | { t: 'call'; op: ToolstackOp; args: unknown[] }
      | { t: 'host'; op: 'stop' | 'ping' }
      | { t: 'migrate'; req: MigrateRequest },
    onMessage?: (m: DaemonMessage) => void,
    keep = false,
  ): { id: number; result: Promise<unknown> } {
    const id = this.nextId++;
    const result = new Promise<unknown>((resolve, reject) => {
      if (this.lost !== undefined) {
        reject(new ToolstackError('FAIL', `xl: ${this.lost}`));
        return;
      }
      this.pending.set(
        id,
        onMessage ? { resolve, reject, onMessage, keep } : { resolve, reject, keep },
      );
      this.send({ ...body, id });
    });
    return { id, result };
  }

  call(op: ToolstackOp, args: unknown[], onMessage?: (m: DaemonMessage) => void): Promise<unknown> {
    return this.request({ t: 'call', op, args }, onMessage).result;
  }

  input(id: number, data: Uint8Array): void {
    if (this.lost === undefined) this.send({ t: 'input', id, data });
  }

  detach(id: number): void {
    if (this.lost === undefined) this.send({ t: 'detach', id });
    this.pending.delete(id);
  }

  close(): void {
    this.socket.end();
  }
}

function progressRelay(progress: ProgressCallback): (m: DaemonMessage) => void {
  return (m) => {
    if (m.t === 'progress') progress(m.report);
  };
}

/** ToolstackApi over a ControlClient. Replies are the daemon's records, passed through. */
export class RemoteToolstack implements ToolstackApi, MigrateApi {
  readonly client: ControlClient;

  constructor(client: ControlClient) {
    this.client = client;
  }

  private c<T>(op: ToolstackOp, ...args: unknown[]): Promise<T> {
    return this.client.call(op, args) as Promise<T>;
  }

  listDomains(): Promise<readonly DomainInfo[]> {
    return this.c('listDomains');
  }
  domainInfo(domid: number): Promise<DomainInfo> {
    return this.c('domainInfo', domid);
  }
  domainConfig(domid: number): Promise<Record<string, unknown>> {
    return this.c('domainConfig', domid);
  }
  create(req: CreateRequest): Promise<CreateResult> {
    return this.c('create', req);
  }
  async destroy(domid: number): Promise<void> {
    await this.c('destroy', domid);
  }
  async shutdown(
    domid: number,
    kind: ShutdownKind,
    wait: boolean,
  ): Promise<DeathEvent | undefined> {
    return (await this.c<DeathEvent | null>('shutdown', domid, kind, wait)) ?? undefined;
  }
  async pause(domid: number): Promise<void> {
    await this.c('pause', domid);
  }
  async unpause(domid: number): Promise<void> {
    await this.c('unpause', domid);
  }
  async rename(domid: number, newName: string): Promise<void> {
    await this.c('rename', domid, newName);
  }
  vcpuList(domid?: number): Promise<readonly VcpuInfo[]> {
    return this.c('vcpuList', domid ?? null);
  }
  async vcpuPin(
    domid: number,
    vcpu: number | 'all',
    hard: readonly number[] | null,
    soft: readonly number[] | null,
    force: boolean,
  ): Promise<void> {
    await this.c('vcpuPin', domid, vcpu, hard, soft, force);
  }
  async vcpuSet(domid: number, count: number): Promise<void> {
    await this.c('vcpuSet', domid, count);
  }
  async memSet(domid: number, targetKb: number): Promise<void> {
    await this.c('memSet', domid, targetKb);
  }
  async memMax(domid: number, maxKb: number): Promise<void> {
    await this.c('memMax', domid, maxKb);
  }
  schedCreditGet(pool?: string): Promise<readonly SchedPool<CreditPoolParams>[]> {
    return this.c('schedCreditGet', pool ?? null);
  }
  async schedCreditDomainSet(
    domid: number,
    params: { weight?: number; cap?: number },
  ): Promise<void> {
    await this.c('schedCreditDomainSet', domid, params);
  }
  async schedCreditParamsSet(
    pool: string | undefined,
    params: Partial<CreditPoolParams>,
  ): Promise<void> {
    await this.c('schedCreditParamsSet', pool ?? null, params);
  }
  schedCredit2Get(pool?: string): Promise<readonly SchedPool<Credit2PoolParams>[]> {
    return this.c('schedCredit2Get', pool ?? null);
  }
  async schedCredit2DomainSet(
    domid: number,
    params: { weight?: number; cap?: number },
  ): Promise<void> {
    await this.c('schedCredit2DomainSet', domid, params);
  }
  async schedCredit2ParamsSet(
    pool: string | undefined,
    params: Partial<Credit2PoolParams>,
  ): Promise<void> {
    await this.c('schedCredit2ParamsSet', pool ?? null, params);
  }
  info(): Promise<HostInfo> {
    return this.c('info');
  }
  dmesg(clear: boolean): Promise<string> {
    return this.c('dmesg', clear);
  }
  async save(req: SaveRequest, progress: ProgressCallback): Promise<void> {
    await this.client.call('save', [req], progressRelay(progress));
  }
  async restore(req: RestoreRequest, progress: ProgressCallback): Promise<{ domid: number }> {
    return (await this.client.call('restore', [req], progressRelay(progress))) as { domid: number };
  }
  async blockAttach(domid: number, spec: readonly string[]): Promise<void> {
    await this.c('blockAttach', domid, spec);
  }
  async blockDetach(domid: number, vdev: string, force: boolean): Promise<void> {
    await this.c('blockDetach', domid, vdev, force);
  }
  blockList(domid: number): Promise<readonly DiskInfo[]> {
    return this.c('blockList', domid);
  }
  networkAttach(domid: number, spec: readonly string[]): Promise<number> {
    return this.c('networkAttach', domid, spec);
  }
  async networkDetach(domid: number, device: string): Promise<void> {
    await this.c('networkDetach', domid, device);
  }
  networkList(domid: number): Promise<readonly NicInfo[]> {
    return this.c('networkList', domid);
  }
  bridgeCommand(argv: readonly string[]): Promise<CommandResult> {
    return this.c('bridgeCommand', argv);
  }

  /** `xl migrate`: the daemon sends the domain to the target; events arrive as it goes. */
  async migrate(req: MigrateRequest, onEvent: (e: MigrateEvent) => void): Promise<MigrateResult> {
    const { result } = this.client.request({ t: 'migrate', req }, (m) => {
      if (m.t === 'migrate-event') onEvent(m.event);
    });
    return (await result) as MigrateResult;
  }

  async consoleAttach(domid: number): Promise<ConsoleStream> {
    const dataListeners = new Set<(b: Uint8Array) => void>();
    const closeListeners: (() => void)[] = [];
    // Output that arrives before the caller has subscribed is kept for the first listener.
    let early: Uint8Array[] = [];
    let closed = false;
    const markClosed = (): void => {
      if (closed) return;
      closed = true;
      for (const l of closeListeners) l();
    };
    const { id, result } = this.client.request(
      { t: 'call', op: 'consoleAttach', args: [domid] },
      (m) => {
        if (m.t === 'data') {
          if (dataListeners.size === 0) early.push(m.data);
          for (const l of dataListeners) l(m.data);
        } else if (m.t === 'closed') markClosed();
      },
      true,
    );
    await result;
    return {
      onData: (l) => {
        dataListeners.add(l);
        const pending = early;
        early = [];
        for (const b of pending) l(b);
        return () => dataListeners.delete(l);
      },
      onClose: (l) => {
        if (closed) l();
        else closeListeners.push(l);
      },
      write: (bytes) => this.client.input(id, bytes),
      close: () => {
        this.client.detach(id);
        markClosed();
      },
    };
  }
}
