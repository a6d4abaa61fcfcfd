// The whole `xl create CONFIG [KEY=VALUE...]` configuration path as xl runs it
// (tools/xl/xl_vmcontrol.c create_domain, tools/xl/xl_parse.c parse_config_data):
// parse the file, append each command-line KEY=VALUE as a statement, build the config.

import type { BuildOptions } from './domain-config.js';
import { buildDomainConfig } from './domain-config.js';
import type { DomainConfig } from './domain-config-types.js';
import type { ConfigDiagnostic, ConfigResult } from './errors.js';
import { configErr, configOk } from './errors.js';
import type { ParsedConfig } from './parser.js';
import { parseConfigText } from './parser.js';
import { ConfigSettings } from './values.js';

/** Where command-line overrides are reported from. */
export const COMMAND_LINE_SOURCE = 'command line';

export interface DomainConfigInput extends BuildOptions {
  /** Text of the config file. */
  readonly text: string;
  /** Its name, as diagnostics print it (e.g. "/etc/xen/guest1.cfg"). */
  readonly source: string;
  /** `KEY=VALUE` arguments after the file, applied after it in order (each is a statement). */
  readonly overrides?: readonly string[];
}

export interface ParsedDomainConfig {
  readonly config: DomainConfig;
  readonly settings: ConfigSettings;
}

/** Parses the file and the overrides into settings (no defaults, no validation of keys). */
export function parseSettings(
  text: string,
  source: string,
  overrides: readonly string[] = [],
): ConfigResult<ConfigSettings> {
  const files: ParsedConfig[] = [];
  const errors: ConfigDiagnostic[] = [];
  const main = parseConfigText(text, source);
  if (main.ok) files.push(main.value);
  else errors.push(...main.errors);
  for (const [i, o] of overrides.entries()) {
    const p = parseConfigText(o, `${COMMAND_LINE_SOURCE} argument ${i + 1}`);
    if (p.ok) files.push(p.value);
    else errors.push(...p.errors);
  }
  if (errors.length > 0) return configErr(errors);
  const settings = new ConfigSettings();
  for (const f of files) settings.apply(f, errors);
  if (errors.length > 0) return configErr(errors);
  return configOk(settings);
}

/** Text + overrides -> typed libxl_domain_config, or every error found. Never throws. */
export function parseDomainConfig(input: DomainConfigInput): ConfigResult<ParsedDomainConfig> {
  const s = parseSettings(input.text, input.source, input.overrides);
  if (!s.ok) return s;
  const built = buildDomainConfig(s.value, { ...input, source: input.source });
  if (!built.ok) return built;
  return configOk({ config: built.value, settings: s.value }, built.warnings);
}
