// Public surface of the xl configuration front (libxlu parsing + xl's parse_config_data):
// xl.cfg / xl.conf grammar, disk and vif specs, the typed libxl_domain_config and its JSON.

export type { ConfigDiagnostic, ConfigResult, ConfigWarning, SourceLocation } from './errors.js';
export { ConfigError, configErr, configOk, formatDiagnostic, unwrapConfig } from './errors.js';
export type { Token, TokenKind } from './lexer.js';
export { lex } from './lexer.js';
export type {
  AssignOp,
  ConfigAtom,
  ConfigList,
  ConfigValue,
  ParsedConfig,
  Statement,
} from './parser.js';
export { parseConfigText } from './parser.js';
export type { Setting } from './values.js';
export { ConfigReader, ConfigSettings, parseCLong } from './values.js';
export type {
  DiskBackend,
  DiskFormat,
  DiskSpec,
  DiskSpecError,
  DiskSpecResult,
} from './disk-spec.js';
export { diskTargetPath, formatDiskSpecError, parseDiskSpec } from './disk-spec.js';
export type { VdevNumber } from './vdev.js';
export { vdevToDevid } from './vdev.js';
export type {
  EffectiveNic,
  NicDefaults,
  NicSpec,
  NicType,
  RandomSource,
  RateResult,
  VifSpecResult,
} from './vif-spec.js';
export {
  effectiveNic,
  generateMac,
  NIC_DEFAULT_BRIDGE,
  NIC_DEFAULT_MTU,
  NIC_DEFAULT_SCRIPT,
  parseMac,
  parseVifRate,
  parseVifSpec,
} from './vif-spec.js';
export type { VlanConfig } from './vlan.js';
export { parseVlan } from './vlan.js';
export type { HostTopology } from './cpumap.js';
export { parseCpumap, singleNodeHost } from './cpumap.js';
export type { PciSpec } from './pci-spec.js';
export { parsePciSpec } from './pci-spec.js';
export type { Autoballoon, DomidPolicy, OutputFormat, XlConf } from './xl-conf.js';
export { parseXlConf, readXlConf, XL_CONF_DEFAULTS } from './xl-conf.js';
export type * from './domain-config-types.js';
export { SHUTDOWN_ACTIONS, TSC_MODES } from './domain-config-types.js';
export type { BuildOptions } from './domain-config.js';
export {
  buildDomainConfig,
  CREDIT_DEFAULT_WEIGHT,
  effectiveLimits,
  LIBXL_DEFAULT_EVENT_CHANNELS,
  LIBXL_DEFAULT_MEM_KIB,
  XEN_DEFAULT_MAX_GRANT_FRAMES,
  XEN_DEFAULT_MAX_MAPTRACK_FRAMES,
} from './domain-config.js';
export { XEN_FIRMWARE_DIR } from './domain-boot.js';
export type { DomainConfigInput, ParsedDomainConfig } from './domain-config-file.js';
export { COMMAND_LINE_SOURCE, parseDomainConfig, parseSettings } from './domain-config-file.js';
export { readDomainConfigFile } from './read-config-file.js';
export { generateUuid, parseUuid } from './uuid.js';
export type { JsonValue } from './yajl-json.js';
export { JsonMap, toYajlJson } from './yajl-json.js';
export { domainConfigJsonTree, domainConfigToJson } from './libxl-json.js';
