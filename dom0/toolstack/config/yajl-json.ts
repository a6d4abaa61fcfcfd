// JSON text exactly as libxl prints it: yajl 2 with yajl_gen_beautify and a 4-space indent
// (tools/libs/light/libxl_json.c libxl__object_to_json; yajl_gen.c). Maps keep insertion
// order; an empty map or array prints its brackets on separate lines with a blank between.

export type JsonValue = string | number | boolean | null | readonly JsonValue[] | JsonMap;

/** An ordered JSON object; `set` skips undefined values (libxl omits fields at default). */
export class JsonMap {
  readonly entries: [string, JsonValue][] = [];

  set(key: string, value: JsonValue | undefined): this {
    if (value !== undefined) this.entries.push([key, value]);
    return this;
  }
}

const INDENT = '    ';

/** yajl_string_encode without solidus escaping (libxl does not ask for it). */
function encodeString(s: string): string {
  let out = '"';
  for (const ch of s) {
    switch (ch) {
      case '"':
        out += '\\"';
        break;
      case '\\':
        out += '\\\\';
        break;
      case '\n':
        out += '\\n';
        break;
      case '\r':
        out += '\\r';
        break;
      case '\t':
        out += '\\t';
        break;
      case '\b':
        out += '\\b';
        break;
      case '\f':
        out += '\\f';
        break;
      default: {
        const code = ch.charCodeAt(0);
        out += code < 0x20 ? `\\u00${code.toString(16).padStart(2, '0')}` : ch;
      }
    }
  }
  return `${out}"`;
}

function gen(v: JsonValue, depth: number): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return encodeString(v);
  if (typeof v === 'number') return Number.isInteger(v) ? v.toFixed(0) : String(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  const pad = INDENT.repeat(depth + 1);
  const close = INDENT.repeat(depth);
  if (v instanceof JsonMap) {
    const body = v.entries
      .map(([k, x]) => `${pad}${encodeString(k)}: ${gen(x, depth + 1)}`)
      .join(',\n');
    return `{\n${body}\n${close}}`;
  }
  const body = v.map((x) => `${pad}${gen(x, depth + 1)}`).join(',\n');
  return `[\n${body}\n${close}]`;
}

/** The text libxl__object_to_json returns for `v`, ending with yajl's final newline. */
export function toYajlJson(v: JsonValue): string {
  return `${gen(v, 0)}\n`;
}
