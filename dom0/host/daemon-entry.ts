// Process entry of a background host daemon (spawned by `xensim host start` and by `xl`'s
// auto-start): runs `xensim host start --foreground` with the arguments it was given.

import { hostMain } from './main.js';

process.exitCode = await hostMain(['start', '--foreground', ...process.argv.slice(2)], {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
});
