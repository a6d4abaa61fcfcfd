// Argument parsers xl shares between commands: memory sizes (tools/xl/xl_cmdimpl.c
// parse_mem_size_kb) and CPU lists (tools/xl/xl_parse.c parse_cpurange, the plain forms).

/**
 * parse_mem_size_kb: a decimal number with an optional one-letter suffix t/g/m/k/b (any case);
 * no suffix means MiB. Returns KiB, or undefined where xl returns -1.
 */
export function parseMemSizeKb(text: string): number | undefined {
  const m = /^\s*([+-]?\d+)(.*)$/.exec(text);
  // strtoll of no digits gives 0 with the whole string left over.
  const digits = m?.[1] ?? '0';
  const suffix = m ? (m[2] ?? '') : text;
  if (suffix.length > 1) return undefined;
  const n = Number.parseInt(digits, 10);
  switch (suffix.toLowerCase()) {
    case 't':
      return n * 1024 * 1024 * 1024;
    case 'g':
      return n * 1024 * 1024;
    case '':
    case 'm':
      return n * 1024;
    case 'k':
      return n;
    case 'b':
      return Math.floor(n / 1024);
    default:
      return undefined;
  }
}

/**
 * A CPU list: `all`, `N`, `N-M`, `^N` / `^N-M` (remove), joined by commas. Returns the sorted
 * CPU numbers below `nrCpus`, or an error message in xl's words.
 */
export function parseCpuRange(
  text: string,
  nrCpus: number,
): { ok: true; cpus: number[] } | { ok: false; error: string } {
  const set = new Set<number>();
  for (const raw of text.split(',')) {
    const negate = raw.startsWith('^');
    const part = negate ? raw.slice(1) : raw;
    let lo: number;
    let hi: number;
    if (part === 'all') {
      lo = 0;
      hi = nrCpus - 1;
    } else {
      const m = /^(\d+)(?:-(\d+))?$/.exec(part);
      if (!m) return { ok: false, error: `Invalid argument: ${text}` };
      lo = Number(m[1]);
      hi = m[2] === undefined ? lo : Number(m[2]);
      if (hi < lo) return { ok: false, error: `Invalid argument: ${text}` };
    }
    for (let c = lo; c <= hi; c++) {
      if (negate) set.delete(c);
      else set.add(c);
    }
  }
  return { ok: true, cpus: [...set].filter((c) => c < nrCpus).sort((a, b) => a - b) };
}
