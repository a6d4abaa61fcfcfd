// What a host daemon needs from its toolstack to migrate domains over TCP: libxl's
// libxl_domain_suspend / libxl_domain_create_restore pair as xl_migrate.c drives them (the
// toolstack's migrateSend / migrateReceive), plus the engine clock that socket I/O enters through.

import type {
  MigrateOptions,
  MigrationChannel,
  MigrationProgress,
  MigrationStats,
} from '../migration/types.js';
import type { Dom0Clock } from '../toolstack/platform.js';

/** The optional members a hosted toolstack has when it can migrate (all of them, or it cannot). */
export interface MigrationCapable {
  /** The toolstack's clock: socket events are scheduled on it. */
  readonly engineClock?: Dom0Clock;
  /** Paced mode: run due engine events on the next host turn rather than at the next tick. */
  kick?(): void;
  /**
   * Paced mode: run due engine events now, inside the host callback that queued them (a socket
   * read is handled while its bytes are still in the CPU cache); a kick when the engine is busy.
   */
  runNow?(): void;
  migrateSend?(
    domid: number,
    channel: MigrationChannel,
    opts: MigrateOptions,
    progress: (p: MigrationProgress) => void,
  ): Promise<MigrationStats>;
  migrateReceive?(
    channel: MigrationChannel,
    opts: MigrateOptions,
    progress: (p: MigrationProgress) => void,
    ro?: { readonly acceptHandoff?: boolean },
  ): Promise<{ domid: number; name: string }>;
}

/** A toolstack that can migrate. */
export interface MigrationHost {
  readonly clock: Dom0Clock;
  readonly kick: () => void;
  /** Runs due engine events at once (see MigrationCapable.runNow); absent: kick. */
  readonly runNow?: () => void;
  readonly send: NonNullable<MigrationCapable['migrateSend']>;
  readonly receive: NonNullable<MigrationCapable['migrateReceive']>;
}

/** The migration side of a hosted toolstack, or why it has none. */
export function migrationHost(t: MigrationCapable): MigrationHost | string {
  if (t.engineClock === undefined) return 'the host has no engine clock for migration sockets';
  if (typeof t.migrateSend !== 'function' || typeof t.migrateReceive !== 'function')
    return 'the toolstack does not implement live migration';
  return {
    clock: t.engineClock,
    kick: typeof t.kick === 'function' ? t.kick.bind(t) : () => undefined,
    ...(typeof t.runNow === 'function' ? { runNow: t.runNow.bind(t) } : {}),
    send: t.migrateSend.bind(t),
    receive: t.migrateReceive.bind(t),
  };
}
