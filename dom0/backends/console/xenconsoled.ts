// The console backend daemon (tools/console/daemon/io.c: domain_create_ring, handle_ring_read,
// buffer_append, handle_tty_read/write): for each domain with `console/port` in xenstore it maps the
// console page through the reserved grant ref 0, binds the event channel, drains the guest's output
// into a bounded log and to attached clients (`xl console`), and feeds their input into the `in` ring.

import { GNTST_okay, GNTTAB_RESERVED_CONSOLE } from '../../../hypercalls/grant-table.js';
import {
  XENCONSOLE_CONNECTED,
  xenconsReadOut,
  xenconsWriteIn,
  writeXenconsConnection,
} from '../../../hypercalls/io/console.js';
import type { BackendPlatform, BackendWatch, GrantMapping } from '../platform.js';
import { ConsoleLog } from './console-log.js';

/** libxl's default `console/limit`: 1 MiB of buffered output per domain. */
export const DEFAULT_CONSOLE_LIMIT_BYTES = 1 << 20;

/** A client attached to one domain's console (the shape the toolstack's ConsoleStream has). */
export interface ConsoleAttachment {
  /** Guest output from now on (after the buffered log); returns a function that stops delivery. */
  onData(listener: (bytes: Uint8Array) => void): () => void;
  /** Called once when the console goes away (domain destroyed). */
  onClose(listener: () => void): void;
  /** Input for the guest (queued while the `in` ring is full). */
  write(bytes: Uint8Array): void;
  /** Detach; the domain keeps running. */
  close(): void;
}

interface Client {
  readonly data: Set<(bytes: Uint8Array) => void>;
  readonly closed: Set<() => void>;
  attached: boolean;
}

/** One domain's console connection. */
export class DomainConsole {
  readonly domid: number;
  readonly log: ConsoleLog;
  /** Why the console could not be served, if it could not. */
  error: string | null = null;
  private readonly p: BackendPlatform;
  private mapping: GrantMapping | null = null;
  private view: DataView | null = null;
  private port = -1;
  private readonly clients = new Set<Client>();
  private pendingInput: Uint8Array[] = [];

  constructor(platform: BackendPlatform, domid: number, limitBytes: number) {
    this.p = platform;
    this.domid = domid;
    this.log = new ConsoleLog(limitBytes);
  }

  get connected(): boolean {
    return this.view !== null;
  }

  /** domain_create_ring: map grant ref 0, bind `console/port`, mark the page connected. */
  connect(remotePort: number): boolean {
    const m = this.p.grants.map(this.domid, GNTTAB_RESERVED_CONSOLE, false);
    if (m.status !== GNTST_okay || m.bytes === undefined) {
      this.error = `mapping the console page of domain ${this.domid}: status ${m.status}`;
      return false;
    }
    const port = this.p.evtchn.bindInterdomain(this.domid, remotePort);
    if (port < 0) {
      this.p.grants.unmap(m);
      this.error = `binding console port ${remotePort} of domain ${this.domid}: errno ${-port}`;
      return false;
    }
    this.mapping = m;
    this.view = new DataView(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength);
    this.port = port;
    writeXenconsConnection(this.view, XENCONSOLE_CONNECTED);
    this.p.evtchn.listen(port, () => this.service());
    this.service();
    return true;
  }

  /** handle_ring_read and the input side: drain `out`, push queued input, notify the guest. */
  service(): void {
    const v = this.view;
    if (v === null) return;
    let moved = false;
    for (;;) {
      const r = xenconsReadOut(v);
      if (!r.ok) {
        // A guest scribbling on its indices loses its console, nothing else.
        this.error = `domain ${this.domid}: ${r.error}`;
        this.disconnect();
        return;
      }
      if (r.value.length === 0) break;
      moved = true;
      this.log.append(r.value);
      for (const c of this.clients) for (const l of c.data) l(r.value);
    }
    if (this.flushInput()) moved = true;
    if (moved) this.p.evtchn.send(this.port);
  }

  private flushInput(): boolean {
    const v = this.view;
    if (v === null) return false;
    let moved = false;
    while (this.pendingInput.length > 0) {
      const head = this.pendingInput[0] as Uint8Array;
      const w = xenconsWriteIn(v, head);
      if (!w.ok) {
        this.pendingInput = [];
        return moved;
      }
      if (w.value > 0) moved = true;
      if (w.value < head.length) {
        this.pendingInput[0] = head.subarray(w.value);
        break;
      }
      this.pendingInput.shift();
    }
    return moved;
  }

  /** Input from a client: into `in` now, or queued until the guest makes room. */
  input(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.pendingInput.push(bytes.slice());
    if (this.flushInput()) this.p.evtchn.send(this.port);
  }

  attach(replay: boolean): ConsoleAttachment {
    const c: Client = { data: new Set(), closed: new Set(), attached: true };
    this.clients.add(c);
    const backlog = replay ? this.log.contents() : new Uint8Array(0);
    return {
      onData: (listener) => {
        if (backlog.length > 0 && c.data.size === 0) listener(backlog);
        c.data.add(listener);
        return () => c.data.delete(listener);
      },
      onClose: (listener) => {
        if (!c.attached) listener();
        else c.closed.add(listener);
      },
      write: (bytes) => {
        if (c.attached) this.input(bytes);
      },
      close: () => {
        c.attached = false;
        c.data.clear();
        this.clients.delete(c);
      },
    };
  }

  /** The domain went away: unbind, unmap, tell every client. */
  disconnect(): void {
    if (this.port >= 0) this.p.evtchn.close(this.port);
    this.port = -1;
    if (this.mapping) this.p.grants.unmap(this.mapping);
    this.mapping = null;
    this.view = null;
    for (const c of [...this.clients]) {
      c.attached = false;
      for (const l of c.closed) l();
      this.clients.delete(c);
    }
  }
}

/** The daemon: one DomainConsole per guest domain, found through xenstore. */
export class Xenconsoled {
  readonly consoles = new Map<number, DomainConsole>();
  private readonly p: BackendPlatform;
  private watch: BackendWatch | undefined;

  constructor(platform: BackendPlatform) {
    this.p = platform;
  }

  /** Watches `/local/domain` so domains are served as the toolstack writes their console nodes. */
  start(): boolean {
    this.watch = this.p.xs.watch('/local/domain', (path) => this.changed(path));
    return this.watch !== undefined;
  }

  stop(): void {
    if (this.watch !== undefined) this.p.xs.unwatch(this.watch);
    this.watch = undefined;
    for (const c of this.consoles.values()) c.disconnect();
    this.consoles.clear();
  }

  private changed(path: string): void {
    const m = /^\/local\/domain(?:\/([0-9]{1,5}))?/.exec(path);
    if (!m) return;
    if (m[1] === undefined) {
      for (const d of this.p.xs.directory('/local/domain')) {
        if (/^[0-9]{1,5}$/.test(d)) this.addDomain(Number(d));
      }
      for (const id of [...this.consoles.keys()]) this.checkGone(id);
      return;
    }
    const domid = Number(m[1]);
    if (this.consoles.has(domid)) this.checkGone(domid);
    else this.addDomain(domid);
  }

  private checkGone(domid: number): void {
    if (this.p.xs.read(`/local/domain/${domid}/console/port`) === undefined) {
      this.removeDomain(domid);
    }
  }

  /** Serves `domid`'s console once its `console/port` exists; true when connected. */
  addDomain(domid: number): boolean {
    if (domid === this.p.domid) return false;
    const known = this.consoles.get(domid);
    if (known?.connected) return true;
    const portText = this.p.xs.read(`/local/domain/${domid}/console/port`);
    const port = portText !== undefined && /^[0-9]{1,10}$/.test(portText) ? Number(portText) : -1;
    if (port < 0) return false;
    const limitText = this.p.xs.read(`/local/domain/${domid}/console/limit`);
    const limit =
      limitText !== undefined && /^[0-9]{1,10}$/.test(limitText)
        ? Math.min(Number(limitText), DEFAULT_CONSOLE_LIMIT_BYTES)
        : DEFAULT_CONSOLE_LIMIT_BYTES;
    const c = known ?? new DomainConsole(this.p, domid, limit);
    this.consoles.set(domid, c);
    return c.connect(port);
  }

  removeDomain(domid: number): void {
    this.consoles.get(domid)?.disconnect();
    this.consoles.delete(domid);
  }

  /** `xl console`: a byte stream of output (the buffered log first) and a write function for input. */
  attach(domid: number, replay = true): ConsoleAttachment | undefined {
    const c =
      this.consoles.get(domid) ?? (this.addDomain(domid) ? this.consoles.get(domid) : undefined);
    return c?.connected ? c.attach(replay) : undefined;
  }

  /** The bounded output log of `domid` (what the daemon kept), or undefined. */
  log(domid: number): Uint8Array | undefined {
    return this.consoles.get(domid)?.log.contents();
  }
}
