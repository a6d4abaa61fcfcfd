// Thin I/O shell: reads a config file from disk and hands its text to the pure parsers
// (as xl's create_domain reads the file with libxl_read_file_contents).

import { readFileSync } from 'node:fs';

import type { DomainConfigInput, ParsedDomainConfig } from './domain-config-file.js';
import { parseDomainConfig } from './domain-config-file.js';
import type { ConfigResult } from './errors.js';
import { configErr } from './errors.js';

/** Reads `path` and parses it as a domain config; an unreadable file is a diagnostic. */
export function readDomainConfigFile(
  path: string,
  options: Omit<DomainConfigInput, 'text' | 'source'>,
): ConfigResult<ParsedDomainConfig> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    return configErr([
      {
        source: path,
        line: 0,
        column: 0,
        message: `Failed to read config file: ${why}`,
        hint: 'check the path and that the file is readable',
      },
    ]);
  }
  return parseDomainConfig({ ...options, text, source: path });
}
