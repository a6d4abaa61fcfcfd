// Entry point of the standalone daemon (`xensim xenstored --socket PATH`), like C xenstored run
// with --no-domain-init: the store served on a Unix socket until SIGINT/SIGTERM.

import { rmSync } from 'node:fs';
import { defaultSocketPath, listenXenstored, type XenstoredServer } from './socket-server.js';

export interface XenstoredArgs {
  socketPath: string;
}

export function parseXenstoredArgs(
  argv: readonly string[],
  env = process.env,
): XenstoredArgs | string {
  let socketPath: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--socket' || a === '-s') {
      const v = argv[++i];
      if (!v) return `${a} needs a path`;
      socketPath = v;
    } else if (a.startsWith('--socket=')) socketPath = a.slice('--socket='.length);
    else if (a === '--help' || a === '-h') return 'usage: xensim xenstored [--socket PATH]';
    else return `unknown argument: ${a}`;
  }
  return { socketPath: socketPath ?? defaultSocketPath(env) };
}

/** Runs the daemon; resolves once it is listening, with a handle to stop it. */
export async function runXenstored(argv: readonly string[]): Promise<XenstoredServer> {
  const args = parseXenstoredArgs(argv);
  if (typeof args === 'string') {
    process.stderr.write(`xenstored: ${args}\n`);
    process.exitCode = 2;
    throw new Error(args);
  }
  const srv = await listenXenstored(args.socketPath);
  const stop = (): void => {
    void srv.close().then(() => {
      rmSync(args.socketPath, { force: true });
      process.exit(0);
    });
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  process.stdout.write(`xenstored: listening on ${args.socketPath}\n`);
  return srv;
}
