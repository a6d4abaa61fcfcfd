// xensim's public, typed scripting API (`import { SimHost } from 'xensim'`): boot hosts in process,
// create and control domains from config text or objects, run the simulation, subscribe to domain
// events, read traces and statistics. Everything `xl` does goes through the same toolstack.

export {
  SimHost,
  xlConfigText,
  type SimHostOptions,
  type XlConfigObject,
  type XlConfigValue,
} from './host/compose.js';
export {
  SimPool,
  type SimPoolOptions,
  type PoolHostOptions,
  type WireOptions,
  type BridgeJoin,
} from './host/pool.js';
export { HandoffTable } from './host/handoff.js';
export { precopyPolicy } from './migration/precopy-policy.js';
export {
  predictPrecopy,
  pageDataWireBytes,
  type PrecopyModelInput,
  type PrecopyModelResult,
  type DirtyPattern,
} from './migration/precopy-model.js';
export { simLink, type SimLinkOptions } from './migration/sim-link.js';
export type {
  MigrationChannel,
  MigrateOptions,
  MigrationProgress,
  MigrationStats,
  PrecopyPolicy,
  PrecopyPolicyName,
  PrecopyRoundState,
  RoundStats,
} from './migration/types.js';
export { Toolstack, type ToolstackOptions } from './toolstack/toolstack.js';
export type { DomainEvent } from './toolstack/lifecycle.js';
export * from './toolstack/api.js';
export {
  parseDomainConfig,
  domainConfigToJson,
  ConfigError,
  formatDiagnostic,
} from './toolstack/config/index.js';
