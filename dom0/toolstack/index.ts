// The toolstack library's public surface (libxl + libxc for the scripting API): what the package's
// top-level index re-exports for `import { … } from 'xensim'`.

export { Toolstack, type ToolstackOptions, type CreateOptions } from './toolstack.js';
export type {
  Dom0Platform,
  Dom0Clock,
  Dom0Filesystem,
  Dom0FileStat,
  Dom0Random,
  GuestProgramRegistry,
  TimerId,
  XenstoreConnection,
} from './platform.js';
export { LocalXenstoreConnection } from './xs-local.js';
export { XsClient, type XsResult, type XsPerms } from './xs-client.js';
export {
  HostDirFilesystem,
  resolveDom0Path,
  seedDom0Filesystem,
  SEEDED_KERNELS,
  SEEDED_IMAGES_DIR,
  type SeedOptions,
} from './dom0-fs.js';
export {
  BUILTIN_PV_KERNEL,
  SEEDED_PV_KERNEL_PATH,
  builtinRef,
  moduleRef,
  formatKernelImage,
  parseKernelImage,
  type KernelImage,
  type KernelRef,
  type KernelVcpuContext,
} from './kernel-image.js';
export {
  settle,
  runOp,
  Task,
  Signal,
  sleep,
  type EngineDriver,
  type Op,
  type Wait,
} from './task.js';
export type { DomainEvent } from './lifecycle.js';
export { BUILD_STEPS, type BuildStep, type BootLayout } from './domain-builder.js';
export { decodeSaveFile, encodeSaveFile } from './save-file.js';
export { Xc } from './xc.js';
export * from './api.js';
