#!/usr/bin/env node
// The `xl` executable: xl's command line over a host daemon (tools/xl/xl.c).

import { xlMain } from '../xl/main.js';

process.exitCode = await xlMain(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
});
