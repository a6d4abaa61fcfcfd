// Parser for xl.cfg / xl.conf statements, following libxlu's bison grammar
// (tools/libs/util/libxlu_cfg_y.y): KEY = VALUE | KEY += VALUE, ended by newline or `;`;
// VALUE is a string or number atom or a [list] (nested, newlines allowed, trailing comma).

import type { ConfigDiagnostic, ConfigResult } from './errors.js';
import { configErr, configOk } from './errors.js';
import type { Token } from './lexer.js';
import { lex } from './lexer.js';

interface Located {
  readonly source: string;
  readonly line: number;
  readonly column: number;
}

/** A string or number: libxlu keeps both as text; the reader decides how to convert it. */
export interface ConfigAtom extends Located {
  readonly kind: 'atom';
  readonly text: string;
  /** True if it was written in quotes (a STRING token), false for a NUMBER token. */
  readonly quoted: boolean;
}

export interface ConfigList extends Located {
  readonly kind: 'list';
  readonly items: readonly ConfigValue[];
}

export type ConfigValue = ConfigAtom | ConfigList;

export type AssignOp = '=' | '+=';

export interface Statement extends Located {
  readonly key: string;
  readonly op: AssignOp;
  readonly value: ConfigValue;
}

export interface ParsedConfig {
  readonly source: string;
  readonly statements: readonly Statement[];
}

/** Unwinds the recursive descent to the statement level; never escapes the parser. */
class SyntaxFailure extends Error {
  readonly diagnostic: ConfigDiagnostic | undefined;
  constructor(diagnostic: ConfigDiagnostic | undefined) {
    super(diagnostic?.message ?? 'syntax error');
    this.diagnostic = diagnostic;
  }
}

function describe(t: Token): string {
  if (t.kind === 'newline') return '<newline>';
  if (t.kind === 'eof') return '<end of file>';
  return `\`${t.text}'`;
}

class Parser {
  private p = 0;
  /** Open `[` of the statement being parsed, so recovery skips a broken list whole. */
  private depth = 0;
  private readonly tokens: readonly Token[];
  private readonly source: string;

  constructor(tokens: readonly Token[], source: string) {
    this.tokens = tokens;
    this.source = source;
  }

  private peek(): Token {
    // The token list always ends with an eof token, and p never passes it.
    return this.tokens[this.p] ?? (this.tokens[this.tokens.length - 1] as Token);
  }

  private next(): Token {
    const t = this.peek();
    if (t.kind !== 'eof') this.p++;
    return t;
  }

  private fail(t: Token, message: string, hint: string): SyntaxFailure {
    // An invalid token already has its lexical diagnostic: report nothing more for this line.
    if (t.kind === 'invalid') return new SyntaxFailure(undefined);
    return new SyntaxFailure({
      source: this.source,
      line: t.line,
      column: t.column,
      message: `config parsing error near ${describe(t)}: ${message}`,
      hint,
    });
  }

  /** Skips to just after the newline that ends the broken statement (bison's `error NEWLINE`). */
  private recover(): void {
    for (;;) {
      const t = this.next();
      if (t.kind === '[') this.depth++;
      else if (t.kind === ']') this.depth--;
      else if (t.kind === 'eof' || (t.kind === 'newline' && this.depth <= 0)) break;
    }
    this.depth = 0;
  }

  private skipNewlines(): void {
    while (this.peek().kind === 'newline') this.next();
  }

  parseFile(): { statements: Statement[]; diagnostics: ConfigDiagnostic[] } {
    const statements: Statement[] = [];
    const diagnostics: ConfigDiagnostic[] = [];
    for (;;) {
      const t = this.peek();
      if (t.kind === 'eof') break;
      if (t.kind === 'newline' || t.kind === ';') {
        this.next();
        continue;
      }
      try {
        statements.push(this.parseStatement());
      } catch (e) {
        if (!(e instanceof SyntaxFailure)) throw e;
        if (e.diagnostic) diagnostics.push(e.diagnostic);
        this.recover();
      }
    }
    return { statements, diagnostics };
  }

  private parseStatement(): Statement {
    const keyTok = this.next();
    if (keyTok.kind !== 'ident')
      throw this.fail(
        keyTok,
        'a statement must start with a key',
        'write KEY = VALUE, with a lowercase key such as memory or name',
      );
    const opTok = this.next();
    if (opTok.kind !== '=' && opTok.kind !== '+=')
      throw this.fail(
        opTok,
        `expected \`=' or \`+=' after key \`${keyTok.text}'`,
        `write \`${keyTok.text} = VALUE' (strings in quotes, lists in [ ])`,
      );
    const value = this.parseValue(keyTok.text);
    const end = this.peek();
    if (
      value.kind === 'atom' &&
      !value.quoted &&
      end.kind === 'ident' &&
      /^[kmgt]i?b?$/.test(end.text)
    )
      throw this.fail(
        end,
        `size suffix \`${end.text}' after a number: xl sizes are plain numbers`,
        `write the number alone in the key's unit (memory and maxmem are in MiB: ${keyTok.text} = 2048)`,
      );
    if (end.kind !== 'newline' && end.kind !== ';' && end.kind !== 'eof')
      throw this.fail(
        end,
        `unexpected ${end.kind === 'ident' ? 'word' : 'text'} after the value of \`${keyTok.text}'`,
        "one value per statement: end it with a newline or `;' (to append, use a separate `KEY += VALUE')",
      );
    return {
      key: keyTok.text,
      op: opTok.kind,
      value,
      source: this.source,
      line: keyTok.line,
      column: keyTok.column,
    };
  }

  private parseValue(key: string): ConfigValue {
    const t = this.next();
    if (t.kind === 'string' || t.kind === 'number')
      return {
        kind: 'atom',
        text: t.value,
        quoted: t.kind === 'string',
        source: this.source,
        line: t.line,
        column: t.column,
      };
    if (t.kind === '[') {
      this.depth++;
      const list = this.parseListRest(t, key);
      this.depth--;
      return list;
    }
    if (t.kind === 'ident')
      throw this.fail(
        t,
        `unquoted word \`${t.text}' where a value is expected`,
        `quote strings: ${key} = "${t.text}"`,
      );
    if (t.kind === 'newline' || t.kind === 'eof' || t.kind === ';')
      throw this.fail(
        t,
        `missing value after \`${key} ='`,
        'give a value on the same line: a "string", a number, or a [list]',
      );
    throw this.fail(
      t,
      `expected a value for \`${key}'`,
      'a value is a "quoted string", a number, or a [ list, of, values ]',
    );
  }

  private parseListRest(open: Token, key: string): ConfigList {
    const items: ConfigValue[] = [];
    this.skipNewlines();
    if (this.peek().kind !== ']') {
      for (;;) {
        items.push(this.parseValue(key));
        this.skipNewlines();
        const sep = this.peek();
        if (sep.kind === ']') break;
        if (sep.kind !== ',')
          throw this.fail(
            sep,
            `expected \`,' or \`]' in the list for \`${key}'`,
            'separate list items with commas and close the list with ]',
          );
        this.next();
        this.skipNewlines();
        if (this.peek().kind === ']') break;
      }
    }
    this.next(); // the ']'
    return { kind: 'list', items, source: this.source, line: open.line, column: open.column };
  }
}

/** Keeps at most one diagnostic per line, preferring the lexical one (as libxlu does). */
function onePerLine(diags: readonly ConfigDiagnostic[]): ConfigDiagnostic[] {
  const byLine = new Map<number, ConfigDiagnostic>();
  for (const d of diags) if (!byLine.has(d.line)) byLine.set(d.line, d);
  return [...byLine.values()].sort((a, b) => a.line - b.line || a.column - b.column);
}

/** Parses configuration text into statements, or returns every syntax error found. */
export function parseConfigText(text: string, source: string): ConfigResult<ParsedConfig> {
  const lexed = lex(text, source);
  const parsed = new Parser(lexed.tokens, source).parseFile();
  const diags = onePerLine([...lexed.diagnostics, ...parsed.diagnostics]);
  if (diags.length > 0) return configErr(diags);
  return configOk({ source, statements: parsed.statements });
}
