// Settings store and typed readers over parsed statements, with libxlu's semantics
// (tools/libs/util/libxlu_cfg.c): the last assignment wins, `+=` concatenates strings or
// lists, numbers are read like strtol(…, 0) and refuse `+=`, BOOLEAN is a number.

import type { ConfigDiagnostic, ConfigWarning } from './errors.js';
import type { AssignOp, ConfigAtom, ConfigList, ConfigValue, ParsedConfig } from './parser.js';

export interface Setting {
  readonly key: string;
  readonly op: AssignOp;
  readonly value: ConfigValue;
  readonly source: string;
  readonly line: number;
  readonly column: number;
}

interface Located {
  readonly source: string;
  readonly line: number;
  readonly column: number;
}

/** The settings of one configuration after all statements (file, then overrides) applied. */
export class ConfigSettings {
  private readonly byKey = new Map<string, Setting>();

  get(key: string): Setting | undefined {
    return this.byKey.get(key);
  }

  keys(): string[] {
    return [...this.byKey.keys()];
  }

  /**
   * Applies statements in order. `KEY += VALUE` joins VALUE onto the current value of KEY
   * (both strings or both lists) and remembers the `+=`; a type mismatch is an error.
   */
  apply(parsed: ParsedConfig, errors: ConfigDiagnostic[]): void {
    for (const st of parsed.statements) {
      let value = st.value;
      const prev = this.byKey.get(st.key);
      if (st.op === '+=' && prev) {
        if (prev.value.kind !== value.kind) {
          errors.push({
            source: st.source,
            line: st.line,
            column: st.column,
            message: `config parsing error near \`${st.key}': can't add [list] to "string" or vice versa (\`${st.key}' is a ${prev.value.kind === 'list' ? 'list' : 'single value'})`,
            hint: `append the same kind of value: ${prev.value.kind === 'list' ? `${st.key} += [ "item" ]` : `${st.key} += "text"`}`,
          });
          continue;
        }
        value =
          value.kind === 'list' && prev.value.kind === 'list'
            ? { ...value, items: [...prev.value.items, ...value.items] }
            : {
                ...(value as ConfigAtom),
                text: (prev.value as ConfigAtom).text + (value as ConfigAtom).text,
              };
      }
      this.byKey.set(st.key, {
        key: st.key,
        op: st.op,
        value,
        source: st.source,
        line: st.line,
        column: st.column,
      });
    }
  }
}

/** strtol(text, &ep, 0) that must consume the whole text; undefined if it is not a number. */
export function parseCLong(text: string): number | undefined {
  const m = /^[ \t\n\v\f\r]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(text);
  if (!m) return undefined;
  const digits = m[2] ?? '';
  let n: number;
  if (/^0[xX]/.test(digits)) n = Number.parseInt(digits.slice(2), 16);
  else if (digits.length > 1 && digits.startsWith('0')) n = Number.parseInt(digits.slice(1), 8);
  else n = Number.parseInt(digits, 10);
  if (!Number.isSafeInteger(n)) return undefined;
  return m[1] === '-' ? -n : n;
}

export interface LongBounds {
  readonly min?: number;
  readonly max?: number;
}

/**
 * Typed reads of settings. Problems are collected, not thrown: read everything, then look at
 * `errors` (xl prints libxlu's warnings and carries on; we treat a malformed value as an error).
 */
export class ConfigReader {
  readonly errors: ConfigDiagnostic[] = [];
  readonly warnings: ConfigWarning[] = [];
  readonly settings: ConfigSettings;

  constructor(settings: ConfigSettings) {
    this.settings = settings;
  }

  error(at: Located, message: string, hint: string): void {
    this.errors.push({ source: at.source, line: at.line, column: at.column, message, hint });
  }

  warn(at: Located | undefined, message: string): void {
    this.warnings.push({ source: at?.source ?? '', line: at?.line ?? 0, message });
  }

  has(key: string): boolean {
    return this.settings.get(key) !== undefined;
  }

  /** The setting of `key` (for its location), if present. */
  at(key: string): Setting | undefined {
    return this.settings.get(key);
  }

  /** A single value; a list is an error. */
  string(key: string): string | undefined {
    const s = this.settings.get(key);
    if (!s) return undefined;
    if (s.value.kind !== 'atom') {
      this.error(
        s.value,
        `parameter \`${key}' is a list but should be a single value`,
        `write ${key} = "VALUE" without [ ]`,
      );
      return undefined;
    }
    return s.value.text;
  }

  /**
   * An integer, checked against bounds; `+=`, non-numbers and out-of-range values are errors.
   * DEVIATION(xen): libxlu only warns about these and xl then ignores the key; we refuse them,
   * so a typo cannot silently leave a guest at a default.
   */
  long(key: string, bounds: LongBounds = {}): number | undefined {
    const s = this.settings.get(key);
    if (!s) return undefined;
    const text = this.string(key);
    if (text === undefined) return undefined;
    if (s.op === '+=') {
      this.error(
        s,
        `can't use += with numbers for parameter \`${key}'`,
        `write ${key} = NUMBER with the final value`,
      );
      return undefined;
    }
    const n = parseCLong(text);
    if (n === undefined) {
      this.error(
        s.value,
        `parameter \`${key}' is not a valid number: \`${text}'`,
        `write a decimal, 0octal or 0xhex integer, e.g. ${key} = ${exampleFor(key)}`,
      );
      return undefined;
    }
    if (bounds.min !== undefined && n < bounds.min) {
      this.error(
        s.value,
        `parameter \`${key}' value ${n} is smaller than the minimum ${bounds.min}`,
        `use a value of at least ${bounds.min}`,
      );
      return undefined;
    }
    if (bounds.max !== undefined && n > bounds.max) {
      this.error(
        s.value,
        `parameter \`${key}' value ${n} is greater than the maximum ${bounds.max}`,
        `use a value of at most ${bounds.max}`,
      );
      return undefined;
    }
    return n;
  }

  /** The number `key` holds, or undefined (and no error) if absent, a list or not a number. */
  tryLong(key: string): number | undefined {
    const s = this.settings.get(key);
    if (!s || s.value.kind !== 'atom' || s.op === '+=') return undefined;
    return parseCLong(s.value.text);
  }

  /** A BOOLEAN: a number, 0 is false and anything else true. */
  defbool(key: string): boolean | undefined {
    const n = this.long(key);
    return n === undefined ? undefined : n !== 0;
  }

  /** A list; a single value is an error. */
  list(key: string): ConfigList | undefined {
    const s = this.settings.get(key);
    if (!s) return undefined;
    if (s.value.kind !== 'list') {
      this.error(
        s.value,
        `parameter \`${key}' is a single value but should be a list`,
        `write ${key} = [ "VALUE" ]`,
      );
      return undefined;
    }
    return s.value;
  }

  /** A list of strings; a nested list inside is an error. */
  stringList(key: string): { items: string[]; atoms: ConfigAtom[] } | undefined {
    const l = this.list(key);
    if (!l) return undefined;
    const atoms: ConfigAtom[] = [];
    for (const [i, v] of l.items.entries()) {
      if (v.kind !== 'atom') {
        // DEVIATION(xen): xl stops reading the list at the first non-string item, silently.
        this.error(
          v,
          `item ${i} of \`${key}' is a list but should be a string`,
          `write each ${key} item as a quoted string: ${key} = [ "…", "…" ]`,
        );
        return undefined;
      }
      atoms.push(v);
    }
    return { items: atoms.map((a) => a.text), atoms };
  }
}

function exampleFor(key: string): string {
  if (key.includes('mem')) return '512';
  if (key.includes('vcpu')) return '2';
  return '1';
}
