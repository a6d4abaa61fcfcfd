// Runs the standalone daemon directly: `node dist/dom0/xenstored/xenstored-bin.js --socket PATH`.

import { runXenstored } from './main.js';

runXenstored(process.argv.slice(2)).catch(() => {
  process.exitCode ||= 1;
});
