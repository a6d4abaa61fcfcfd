// `xl network-list` formatting against rows printed by real xl (tools/xl/xl_vif.c main_networklist:
// the MAC runs straight into the %6d handle column, rx-ring-ref is %-11d).

import { describe, expect, it } from 'vitest';
import { formatNicRow, NETWORK_LIST_HEADER } from '../../dom0/xl/format-net.js';
import { runXl } from './harness.js';
import { domainInfo, MemoryToolstack } from './memory-toolstack.js';

const nic = (o: Partial<Parameters<typeof formatNicRow>[0]>) => ({
  devid: 0,
  backendId: 0,
  frontendId: 10,
  mac: '00:16:3e:12:ab:37',
  state: 4,
  evtch: 14,
  rrefTx: 768,
  rrefRx: 769,
  backendPath: '/local/domain/0/backend/vif/10/0',
  ...o,
});

describe('xl network-list format', () => {
  it('the header is "%-3s %-2s %-17s %-6s %-5s %-6s %5s/%-5s %-30s"', () => {
    expect(NETWORK_LIST_HEADER).toBe(
      'Idx BE Mac Addr.         handle state evt-ch   tx-/rx-ring-ref BE-path                       ',
    );
  });

  it('rows match what xl prints for a connected vif and one whose frontend never connected', () => {
    expect(formatNicRow(nic({}))).toBe(
      '0   0  00:16:3e:12:ab:37     0     4     14   768/769         /local/domain/0/backend/vif/10/0',
    );
    expect(
      formatNicRow(
        nic({
          devid: 1,
          mac: '00:16:3e:47:7a:dd',
          evtch: 15,
          rrefTx: 1280,
          rrefRx: 1281,
          backendPath: '/local/domain/0/backend/vif/10/1',
        }),
      ),
    ).toBe(
      '1   0  00:16:3e:47:7a:dd     1     4     15  1280/1281        /local/domain/0/backend/vif/10/1',
    );
    expect(
      formatNicRow(
        nic({
          mac: '00:16:3e:57:db:c5',
          state: 4,
          evtch: -1,
          rrefTx: -1,
          rrefRx: -1,
          backendPath: '/local/domain/0/backend/vif/2/0',
        }),
      ),
    ).toBe(
      '0   0  00:16:3e:57:db:c5     0     4     -1    -1/-1          /local/domain/0/backend/vif/2/0',
    );
  });

  it('network-attach and network-detach report in xl words through the toolstack API', async () => {
    const ts = new MemoryToolstack();
    ts.domains.set(3, domainInfo({ domid: 3, name: 'guest1' }));
    const guest = { name: 'guest1' };
    expect((await runXl(ts, ['network-attach', guest.name, 'mac=00:16:3e:00:00:05'])).code).toBe(0);
    const l = await runXl(ts, ['network-list', guest.name]);
    expect(l.stdout.split('\n')[1]).toMatch(/^0 {3}0 {2}00:16:3e:00:00:05 {5}0 {5}4/);
    expect(await runXl(ts, ['network-attach', guest.name, 'mac=zz'])).toEqual({
      code: 1,
      stdout: '',
      stderr: "Invalid parameter `mac'\n",
    });
    expect(await runXl(ts, ['network-detach', guest.name, '7'])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'Unknown device 7.\n',
    });
    expect(await runXl(ts, ['network-detach', guest.name, '00:16:3e:00:00:05'])).toEqual({
      code: 0,
      stdout: '',
      stderr: '',
    });
  });
});
