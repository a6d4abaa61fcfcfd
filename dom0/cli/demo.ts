// `xensim demo`: a short scheduling demonstration a user can watch. Several CPU-bound domains with
// different credit weights share the pCPUs; each domain's CPU share is printed next to the share
// its weight entitles it to (Xen's credit scheduler gives 256:512 -> 1:2 on one pCPU).

import yargs from 'yargs';
import { schedulingDemo } from '../host/compose.js';

export interface DemoIo {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
}

export async function demoMain(argv: string[], io: DemoIo): Promise<number> {
  let failed: string | undefined;
  const args = await yargs(argv)
    .scriptName('xensim demo')
    .usage('$0 [options]')
    .option('weights', {
      type: 'string',
      default: '128,256,512',
      describe: 'credit weights, one CPU-bound domain each',
    })
    .option('caps', {
      type: 'string',
      default: '',
      describe: 'caps in % of one pCPU, by domain (0 = none)',
    })
    .option('pcpus', { type: 'number', default: 1, describe: 'physical CPUs of the host' })
    .option('sched', {
      choices: ['credit', 'credit2'] as const,
      default: 'credit' as const,
      describe: 'scheduler',
    })
    .option('seconds', { type: 'number', default: 3, describe: 'simulated seconds to run' })
    .option('seed', { type: 'number', default: 1, describe: 'seed of the run' })
    .strict()
    .exitProcess(false)
    .fail((msg) => {
      failed = msg;
    })
    .parseAsync();
  if (failed !== undefined) {
    io.stderr.write(`xensim demo: ${failed}\n`);
    return 2;
  }
  const parseList = (s: string, what: string, min: number, max: number): number[] | string => {
    if (s.trim() === '') return [];
    const xs = s.split(',').map((x) => Number(x.trim()));
    const bad = xs.find((x) => !Number.isInteger(x) || x < min || x > max);
    return bad === undefined
      ? xs
      : `--${what} takes integers from ${min} to ${max}, separated by commas (got '${s}')`;
  };
  const weights = parseList(args.weights, 'weights', 1, 65535);
  const caps = parseList(args.caps, 'caps', 0, 100 * 128);
  for (const v of [weights, caps]) {
    if (typeof v === 'string') {
      io.stderr.write(`xensim demo: ${v}\n`);
      return 2;
    }
  }
  if (!Number.isInteger(args.pcpus) || args.pcpus < 1 || args.pcpus > 256) {
    io.stderr.write('xensim demo: --pcpus takes an integer from 1 to 256\n');
    return 2;
  }
  if (!(args.seconds > 0 && args.seconds <= 600)) {
    io.stderr.write('xensim demo: --seconds takes a number of simulated seconds in (0, 600]\n');
    return 2;
  }
  const ws = weights as number[];
  const rows = schedulingDemo({
    weights: ws.length ? ws : [128, 256, 512],
    caps: caps as number[],
    nrPcpus: args.pcpus,
    scheduler: args.sched,
    seconds: args.seconds,
    seed: args.seed,
  });
  io.stdout.write(
    `Scheduler ${args.sched}, ${args.pcpus} pCPU(s), ${args.seconds} simulated s, seed ${args.seed}\n` +
      `${'Domain'.padEnd(10)}${'Weight'.padStart(7)}${'Cap'.padStart(5)}${'CPU(s)'.padStart(10)}${'Share'.padStart(9)}${'By weight'.padStart(11)}\n`,
  );
  for (const r of rows) {
    io.stdout.write(
      `${`dom${r.domid}`.padEnd(10)}${String(r.weight).padStart(7)}${String(r.cap).padStart(5)}` +
        `${(r.cpuTimeNs / 1e9).toFixed(2).padStart(10)}${`${(r.share * 100).toFixed(1)}%`.padStart(9)}` +
        `${`${(r.expectedShare * 100).toFixed(1)}%`.padStart(11)}\n`,
    );
  }
  return 0;
}
