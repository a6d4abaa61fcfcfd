// The sending daemon's side of `xl migrate` over a real listener, with stand-in toolstacks that
// speak the handshake of xl_migrate.c (reference 10.4): the lines xl prints, in order.

import { afterEach, describe, expect, it } from 'vitest';
import { startMigrationListener } from '../../dom0/host/migration-listener.js';
import type { MigrationListener } from '../../dom0/host/migration-listener.js';
import { MSG } from '../../dom0/host/migration-messages.js';
import { migrateOut } from '../../dom0/host/migration-outgoing.js';
import type { MigrateEvent, ToolstackApi } from '../../dom0/toolstack/api.js';
import { receiverHost, senderHost } from './tcp-fakes.js';

const TOKEN = 'tok';

const api = {
  domainInfo: () => Promise.resolve({ shutdown: false, dying: false }),
} as unknown as ToolstackApi;

const listeners: MigrationListener[] = [];
afterEach(async () => {
  for (const l of listeners.splice(0)) await l.close();
});

async function run(status: number, token = TOKEN, refuse?: string) {
  const r = await startMigrationListener(
    receiverHost(status, refuse),
    { address: '127.0.0.1', port: 0, token: TOKEN },
    () => undefined,
  );
  if (!r.ok) throw new Error(r.message);
  listeners.push(r.listener);
  const events: MigrateEvent[] = [];
  const req = {
    domid: 3,
    address: '127.0.0.1',
    port: r.listener.port,
    token,
    target: 'b',
    leavePaused: false,
    noMonitor: false,
    debug: false,
  };
  const out = await migrateOut(senderHost(), api, req, (e) => events.push(e)).then(
    (v) => ({ ok: true as const, v }),
    (e: unknown) => ({ ok: false as const, e }),
  );
  const lines = events.flatMap((e) => (e.kind === 'message' ? [e.text] : []));
  return { out, lines, events };
}

describe('xl migrate over TCP: the lines of xl_migrate.c, in order', () => {
  it('a successful migration prints both sides\' lines and ends with "Migration successful."', async () => {
    const { out, lines, events } = await run(0);
    expect(out.ok).toBe(true);
    expect(lines).toEqual([
      MSG.targetReady,
      'Saving to migration stream new xl format (info 0x3/0x0/8)',
      MSG.targetTransferComplete,
      MSG.senderAcknowledged,
      MSG.senderGiving,
      MSG.targetGotPermission,
      'migration target: Domain started successsfully.',
      MSG.senderTargetStarted,
      'Migration successful.',
    ]);
    expect(events.some((e) => e.kind === 'progress' && e.progress.round === 1)).toBe(true);
  });

  it('a target that fails to start hands the domain back: xl reports the status and resumes', async () => {
    const { out, lines } = await run(3);
    expect(out.ok).toBe(false);
    expect(lines.slice(5)).toEqual([
      MSG.targetGotPermission,
      MSG.targetFailure,
      'migration sender: Target reports startup failure (status code 3).',
      MSG.targetCleanupOk,
      MSG.senderTryingResume,
      MSG.senderResumedOk,
      'Migration failed due to problems at target.',
    ]);
  });

  it('a wrong token fails before any byte of the domain moves, naming the cause', async () => {
    const { out, lines } = await run(0, 'wrong');
    expect(out.ok).toBe(false);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^migration sender: 127\.0\.0\.1:\d+: the target refused the migration token$/,
    );
  });

  it('a target that cannot reserve the memory says why; the sender resumes, nothing moved', async () => {
    const { out, lines, events } = await run(0, TOKEN, 'needs 1048576 KiB, 65536 KiB free');
    expect(out.ok).toBe(false);
    expect(lines).toEqual([
      MSG.targetReady,
      'Saving to migration stream new xl format (info 0x3/0x0/8)',
      'migration target: reservation failed: needs 1048576 KiB, 65536 KiB free',
      'migration sender: the target refused the domain',
      'Migration failed, resuming at sender.',
    ]);
    expect(events.some((e) => e.kind === 'progress')).toBe(false);
  });
});
