import { describe, expect, it } from 'vitest';
import { formatInfo, infoLines } from '../../dom0/xl/format-info.js';
import {
  formatList,
  formatListLong,
  formatVmList,
  stateLetters,
} from '../../dom0/xl/format-list.js';
import {
  BLOCK_LIST_HEADER,
  formatBlockRows,
  formatUptime,
  uptimeToString,
} from '../../dom0/xl/format-misc.js';
import {
  formatSchedCredit,
  formatSchedCredit2,
  formatSchedDomain,
} from '../../dom0/xl/format-sched.js';
import { formatTopScreen, takeSample } from '../../dom0/xl/format-top.js';
import { formatCpuMap, formatVcpuList } from '../../dom0/xl/format-vcpu.js';
import { domainInfo, HOST_INFO } from './memory-toolstack.js';

const dom0 = domainInfo({
  domid: 0,
  name: 'Domain-0',
  running: true,
  blocked: false,
  currentMemKb: 4096 * 1024,
  vcpuOnline: 4,
  cpuTimeNs: 123_400_000_000,
});
const guest1 = domainInfo({
  domid: 3,
  name: 'guest1',
  currentMemKb: 512 * 1024,
  vcpuOnline: 2,
  cpuTimeNs: 5_200_000_000,
  uuid: '6ad6b3a1-3c5c-4b1b-9c53-4c1d1e7f2a10',
});

describe('xl list (xl_info.c list_domains)', () => {
  it('prints the header with its literal tabs and rows as %-40s %5d %5lu %5d     %c..%c  %8.1f', () => {
    expect(formatList([dom0, guest1])).toBe(
      'Name                                        ID   Mem VCPUs\tState\tTime(s)\n' +
        'Domain-0                                     0  4096     4     r-----     123.4\n' +
        'guest1                                       3   512     2     -b----       5.2\n',
    );
  });

  it('memory is (current + outstanding) / 1024, truncated', () => {
    const d = domainInfo({ domid: 7, name: 'g', currentMemKb: 1023, outstandingMemKb: 2048 });
    expect(formatList([d]).split('\n')[1]?.slice(41, 52)).toBe('    7     2');
  });

  it('a name longer than 40 characters overflows and pushes the columns right', () => {
    const name = 'a-guest-with-a-really-long-name-of-45-chars';
    const row = formatList([domainInfo({ domid: 12, name })]).split('\n')[1];
    expect(row).toBe(`${name}    12   512     1     -b----       0.0`);
  });

  it('state letters: shutdown reason from "-rscwS", dying d, crash kept by preserve is ---sc-', () => {
    const base = { domid: 5, name: 'x', running: false, blocked: false };
    expect(stateLetters(domainInfo({ ...base, shutdown: true, shutdownReason: 3 }))).toBe('---sc-');
    expect(stateLetters(domainInfo({ ...base, shutdown: true, shutdownReason: 2 }))).toBe('---ss-');
    expect(stateLetters(domainInfo({ ...base, shutdown: true, shutdownReason: 1 }))).toBe('---sr-');
    expect(stateLetters(domainInfo({ ...base, shutdown: true, shutdownReason: 5 }))).toBe('---sS-');
    expect(stateLetters(domainInfo({ ...base, shutdown: true, shutdownReason: 9 }))).toBe('---s?-');
    expect(stateLetters(domainInfo({ ...base, dying: true, paused: true }))).toBe('--p--d');
    // The reason is ignored unless the domain is shut down.
    expect(stateLetters(domainInfo({ ...base, shutdownReason: 3 }))).toBe('------');
  });

  it('-v adds the UUID, the reason in hex (or -) and the security label column', () => {
    const crashed = domainInfo({ ...guest1, shutdown: true, shutdownReason: 3, blocked: false });
    expect(formatList([dom0, crashed], { verbose: true })).toBe(
      'Name                                        ID   Mem VCPUs\tState\tTime(s)   UUID                            Reason-Code\tSecurity Label\n' +
        'Domain-0                                     0  4096     4     r-----     123.4 00000000-0000-0000-0000-000000000000        -                -\n' +
        'guest1                                       3   512     2     ---sc-       5.2 6ad6b3a1-3c5c-4b1b-9c53-4c1d1e7f2a10        3                -\n',
    );
  });

  it('-c adds the cpupool name right-justified in 16 columns', () => {
    expect(formatList([guest1], { cpupool: true })).toBe(
      'Name                                        ID   Mem VCPUs\tState\tTime(s)         Cpupool\n' +
        'guest1                                       3   512     2     -b----       5.2          Pool-0\n',
    );
  });

  it('-l is a JSON array of {domid, config}, indented by 4 like yajl beautify', () => {
    expect(formatListLong([{ domid: 3, config: { c_info: { name: 'guest1' } } }])).toBe(
      '[\n    {\n        "domid": 3,\n        "config": {\n            "c_info": {\n                "name": "guest1"\n            }\n        }\n    }\n]\n',
    );
  });
});

describe('xl vm-list (xl_info.c list_vm)', () => {
  it('lists guests only, UUID then id then the name padded to 30', () => {
    expect(formatVmList([dom0, guest1])).toBe(
      'UUID                                  ID    name\n' +
        '6ad6b3a1-3c5c-4b1b-9c53-4c1d1e7f2a10  3    guest1                        \n',
    );
  });
});

describe('xl vcpu-list (xl_vcpu.c, print_bitmap in xl_utils.c)', () => {
  it('affinity maps print as ranges, all, or none', () => {
    expect(formatCpuMap([0, 1, 2, 3], 4)).toBe('all');
    expect(formatCpuMap([0, 1, 2, 3, 5], 8)).toBe('0-3,5');
    expect(formatCpuMap([], 4)).toBe('none');
    expect(formatCpuMap([2], 4)).toBe('2');
    expect(formatCpuMap([1, 2, 3], 4)).toBe('1-3');
    expect(formatCpuMap([0, 1, 2], 4)).toBe('0-2');
    expect(formatCpuMap([0, 2, 3], 4)).toBe('0,2-3');
    // Bits beyond nr_cpus are not printed.
    expect(formatCpuMap([0, 1, 2, 3, 9], 4)).toBe('all');
  });

  it('header and online/offline rows match xl byte for byte', () => {
    const all = [0, 1, 2, 3];
    expect(
      formatVcpuList(
        [
          {
            domid: 0,
            name: 'Domain-0',
            vcpuId: 0,
            online: true,
            running: true,
            blocked: false,
            cpu: 2,
            vcpuTimeNs: 10_500_000_000,
            hardAffinity: all,
            softAffinity: all,
          },
          {
            domid: 3,
            name: 'guest1',
            vcpuId: 0,
            online: true,
            running: false,
            blocked: true,
            cpu: 1,
            vcpuTimeNs: 250_000_000,
            hardAffinity: [0, 1, 3],
            softAffinity: all,
          },
          {
            domid: 3,
            name: 'guest1',
            vcpuId: 1,
            online: false,
            running: false,
            blocked: false,
            cpu: 0,
            vcpuTimeNs: 0,
            hardAffinity: all,
            softAffinity: [],
          },
        ],
        4,
      ),
    ).toBe(
      'Name                                ID  VCPU   CPU State   Time(s) Affinity (Hard / Soft)\n' +
        'Domain-0                             0     0    2   r--      10.5  all / all\n' +
        'guest1                               3     0    1   -b-       0.2  0-1,3 / all\n' +
        'guest1                               3     1    -   --p       0.0  all / none\n',
    );
  });
});

describe('xl info (xl_info.c)', () => {
  it('prints every key in xl order as %-23s: value', () => {
    const keys = infoLines(HOST_INFO).map((l) => l.slice(0, 23).trimEnd());
    expect(keys).toEqual([
      'host',
      'release',
      'version',
      'machine',
      'nr_cpus',
      'max_cpu_id',
      'nr_nodes',
      'cores_per_socket',
      'threads_per_core',
      'cpu_mhz',
      'hw_caps',
      'virt_caps',
      'total_memory',
      'free_memory',
      'sharing_freed_memory',
      'sharing_used_memory',
      'outstanding_claims',
      'free_cpus',
      'xen_major',
      'xen_minor',
      'xen_extra',
      'xen_version',
      'xen_caps',
      'xen_scheduler',
      'xen_pagesize',
      'platform_params',
      'xen_changeset',
      'xen_commandline',
      'cc_compiler',
      'cc_compile_by',
      'cc_compile_domain',
      'cc_compile_date',
      'build_id',
      'xend_config_format',
    ]);
  });

  it('formats numbers as xl does: cpu_mhz %d.%03d, hw_caps 8 words, memory in MiB', () => {
    const out = formatInfo(HOST_INFO);
    expect(out).toContain('host                   : xensim\n');
    expect(out).toContain('cpu_mhz                : 2394.452\n');
    expect(out).toContain(
      'hw_caps                : 178bfbff:f6d8320b:2c100800:000007ab:f6d8320b:00000000:00000000:00000000\n',
    );
    expect(out).toContain('virt_caps              : pv gnttab-v1\n');
    expect(out).toContain('total_memory           : 8192\n');
    expect(out).toContain('free_memory            : 4096\n');
    expect(out).toContain('xen_version            : 4.17.7\n');
    expect(out).toContain('platform_params        : virt_start=0xffff800000000000\n');
    expect(out.endsWith('xend_config_format     : 4\n')).toBe(true);
  });

  it('cpu_mhz keeps the leading zeros of the kHz remainder', () => {
    expect(formatInfo({ ...HOST_INFO, cpuKhz: 3000050 }, 'cpu_mhz')).toBe('3000.050\n');
  });

  it('with a name, prints the values of the lines starting with it (maybe_printf)', () => {
    expect(formatInfo(HOST_INFO, 'xen_version')).toBe('4.17.7\n');
    expect(formatInfo(HOST_INFO, 'xen_m')).toBe('4\n17\n');
    expect(formatInfo(HOST_INFO, 'nosuchkey')).toBe('');
  });

  it('virt_caps with no capability has no space after the colon, so the filter skips it', () => {
    const none = { ...HOST_INFO, virtCaps: [] };
    expect(formatInfo(none)).toContain('virt_caps              :\n');
    expect(formatInfo(none, 'virt_caps')).toBe('');
  });
});

describe('xl sched-credit / sched-credit2 (xl_sched.c)', () => {
  const domains = [
    { domid: 0, name: 'Domain-0', weight: 256, cap: 0 },
    { domid: 3, name: 'guest1', weight: 512, cap: 50 },
  ];

  it('credit: the pool line with tslice/ratelimit/migration-delay, the header, the rows', () => {
    expect(
      formatSchedCredit([
        {
          poolName: 'Pool-0',
          params: { tsliceMs: 30, ratelimitUs: 1000, migrationDelayUs: 0 },
          domains,
        },
      ]),
    ).toBe(
      'Cpupool Pool-0: tslice=30ms ratelimit=1000us migration-delay=0us\n' +
        'Name                                ID Weight  Cap\n' +
        'Domain-0                             0    256    0\n' +
        'guest1                               3    512   50\n',
    );
  });

  it('credit2: the pool line carries only the ratelimit', () => {
    expect(
      formatSchedCredit2([{ poolName: 'Pool-0', params: { ratelimitUs: 1000 }, domains: [] }]),
    ).toBe(
      'Cpupool Pool-0: ratelimit=1000us\nName                                ID Weight  Cap\n',
    );
  });

  it('-d prints the header and one row', () => {
    expect(formatSchedDomain({ domid: 3, name: 'guest1', weight: 512, cap: 50 })).toBe(
      'Name                                ID Weight  Cap\nguest1                               3    512   50\n',
    );
  });
});

describe('xl uptime (xl_info.c uptime_to_string)', () => {
  it('days, then %2d:%02d:%02d; short mode drops the seconds', () => {
    expect(uptimeToString(59, false)).toBe(' 0:00:59');
    expect(uptimeToString(3723, false)).toBe(' 1:02:03');
    expect(uptimeToString(86400 + 3723, false)).toBe('1 day,  1:02:03');
    expect(uptimeToString(3 * 86400 + 45296, false)).toBe('3 days, 12:34:56');
    expect(uptimeToString(3 * 86400 + 45296, true)).toBe('3 days, 12:34');
    expect(uptimeToString(600, true)).toBe(' 0:10');
  });

  it('normal mode: header and %-33s %4d rows', () => {
    expect(
      formatUptime(
        [
          { domid: 0, name: 'Domain-0', uptimeS: 90061 },
          { domid: 3, name: 'guest1', uptimeS: 3723 },
        ],
        false,
        '12:00:00',
      ),
    ).toBe(
      'Name                                ID Uptime\n' +
        'Domain-0                             0 1 day,  1:01:01\n' +
        'guest1                               3  1:02:03\n',
    );
  });

  it('-s: " HH:MM:SS up <uptime>, <name> (<id>)" with no header', () => {
    expect(formatUptime([{ domid: 3, name: 'guest1', uptimeS: 3723 }], true, '09:05:07')).toBe(
      ' 09:05:07 up  1:02, guest1 (3)\n',
    );
  });
});

describe('xl block-list (xl_block.c)', () => {
  it('header and rows are left-justified, the last column padded to 30', () => {
    expect(BLOCK_LIST_HEADER).toBe(
      'Vdev  BE  handle state evt-ch ring-ref BE-path                       ',
    );
    expect(
      formatBlockRows([
        {
          devid: 51712,
          backendId: 0,
          frontendId: 3,
          state: 4,
          evtch: 10,
          rref: 8,
          backendPath: '/local/domain/0/backend/vbd/3/51712',
        },
      ]),
    ).toBe('51712 0   3      4     10     8        /local/domain/0/backend/vbd/3/51712\n');
  });
});

describe('xl top screen (after xentop)', () => {
  it('summary lines, columns, and CPU% from the previous sample', () => {
    const before = takeSample({ ...HOST_INFO, nowMs: 1000 }, [guest1]);
    const later = { ...guest1, cpuTimeNs: guest1.cpuTimeNs + 500_000_000 };
    const screen = formatTopScreen(
      { ...HOST_INFO, nowMs: 2000 },
      [dom0, later],
      before,
      '10:00:00',
    );
    const lines = screen.split('\n');
    expect(lines[0]).toBe('xentop - 10:00:00   Xen 4.17.7');
    expect(lines[1]).toBe(
      '2 domains: 1 running, 1 blocked, 0 paused, 0 crashed, 0 dying, 0 shutdown ',
    );
    expect(lines[2]).toBe('Mem: 8388608k total, 4194304k used, 4194304k free    CPUs: 4 @ 2394MHz');
    expect(lines[3]).toBe(
      '      NAME  STATE   CPU(sec) CPU(%)     MEM(k) MEM(%)  MAXMEM(k) MAXMEM(%) VCPUS',
    );
    expect(lines[5]).toBe(
      '    guest1 --b---          5   50.0     524288    6.2     525312       6.3     2',
    );
  });
});
