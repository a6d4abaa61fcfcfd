// The daemon side of one control-socket connection: decodes requests, calls the ToolstackApi,
// frames the replies (xensim's stand-in for xl calling libxl in-process, tools/xl/xl.c).

import type * as net from 'node:net';
import { ToolstackError } from '../toolstack/api.js';
import type {
  ConsoleStream,
  MigrateApi,
  ToolstackApi,
  ToolstackErrorRecord,
  ToolstackOp,
} from '../toolstack/api.js';
import {
  encodeFrame,
  FrameDecoder,
  parseClientMessage,
  PROGRESS_OPS,
  requestIdOf,
} from './control-protocol.js';
import type { ClientMessage, DaemonMessage } from './control-protocol.js';

export interface ConnectionHooks {
  /** A client asked the host to stop. */
  onStopRequest(): void;
  /** The host's record, for `ping`. */
  hostRecord(): unknown;
  log(line: string): void;
  /** `xl migrate` (absent: the host cannot migrate). */
  readonly migration?: MigrateApi;
}

function errorRecord(e: unknown): ToolstackErrorRecord {
  if (e instanceof ToolstackError) return e.toRecord();
  return {
    code: 'FAIL',
    message: `xensim: internal toolstack error: ${(e as Error)?.message ?? String(e)}`,
  };
}

type ApiMethod = (...args: unknown[]) => Promise<unknown>;

/** Serves one client connection until it closes; never throws on client input. */
export function serveConnection(
  socket: net.Socket,
  api: ToolstackApi,
  hooks: ConnectionHooks,
): void {
  const decoder = new FrameDecoder();
  const consoles = new Map<number, ConsoleStream>();
  let open = true;

  const send = (m: DaemonMessage): void => {
    // A client that went away mid-request simply gets nothing.
    if (open && !socket.destroyed && socket.writable) socket.write(encodeFrame(m));
  };

  const closeConsoles = (): void => {
    for (const c of consoles.values()) {
      try {
        c.close();
      } catch (e) {
        hooks.log(`console close failed: ${(e as Error).message}`);
      }
    }
    consoles.clear();
  };

  socket.on('error', (e) => hooks.log(`control connection error: ${e.message}`));
  socket.on('close', () => {
    open = false;
    closeConsoles();
  });

  socket.on('data', (chunk: Buffer) => {
    for (const frame of decoder.push(chunk)) {
      if (!frame.ok) {
        hooks.log(`control connection: ${frame.error}`);
        if (decoder.isBroken) {
          send({
            t: 'error',
            id: 0,
            error: { code: 'INVAL', message: `xensim: protocol error: ${frame.error}` },
          });
          socket.end();
          open = false;
          return;
        }
        continue;
      }
      const parsed = parseClientMessage(frame.value);
      if (!parsed.ok) {
        hooks.log(`control connection: ${parsed.error}`);
        send({
          t: 'error',
          id: requestIdOf(frame.value) ?? 0,
          error: { code: 'INVAL', message: `xensim: protocol error: ${parsed.error}` },
        });
        continue;
      }
      handle(parsed.value);
    }
  });

  function handle(m: ClientMessage): void {
    switch (m.t) {
      case 'call':
        if (m.op === 'consoleAttach') {
          attachConsole(m.id, m.args[0] as number);
          return;
        }
        call(m.id, m.op, m.args);
        return;
      case 'input':
        consoles.get(m.id)?.write(m.data);
        return;
      case 'detach': {
        const c = consoles.get(m.id);
        consoles.delete(m.id);
        c?.close();
        send({ t: 'closed', id: m.id });
        return;
      }
      case 'migrate':
        migrate(m.id, m.req);
        return;
      case 'host':
        if (m.op === 'ping') {
          send({ t: 'result', id: m.id, value: hooks.hostRecord() });
        } else {
          send({ t: 'result', id: m.id, value: null });
          hooks.onStopRequest();
        }
        return;
    }
  }

  function call(id: number, op: ToolstackOp, args: unknown[]): void {
    const method = (api[op] as ApiMethod).bind(api);
    const callArgs = PROGRESS_OPS.has(op)
      ? [...args, (report: unknown) => send({ t: 'progress', id, report: report as never })]
      : args;
    let pending: Promise<unknown>;
    try {
      pending = method(...callArgs);
    } catch (e) {
      pending = Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
    pending.then(
      (value) => send({ t: 'result', id, value: value ?? null }),
      (e: unknown) => send({ t: 'error', id, error: errorRecord(e) }),
    );
  }

  function migrate(id: number, req: Parameters<MigrateApi['migrate']>[0]): void {
    if (hooks.migration === undefined) {
      send({
        t: 'error',
        id,
        error: { code: 'NI', message: 'xl: this host cannot migrate domains' },
      });
      return;
    }
    let pending: Promise<unknown>;
    try {
      pending = hooks.migration.migrate(req, (event) => send({ t: 'migrate-event', id, event }));
    } catch (e) {
      pending = Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
    pending.then(
      (value) => send({ t: 'result', id, value }),
      (e: unknown) => send({ t: 'error', id, error: errorRecord(e) }),
    );
  }

  function attachConsole(id: number, domid: number): void {
    api.consoleAttach(domid).then(
      (stream) => {
        if (!open) {
          stream.close();
          return;
        }
        consoles.set(id, stream);
        stream.onData((data) => send({ t: 'data', id, data }));
        stream.onClose(() => {
          if (consoles.delete(id)) send({ t: 'closed', id });
        });
        send({ t: 'result', id, value: null });
      },
      (e: unknown) => send({ t: 'error', id, error: errorRecord(e) }),
    );
  }
}
