// Diagnostics for xl configuration parsing, shaped like libxlu's reports
// (tools/libs/util/libxlu_cfg.c: "<source>:<line>: config parsing error near `x': msg").

/** Where a diagnostic points: a file (or "command line") and a 1-based line and column. */
export interface SourceLocation {
  readonly source: string;
  readonly line: number;
  readonly column: number;
}

/** One problem found in a configuration: what is wrong, and what to do about it. */
export interface ConfigDiagnostic extends SourceLocation {
  /** The object and the cause, e.g. "disk spec `hda,w': no vdev specified". */
  readonly message: string;
  /** How to fix it. */
  readonly hint: string;
}

/** A non-fatal remark xl also prints (on stderr) while parsing, e.g. ignored keys. */
export interface ConfigWarning {
  readonly source: string;
  readonly line: number;
  readonly message: string;
}

export type ConfigResult<T> =
  | { readonly ok: true; readonly value: T; readonly warnings: readonly ConfigWarning[] }
  | { readonly ok: false; readonly errors: readonly ConfigDiagnostic[] };

export function configOk<T>(value: T, warnings: readonly ConfigWarning[] = []): ConfigResult<T> {
  return { ok: true, value, warnings };
}

export function configErr<T>(errors: readonly ConfigDiagnostic[]): ConfigResult<T> {
  return { ok: false, errors };
}

/** One diagnostic as the CLI prints it: `file:line:column: message` then an indented hint. */
export function formatDiagnostic(d: ConfigDiagnostic): string {
  const head = `${d.source}:${d.line}:${d.column}: ${d.message}`;
  return d.hint === '' ? head : `${head}\n  ${d.hint}`;
}

/**
 * The typed error the CLI catches and prints: every diagnostic of a failed parse.
 * Thrown only by `unwrapConfig`; the parsing functions themselves return results.
 */
export class ConfigError extends Error {
  readonly diagnostics: readonly ConfigDiagnostic[];

  constructor(diagnostics: readonly ConfigDiagnostic[]) {
    super(diagnostics.map(formatDiagnostic).join('\n'));
    this.name = 'ConfigError';
    this.diagnostics = diagnostics;
  }
}

/** The value of a successful result, or a thrown ConfigError carrying all diagnostics. */
export function unwrapConfig<T>(r: ConfigResult<T>): T {
  if (!r.ok) throw new ConfigError(r.errors);
  return r.value;
}
