import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { XlIo } from '../../dom0/xl/main.js';
import { runXl } from './harness.js';
import { domainInfo, MemoryToolstack } from './memory-toolstack.js';

let ts: MemoryToolstack;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xl-main-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

beforeEach(() => {
  ts = new MemoryToolstack();
  ts.domains.set(3, domainInfo({ domid: 3, name: 'guest1', vcpuOnline: 2 }));
});

describe('xl command lookup and usage errors (xl.c, xl_utils.c def_getopt)', () => {
  it('the process streams fit XlIo, so a bin file can pass them as they are', () => {
    const io: XlIo = {
      stdout: process.stdout,
      stderr: process.stderr,
      stdin: process.stdin,
      env: process.env,
    };
    expect(io.env).toBe(process.env);
  });

  it('an unambiguous prefix runs the command: `xl li` is `xl list`', async () => {
    const r = await runXl(ts, ['li']);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe(
      'Name                                        ID   Mem VCPUs\tState\tTime(s)',
    );
    expect(r.stdout).toContain('guest1');
  });

  it('an unknown command prints "command not implemented" and fails', async () => {
    const r = await runXl(ts, ['frobnicate']);
    expect(r).toEqual({ code: 1, stdout: '', stderr: 'command not implemented\n' });
  });

  it("an ambiguous prefix fails with xl's words and names the candidates", async () => {
    const r = await runXl(ts, ['vcpu-']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      "command not implemented\nxl: 'vcpu-' is ambiguous: vcpu-list, vcpu-pin, vcpu-set\n",
    );
  });

  it('an unsupported option is "option `x\' not supported." with exit 2', async () => {
    const r = await runXl(ts, ['list', '-q']);
    expect(r).toEqual({ code: 2, stdout: '', stderr: "option `q' not supported.\n" });
  });

  it('too few arguments: "\'xl pause\' requires at least 1 argument." then help, exit 2', async () => {
    const r = await runXl(ts, ['pause']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("'xl pause' requires at least 1 argument.\n\n");
    expect(r.stdout).toBe('Usage: xl [-vtT] pause <Domain>\n\nPause execution of a domain.\n\n');
  });

  it('plural wording for two required arguments', async () => {
    const r = await runXl(ts, ['rename', 'guest1']);
    expect(r.stderr).toBe("'xl rename' requires at least 2 arguments.\n\n");
  });

  it('-h prints the command help and succeeds', async () => {
    const r = await runXl(ts, ['destroy', '-h']);
    expect(r.code).toBe(0);
    expect(r.stdout.startsWith('Usage: xl [-vtT] destroy [options] <Domain>\n')).toBe(true);
  });

  it('no command prints the full list and fails; `xl help` succeeds', async () => {
    const none = await runXl(ts, []);
    expect(none.code).toBe(1);
    expect(none.stdout).toContain(' vcpu-pin            Set which CPUs a VCPU can use\n');
    expect((await runXl(ts, ['help'])).code).toBe(0);
  });

  it('an unknown global option is rejected', async () => {
    expect(await runXl(ts, ['-z', 'list'])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'unknown global option\n',
    });
  });

  it('-N with a command that cannot dry-run is refused', async () => {
    const r = await runXl(ts, ['-N', 'destroy', 'guest1']);
    expect(r).toEqual({
      code: 1,
      stdout: '',
      stderr: 'command does not implement -N (dryrun) option\n',
    });
  });
});

describe('domain arguments (find_domain)', () => {
  it('a name or a numeric id names the same domain', async () => {
    expect((await runXl(ts, ['pause', 'guest1'])).code).toBe(0);
    expect(ts.domains.get(3)?.paused).toBe(true);
    expect((await runXl(ts, ['unpause', '3'])).code).toBe(0);
    expect(ts.domains.get(3)?.paused).toBe(false);
  });

  it('an unknown name: "<name> is an invalid domain identifier (rc=-6)", exit 1', async () => {
    const r = await runXl(ts, ['pause', 'nosuch']);
    expect(r).toEqual({
      code: 1,
      stdout: '',
      stderr: 'nosuch is an invalid domain identifier (rc=-6)\n',
    });
  });

  it('`xl list <id>` of a missing domain: "Error: Domain \'<id>\' does not exist."', async () => {
    const r = await runXl(ts, ['list', '42']);
    expect(r).toEqual({ code: 1, stdout: '', stderr: "Error: Domain '42' does not exist.\n" });
  });

  it("domid and domname convert both ways, with xl's messages when absent", async () => {
    expect(await runXl(ts, ['domid', 'guest1'])).toEqual({ code: 0, stdout: '3\n', stderr: '' });
    expect(await runXl(ts, ['domname', '3'])).toEqual({ code: 0, stdout: 'guest1\n', stderr: '' });
    expect((await runXl(ts, ['domid', 'x'])).stderr).toBe(
      "Can't get domid of domain name 'x', maybe this domain does not exist.\n",
    );
    expect((await runXl(ts, ['domname', '9'])).stderr).toBe(
      "Can't get domain name of domain id '9', maybe this domain does not exist.\n",
    );
    expect(await runXl(ts, ['domname', 'abc'])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'Invalid domain id.\n\n',
    });
  });
});

describe('lifecycle commands', () => {
  it('create reads the file, says "Parsing config from", passes key=value overrides', async () => {
    const cfg = path.join(tmp, 'g.cfg');
    fs.writeFileSync(cfg, 'name = "web"\nmemory = 256\n');
    const r = await runXl(ts, ['create', 'g.cfg', 'memory=1024', '-p'], { cwd: tmp });
    expect(r).toEqual({ code: 0, stdout: '', stderr: 'Parsing config from g.cfg\n' });
    const call = ts.calls.find((c) => c.op === 'create');
    expect(call?.args[0]).toMatchObject({
      configSource: 'g.cfg',
      overrides: ['memory=1024'],
      paused: true,
      dryRun: false,
      cwd: tmp,
    });
    const web = [...ts.domains.values()].find((d) => d.name === 'web');
    expect(web?.paused).toBe(true);
  });

  it('create -q is quiet; -n prints the configuration and creates nothing', async () => {
    fs.writeFileSync(path.join(tmp, 'h.cfg'), 'name = "dry"\n');
    const r = await runXl(ts, ['create', '-q', '-n', 'h.cfg'], { cwd: tmp });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ c_info: { name: 'dry' } });
    expect([...ts.domains.values()].some((d) => d.name === 'dry')).toBe(false);
  });

  it('create of a missing file: "Failed to read config file: f: No such file or directory"', async () => {
    const r = await runXl(ts, ['create', 'missing.cfg'], { cwd: tmp });
    expect(r).toEqual({
      code: 3,
      stdout: '',
      stderr: 'Failed to read config file: missing.cfg: No such file or directory\n',
    });
  });

  it("a failed create prints libxl's message and exits with -rc", async () => {
    fs.writeFileSync(path.join(tmp, 'bad.cfg'), 'memory = 64\n');
    const r = await runXl(ts, ['create', 'bad.cfg'], { cwd: tmp });
    expect(r.code).toBe(6);
    expect(r.stderr).toBe('Parsing config from bad.cfg\nlibxl: error: domain config has no name\n');
  });

  it("destroy refuses domain 0 without -f, in xl's words", async () => {
    const r = await runXl(ts, ['destroy', '0']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'Not destroying domain 0; use -f to force.\nThis can only be done when using a disaggregated hardware domain and toolstack.\n\n',
    );
  });

  it('destroy of a missing domid reports libxl and "destroy failed (rc=-21)"', async () => {
    const r = await runXl(ts, ['destroy', '42']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('libxl: error: Domain 42:Non-existant domain\ndestroy failed (rc=-21)\n');
  });

  it('shutdown says "Shutting down domain N"; -w waits and reports the death', async () => {
    const r = await runXl(ts, ['shutdown', '-w', 'guest1']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(
      'Shutting down domain 3\nWaiting for 1 domains\nDomain 3 has been destroyed\n',
    );
    expect(ts.calls.find((c) => c.op === 'shutdown')?.args).toEqual([3, 'poweroff', true]);
  });

  it('shutdown without a domain or -a: "You must specify -a or a domain id."', async () => {
    expect(await runXl(ts, ['shutdown'])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'You must specify -a or a domain id.\n\n',
    });
  });

  it('reboot -a reboots every guest but not dom0', async () => {
    ts.domains.set(4, domainInfo({ domid: 4, name: 'guest2' }));
    const r = await runXl(ts, ['reboot', '-a']);
    expect(r.stderr).toBe('Rebooting domain 3\nRebooting domain 4\n');
    expect(ts.calls.filter((c) => c.op === 'shutdown').map((c) => c.args)).toEqual([
      [3, 'reboot', false],
      [4, 'reboot', false],
    ]);
  });

  it("rename failure: libxl message then \"Can't rename domain 'x'.\"", async () => {
    const r = await runXl(ts, ['rename', 'guest1', 'Domain-0']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      "libxl: error: domain with name \"Domain-0\" already exists.\nCan't rename domain 'guest1'.\n",
    );
  });

  it('vm-list leaves dom0 out', async () => {
    const r = await runXl(ts, ['vm-list']);
    expect(r.stdout).toBe(
      'UUID                                  ID    name\n00000000-0000-0000-0000-000000000003  3    guest1                        \n',
    );
  });

  it('list sorts by domid with Domain-0 first whatever order the toolstack gives', async () => {
    const shuffled = new MemoryToolstack();
    shuffled.domains.clear();
    shuffled.domains.set(5, domainInfo({ domid: 5, name: 'e' }));
    shuffled.domains.set(0, domainInfo({ domid: 0, name: 'Domain-0' }));
    shuffled.domains.set(2, domainInfo({ domid: 2, name: 'b' }));
    const rows = (await runXl(shuffled, ['list'])).stdout.trim().split('\n').slice(1);
    expect(rows.map((r) => r.split(' ')[0])).toEqual(['Domain-0', 'b', 'e']);
  });

  it('list -l prints the configuration JSON', async () => {
    const r = await runXl(ts, ['list', '-l', 'guest1']);
    expect(JSON.parse(r.stdout)).toEqual([
      {
        domid: 3,
        config: {
          c_info: { type: 'pv', name: 'guest1', uuid: '00000000-0000-0000-0000-000000000003' },
          b_info: { max_vcpus: 2 },
        },
      },
    ]);
  });
});

describe('memory and vCPU commands', () => {
  it('mem-set takes xl sizes: no suffix is MiB', async () => {
    expect((await runXl(ts, ['mem-set', 'guest1', '256'])).code).toBe(0);
    expect((await runXl(ts, ['mem-max', 'guest1', '1g'])).code).toBe(0);
    expect(
      ts.calls.filter((c) => c.op === 'memSet' || c.op === 'memMax').map((c) => c.args),
    ).toEqual([
      [3, 262144],
      [3, 1048576],
    ]);
  });

  it('mem-set of an invalid size: "invalid memory size: 12q"', async () => {
    expect(await runXl(ts, ['mem-set', 'guest1', '12q'])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'invalid memory size: 12q\n',
    });
  });

  it('a refused mem-set: libxl message then "cannot set domid N dynamic max memory to : X"', async () => {
    const r = await runXl(ts, ['mem-set', 'guest1', '4g']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'libxl: error: memory_dynamic_max must be less than or equal to memory_static_max\ncannot set domid 3 dynamic max memory to : 4g\n',
    );
  });

  it('vcpu-pin parses CPU lists and "-" leaves soft affinity alone', async () => {
    expect((await runXl(ts, ['vcpu-pin', 'guest1', '1', '0-1,3'])).code).toBe(0);
    expect((await runXl(ts, ['vcpu-pin', 'guest1', 'all', 'all', '2'])).code).toBe(0);
    expect(ts.calls.filter((c) => c.op === 'vcpuPin').map((c) => c.args)).toEqual([
      [3, 1, [0, 1, 3], null, false],
      [3, 'all', [0, 1, 2, 3], [2], false],
    ]);
  });

  it('vcpu-pin errors: invalid VCPU, --force with all', async () => {
    expect((await runXl(ts, ['vcpu-pin', 'guest1', 'x', '1'])).stderr).toBe(
      'Error: Invalid argument x as VCPU.\n',
    );
    expect((await runXl(ts, ['vcpu-pin', '-f', 'guest1', 'all', '1'])).stderr).toBe(
      "Error: --force and 'all' as VCPU not allowed.\n",
    );
  });

  it('vcpu-pin -N prints the cpumaps without pinning', async () => {
    const r = await runXl(ts, ['-N', 'vcpu-pin', 'guest1', '0', '1-2', 'all']);
    expect(r).toEqual({ code: 0, stdout: 'cpumap: 1-2 all\n', stderr: '' });
    expect(ts.calls.some((c) => c.op === 'vcpuPin')).toBe(false);
  });

  it('vcpu-set refuses to overcommit the host unless -i', async () => {
    const r = await runXl(ts, ['vcpu-set', 'guest1', '8']);
    expect(r.stderr).toBe(
      'You are overcommmitting! You have 4 physical CPUs and want 8 vCPUs! Aborting, use --ignore-host to continue\n',
    );
    expect((await runXl(ts, ['vcpu-set', '-i', 'guest1', '8'])).code).toBe(0);
    expect(ts.domains.get(3)?.vcpuOnline).toBe(8);
  });

  it('vcpu-list prints the header then the rows of the named domains', async () => {
    const r = await runXl(ts, ['vcpu-l', 'guest1']);
    expect(r.stdout).toBe(
      'Name                                ID  VCPU   CPU State   Time(s) Affinity (Hard / Soft)\n' +
        'guest1                               3     0    0   -b-       1.0  all / all\n' +
        'guest1                               3     1    1   -b-       2.0  all / all\n',
    );
  });
});

describe('host-wide commands', () => {
  it('info prints the host lines; info KEY only the value', async () => {
    expect((await runXl(ts, ['info'])).stdout).toContain('xen_scheduler          : credit2\n');
    expect(await runXl(ts, ['info', 'nr_cpus'])).toEqual({ code: 0, stdout: '4\n', stderr: '' });
  });

  it('dmesg prints the ring; -c clears it', async () => {
    expect((await runXl(ts, ['dmesg', '-c'])).stdout).toBe(
      '(XEN) Xen version 4.17.7\n(XEN) Command line: placeholder\n',
    );
    expect((await runXl(ts, ['dmesg'])).stdout).toBe('');
  });

  it('uptime lists Domain-0 then the guests; a named domain only that one', async () => {
    const r = await runXl(ts, ['uptime']);
    expect(r.stdout).toBe(
      'Name                                ID Uptime\n' +
        'Domain-0                             0 1 day,  1:01:01\n' +
        'guest1                               3  1:02:03\n',
    );
    const one = await runXl(ts, ['uptime', 'guest1']);
    expect(one.stdout).toBe(
      'Name                                ID Uptime\nguest1                               3  1:02:03\n',
    );
  });

  it('sched-credit2 lists pools; -d shows one domain; -w sets the weight', async () => {
    expect((await runXl(ts, ['sched-credit2'])).stdout.split('\n')[0]).toBe(
      'Cpupool Pool-0: ratelimit=1000us',
    );
    expect((await runXl(ts, ['sched-credit2', '-d', 'guest1', '-w', '512'])).code).toBe(0);
    expect((await runXl(ts, ['sched-credit2', '-d', 'guest1'])).stdout).toBe(
      'Name                                ID Weight  Cap\nguest1                               3    512    0\n',
    );
  });

  it("sched-credit option rules use xl's words", async () => {
    expect((await runXl(ts, ['sched-credit', '-w', '5'])).stderr).toBe('Must specify a domain.\n');
    expect((await runXl(ts, ['sched-credit', '-s', '-d', 'guest1'])).stderr).toBe(
      'Specifying a cpupool or schedparam is not allowed with domain options.\n',
    );
    expect((await runXl(ts, ['sched-credit', '-t', '10'])).stderr).toBe(
      'Must specify schedparam to set schedule parameter values.\n',
    );
    expect((await runXl(ts, ['sched-credit', '-p', 'Pool-9'])).stderr).toBe(
      "unknown cpupool 'Pool-9'\n",
    );
    expect((await runXl(ts, ['sched-credit', '-s', '-t', '10'])).code).toBe(0);
    expect((await runXl(ts, ['sched-credit', '-s'])).stdout).toBe(
      'Cpupool Pool-0: tslice=10ms ratelimit=1000us migration-delay=0us\n',
    );
  });

  it('sched-credit -d of a domain the scheduler does not know: header, then the failure', async () => {
    const r = await runXl(ts, ['sched-credit', '-d', '42']);
    expect(r).toEqual({
      code: 1,
      stdout: 'Name                                ID Weight  Cap\n',
      stderr: 'libxl_domain_sched_params_get failed.\n',
    });
  });

  it('-s on a pool that runs another scheduler: params unavailable', async () => {
    ts.schedCreditGet = () => Promise.resolve([]);
    const r = await runXl(ts, ['sched-credit', '-s']);
    expect(r).toEqual({
      code: 0,
      stdout: 'Cpupool Pool-0: [sched params unavailable]\n',
      stderr: 'libxl_sched_credit_params_get failed.\n',
    });
  });

  it('top -b -i 2 prints two screens and exits', async () => {
    const r = await runXl(ts, ['top', '-b', '-i', '2', '-d', '0.01']);
    expect(r.code).toBe(0);
    expect(r.stdout.match(/^xentop - /gm)?.length).toBe(2);
  });
});

describe('devices, save/restore, console', () => {
  it('block-attach, block-list, block-detach', async () => {
    expect(
      (await runXl(ts, ['block-attach', 'guest1', 'format=raw,vdev=xvda,target=/img'])).code,
    ).toBe(0);
    const r = await runXl(ts, ['block-list', 'guest1']);
    expect(r.stdout).toBe(
      'Vdev  BE  handle state evt-ch ring-ref BE-path                       \n' +
        '51712 0   3      4     10     8        /local/domain/0/backend/vbd/3/51712\n',
    );
    expect((await runXl(ts, ['block-detach', 'guest1', '51712'])).code).toBe(0);
    expect(await runXl(ts, ['block-detach', 'guest1', '51712'])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'Error: Device 51712 not connected.\n',
    });
    expect((await runXl(ts, ['block-list', 'nosuch'])).stderr).toBe(
      'nosuch is an invalid domain identifier\n',
    );
  });

  it("save shows the toolstack's notes and progress, with an absolute file path", async () => {
    const r = await runXl(ts, ['save', 'guest1', 'g.save'], { cwd: tmp });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(
      `Saving to ${path.join(tmp, 'g.save')} new xl format (info 0x3/0x0/1024)\n` +
        'xc: Saving memory: 0/1024   0%\nxc: Saving memory: 256/1024  25%\nxc: Saving memory: 512/1024  50%\n' +
        'xc: Saving memory: 768/1024  75%\nxc: Saving memory: 1024/1024 100%\n',
    );
    expect(ts.domains.has(3)).toBe(false);
  });

  it('save -t rewrites the progress line in place', async () => {
    const r = await runXl(ts, ['-t', 'save', '-c', 'guest1', '/tmp/x.save']);
    expect(r.stderr.endsWith('\rxc: Saving memory: 1024/1024 100%\n')).toBe(true);
    expect(ts.domains.has(3)).toBe(true);
  });

  it('restore [cfg] file: one or two arguments', async () => {
    expect((await runXl(ts, ['restore', '-p', '/tmp/x.save'])).code).toBe(0);
    expect(ts.calls.find((c) => c.op === 'restore')?.args[0]).toEqual({
      file: '/tmp/x.save',
      paused: true,
    });
    expect((await runXl(ts, ['restore', 'a', 'b', 'c'])).code).toBe(2);
  });

  it('console relays output and input until Ctrl-], then detaches', async () => {
    ts.consoleOutput = Buffer.from('login: ');
    const stdin = new PassThrough();
    const run = runXl(ts, ['console', 'guest1'], { stdin });
    await new Promise((r) => setTimeout(r, 20));
    stdin.write('root\r');
    stdin.write(Buffer.from([0x6c, 0x1d, 0x6d]));
    const r = await run;
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('login: ');
    expect(Buffer.from(ts.consoleInput).toString()).toBe('root\rl');
    expect(ts.calls.some((c) => c.op === 'consoleDetach')).toBe(true);
  });
});
