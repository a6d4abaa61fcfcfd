// Tokenizer for xl.cfg / xl.conf text, following libxlu's flex lexer
// (tools/libs/util/libxlu_cfg_l.l): idents [a-z][._0-9a-z]*, numbers [0-9][0-9a-fx]*,
// quoted strings on one line, `=`, `+=`, `,`, `[`, `]`, `;`, newline, `#` comments.

import type { ConfigDiagnostic } from './errors.js';

export type TokenKind =
  | 'ident'
  | 'number'
  | 'string'
  | '='
  | '+='
  | ','
  | '['
  | ']'
  | ';'
  | 'newline'
  | 'invalid'
  | 'eof';

export interface Token {
  readonly kind: TokenKind;
  /** Source text of the token (for strings: including the quotes). */
  readonly text: string;
  /** Decoded value: the string contents for strings, the text for idents and numbers. */
  readonly value: string;
  readonly line: number;
  readonly column: number;
}

export interface LexResult {
  readonly tokens: readonly Token[];
  readonly diagnostics: readonly ConfigDiagnostic[];
}

const PYTHON_HINT =
  'xl config files are not Python: arbitrary Python is no longer supported ' +
  '(https://wiki.xen.org/wiki/PythonInXlConfig); write each value literally';

const isIdentStart = (c: string): boolean => c >= 'a' && c <= 'z';
const isIdentChar = (c: string): boolean =>
  isIdentStart(c) || (c >= '0' && c <= '9') || c === '_' || c === '.';
const isDigit = (c: string): boolean => c >= '0' && c <= '9';
const isNumberChar = (c: string): boolean => isDigit(c) || (c >= 'a' && c <= 'f') || c === 'x';

/** Why a character outside a string is refused, and what to write instead. */
function explainBadChar(c: string, prev: string): { message: string; hint: string } {
  if (isDigit(prev) && 'KMGT'.includes(c) && c !== '')
    return {
      message: `size suffix \`${c}' after a number: xl sizes are plain numbers`,
      hint: "write the number alone in the key's unit (memory and maxmem are in MiB: memory = 2048)",
    };
  switch (c) {
    case '+':
      return {
        message: "`+' is not an operator in xl config files (only `+=' appends to a setting)",
        hint: `to add to a list or string, write a separate statement \`KEY += VALUE'; ${PYTHON_HINT}`,
      };
    case '-':
      return {
        message: "`-' outside quotes: xl has no negative numbers, arithmetic, or `-' in keys",
        hint: `quote values that contain \`-' (e.g. on_crash = "coredump-destroy"); keys use \`_'; ${PYTHON_HINT}`,
      };
    case '.':
      return {
        message: "`.' outside quotes: xl numbers are integers and cannot contain `.'",
        hint: `write an integer (memory is in MiB), or quote the value; ${PYTHON_HINT}`,
      };
    case '(':
    case ')':
      return {
        message: `\`${c}' outside quotes: xl config files have no function calls or tuples`,
        hint: PYTHON_HINT,
      };
    case ':':
      return {
        message: "`:' outside quotes: xl config files have no Python blocks or dictionaries",
        hint: `quote values that contain \`:' (e.g. mac addresses inside the vif string); ${PYTHON_HINT}`,
      };
    case '*':
    case '/':
    case '%':
      return {
        message: `\`${c}' outside quotes: xl config files have no arithmetic or string formatting`,
        hint: `compute the value yourself and write the result (e.g. memory = 256), and quote paths`,
      };
    case '\r':
      return {
        message: 'carriage return (DOS/Windows line ending): xl accepts only \\n line endings',
        hint: 'convert the file to Unix line endings (e.g. `dos2unix FILE` or `sed -i "s/\\r$//" FILE`)',
      };
    case '"':
    case "'":
      return {
        message: `unterminated string: a ${c === '"' ? 'double' : 'single'}-quoted string must close on the same line`,
        hint: 'add the closing quote; strings cannot span lines (split long values into list items)',
      };
    default:
      if (c >= 'A' && c <= 'Z')
        return {
          message: `\`${c}' outside quotes: keys are lowercase and numbers are decimal, 0octal or 0xhex with lowercase digits`,
          hint: 'write keys in lowercase, hex digits in lowercase (0x1f), and quote strings',
        };
      return {
        message: `unexpected character \`${printable(c)}' outside quotes`,
        hint: 'quote string values ("..." or \'...\'); a statement is KEY = VALUE or KEY += VALUE',
      };
  }
}

function printable(c: string): string {
  const code = c.charCodeAt(0);
  return code < 0x20 || code === 0x7f ? `\\x${code.toString(16).padStart(2, '0')}` : c;
}

/** Decodes backslash escapes of a quoted string body; returns the error text on a bad escape. */
export function dequote(body: string): { ok: true; value: string } | { ok: false; error: string } {
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i] ?? '';
    if (c !== '\\') {
      out += c;
      continue;
    }
    const n = body[++i] ?? '';
    switch (n) {
      case '"':
      case "'":
      case '\\':
        out += n;
        break;
      case 'a':
        out += '\x07';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'v':
        out += '\v';
        break;
      default:
        // DEVIATION(xen): libxlu's \x and octal escapes are broken (\xNN is always rejected,
        // octal ones are silently dropped); we reject both with one clear message.
        if (n === 'x' || (n >= '0' && n <= '7'))
          return {
            ok: false,
            error: `numeric escape \`\\${n}' in a quoted string is not supported by xl`,
          };
        return { ok: false, error: `invalid character \`${n}' after backslash in quoted string` };
    }
  }
  return { ok: true, value: out };
}

/** Scans a quoted string starting at `start`; returns the index after the closing quote or -1. */
function scanString(text: string, start: number): number {
  const q = text[start];
  for (let i = start + 1; i < text.length; i++) {
    const c = text[i];
    if (c === q) return i + 1;
    if (c === '\n') return -1;
    if (c === '\\') {
      if (i + 1 >= text.length || text[i + 1] === '\n') return -1;
      i++;
    }
  }
  return -1;
}

/**
 * Splits `text` into tokens. Never throws: a bad character becomes an `invalid` token plus a
 * diagnostic, and lexing resumes at the next whitespace (as libxlu's `lexerr` state does).
 */
export function lex(text: string, source: string): LexResult {
  const tokens: Token[] = [];
  const diagnostics: ConfigDiagnostic[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;

  const push = (kind: TokenKind, start: number, end: number, value?: string): void => {
    const t = text.slice(start, end);
    tokens.push({ kind, text: t, value: value ?? t, line, column: start - lineStart + 1 });
  };

  const badRun = (start: number): void => {
    let end = start + 1;
    while (end < text.length && !' \t\n'.includes(text[end] ?? '')) end++;
    const c = text[start] ?? '';
    const { message, hint } = explainBadChar(c, text[start - 1] ?? '');
    const near = text.slice(start, end).replace(/\r/g, '\\r');
    diagnostics.push({
      source,
      line,
      column: start - lineStart + 1,
      message: `config parsing error near \`${near}': ${message}`,
      hint,
    });
    push('invalid', start, end);
    i = end;
  };

  while (i < text.length) {
    const c = text[i] ?? '';
    if (c === ' ' || c === '\t') {
      i++;
    } else if (c === '\n') {
      push('newline', i, i + 1);
      i++;
      line++;
      lineStart = i;
    } else if (c === '#') {
      // DEVIATION(xen): libxlu needs a newline after a comment; a final comment without one
      // is a lexical error there. We accept it.
      let end = text.indexOf('\n', i);
      if (end < 0) end = text.length;
      i = end;
    } else if (isIdentStart(c)) {
      let end = i + 1;
      while (end < text.length && isIdentChar(text[end] ?? '')) end++;
      push('ident', i, end);
      i = end;
    } else if (isDigit(c)) {
      let end = i + 1;
      while (end < text.length && isNumberChar(text[end] ?? '')) end++;
      push('number', i, end);
      i = end;
    } else if (c === '"' || c === "'") {
      const end = scanString(text, i);
      if (end < 0) {
        badRun(i);
        continue;
      }
      const d = dequote(text.slice(i + 1, end - 1));
      if (!d.ok) {
        diagnostics.push({
          source,
          line,
          column: i - lineStart + 1,
          message: `config parsing error near \`${text.slice(i, end)}': ${d.error}`,
          hint: 'use only the escapes \\" \\\' \\\\ \\a \\b \\f \\n \\r \\t \\v, or write the character itself',
        });
        push('invalid', i, end);
      } else {
        push('string', i, end, d.value);
      }
      i = end;
    } else if (c === '+' && text[i + 1] === '=') {
      push('+=', i, i + 2);
      i += 2;
    } else if (c === '=' || c === ',' || c === '[' || c === ']' || c === ';') {
      push(c, i, i + 1);
      i++;
    } else {
      badRun(i);
    }
  }
  tokens.push({ kind: 'eof', text: '', value: '', line, column: i - lineStart + 1 });
  return { tokens, diagnostics };
}

/** True if a diagnostic came from a Python-looking construct (libxlu's `likely_python`). */
export function looksLikePython(d: ConfigDiagnostic): boolean {
  return d.hint.includes('PythonInXlConfig');
}
