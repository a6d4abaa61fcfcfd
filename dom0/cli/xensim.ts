#!/usr/bin/env node
// The `xensim` executable: host daemons (`xensim host start|stop|list`), the standalone xenstored,
// and the demos. `xl` is its own executable.

import { hostMain } from '../host/main.js';
import { runXenstored } from '../xenstored/main.js';
import { demoMain } from './demo.js';

const USAGE = `Usage: xensim <command> [options]

Commands:
  host start|stop|list   run and manage simulated hosts (xensim host --help)
  xenstored --socket P   run xenstored alone on a Unix socket
  demo                   a short scheduling demo: domains with different weights share pCPUs

Drive a host with xl (xl create, xl list, ...). Docs: docs/ in the package.
`;

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'host':
      return hostMain(rest, { stdout: process.stdout, stderr: process.stderr, env: process.env });
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

process.exitCode = await main(process.argv.slice(2));
