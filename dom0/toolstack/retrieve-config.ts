// libxl_retrieve_domain_configuration (tools/libs/light/libxl_domain.c): the configuration a save
// file or a migration stream carries is the domain's as it is now (its current name, the memory
// target `xl mem-set` gave it, the static maximum `xl mem-max` gave it), not the one it was created
// with; and the JSON that carries it (libxl's domain config JSON plus xensim's own config).

import type { DomainConfig } from './config/domain-config-types.js';
import { domainConfigToJson } from './config/libxl-json.js';
import type { DomainRecord } from './domain-registry.js';

/** The domain's configuration now. */
export function retrieveDomainConfig(rec: DomainRecord): DomainConfig {
  const c = rec.config;
  return {
    ...c,
    cInfo: { ...c.cInfo, name: rec.name },
    bInfo: { ...c.bInfo, targetMemkb: rec.targetKb, maxMemkb: rec.staticMaxKb },
  };
}

/** The config JSON of a stream header: libxl's fields, and xensim's config under `xensim_config`. */
export function streamConfigJson(config: DomainConfig): string {
  const libxl = JSON.parse(domainConfigToJson(config)) as Record<string, unknown>;
  return JSON.stringify({ ...libxl, xensim_config: config });
}
