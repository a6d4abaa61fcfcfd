// Which host daemon `xl` talks to, and starting the default one when none runs (xensim's
// stand-in for xl opening libxl on the local dom0; architecture section 7).

import { connectSocket, ControlClient, RemoteToolstack } from '../host/control-client.js';
import { DEFAULT_HOST_NAME, hostPaths, isValidHostName, runtimeDir } from '../host/runtime-dir.js';
import type { Env } from '../host/runtime-dir.js';
import { spawnHostDaemon } from '../host/spawn.js';

export type Connected = { ok: true; api: RemoteToolstack } | { ok: false; message: string };

/** `--host`, else $XENSIM_HOST, else `default`. */
export function selectedHost(explicit: string | undefined, env: Env): string {
  return (
    explicit ??
    (env.XENSIM_HOST !== undefined && env.XENSIM_HOST !== '' ? env.XENSIM_HOST : DEFAULT_HOST_NAME)
  );
}

/**
 * Connects to the named host. The default host is started in the background when its socket
 * does not answer, unless $XENSIM_NO_AUTOSTART is set.
 */
export async function connectHost(name: string, env: Env): Promise<Connected> {
  if (!isValidHostName(name)) return { ok: false, message: `xl: invalid host name '${name}'` };
  const dir = runtimeDir(env);
  const paths = hostPaths(dir, name);
  let socket = await connectSocket(paths.socket);
  if (socket instanceof Error) {
    const autoStart = name === DEFAULT_HOST_NAME && (env.XENSIM_NO_AUTOSTART ?? '') === '';
    if (!autoStart) {
      return {
        ok: false,
        message: `xl: cannot connect to host '${name}' (${paths.socket}: ${socket.code ?? socket.message}); start it with: xensim host start --name ${name}`,
      };
    }
    const started = await spawnHostDaemon(name, [], dir, env);
    if (!started.ok) return { ok: false, message: `xl: ${started.message}` };
    socket = await connectSocket(paths.socket);
    if (socket instanceof Error) {
      return {
        ok: false,
        message: `xl: host '${name}' started but its socket does not answer: ${socket.message}`,
      };
    }
  }
  return { ok: true, api: new RemoteToolstack(new ControlClient(socket)) };
}
