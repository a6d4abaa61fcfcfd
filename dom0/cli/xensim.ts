#!/usr/bin/env node
// The `xensim` executable: host daemons (`xensim host start|stop|list`), the standalone xenstored,
// and the demos. `xl` is its own executable.

import { hostMain } from '../host/main.js';
import { connectHost, selectedHost } from '../xl/connect.js';
import { runXenstored } from '../xenstored/main.js';
import { demoMain } from './demo.js';

const USAGE = `Usage: xensim <command> [options]

Commands:
  host start|stop|list|status
                         run and manage simulated hosts (xensim host --help)
  xenstored --socket P   run xenstored alone on a Unix socket
  demo                   a short scheduling demo: domains with different weights share pCPUs
  bridge add|del [-f]|list [--json]|macs <br>|ports <br> [--host NAME]
                         the host's bridges (vifs attach to xenbr0 unless their bridge= says)

Drive a host with xl (xl create, xl list, ...). Docs: docs/ in the package.
`;

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'host':
      return hostMain(rest, { stdout: process.stdout, stderr: process.stderr, env: process.env });
    case 'bridge':
      return bridgeMain(rest);
    case 'demo':
      return demoMain(rest, { stdout: process.stdout, stderr: process.stderr });
    case 'xenstored':
      try {
        const srv = await runXenstored(rest);
        process.stderr.write(`xenstored: listening on ${srv.path}\n`);
        return 0; // the server keeps the process alive until SIGINT/SIGTERM
      } catch {
        return 2;
      }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return cmd === undefined ? 2 : 0;
    default:
      process.stderr.write(`xensim: unknown command '${cmd}'\n\n${USAGE}`);
      return 2;
  }
}

/** `xensim bridge …` against a running host daemon (`--host NAME`, else $XENSIM_HOST, else default). */
async function bridgeMain(argv: string[]): Promise<number> {
  const i = argv.indexOf('--host');
  const hostName = i >= 0 ? argv[i + 1] : undefined;
  const args = i >= 0 ? [...argv.slice(0, i), ...argv.slice(i + 2)] : argv;
  const c = await connectHost(selectedHost(hostName, process.env), process.env);
  if (!c.ok) {
    process.stderr.write(`${c.message.replace(/^xl:/, 'xensim bridge:')}\n`);
    return 1;
  }
  try {
    const r = await c.api.bridgeCommand(args);
    process.stdout.write(r.stdout);
    process.stderr.write(r.stderr);
    return r.exitCode;
  } catch (e) {
    process.stderr.write(`xensim bridge: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  } finally {
    c.api.client.close();
  }
}

process.exitCode = await main(process.argv.slice(2));
