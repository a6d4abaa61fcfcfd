import { describe, expect, it } from 'vitest';

import type { DiskSpec } from '../../dom0/toolstack/config/index.js';
import {
  diskTargetPath,
  formatDiskSpecError,
  parseDiskSpec,
  vdevToDevid,
} from '../../dom0/toolstack/config/index.js';

function disk(spec: string): DiskSpec {
  const r = parseDiskSpec(spec);
  if (!r.ok) throw new Error(formatDiskSpecError(r.error));
  return r.disk;
}

const pick = (d: DiskSpec) => ({
  target: d.pdevPath,
  format: d.format,
  vdev: d.vdev,
  rw: d.readwrite,
  cdrom: d.isCdrom,
});

describe('disk spec (xl-disk-configuration(5), libxlu_disk_l.l)', () => {
  it('the man page equivalent forms give the same disk', () => {
    const forms = [
      '/dev/vg/guest-volume,,hda',
      '/dev/vg/guest-volume,raw,hda,rw',
      'format=raw, vdev=hda, access=rw, target=/dev/vg/guest-volume',
      'raw:/dev/vg/guest-volume,hda,w',
    ];
    for (const f of forms)
      expect(pick(disk(f)), f).toEqual({
        target: '/dev/vg/guest-volume',
        format: 'raw',
        vdev: 'hda',
        rw: true,
        cdrom: false,
      });
  });

  const table: [string, Partial<DiskSpec>][] = [
    [
      '/root/image.iso,,hdc,devtype=cdrom',
      {
        pdevPath: '/root/image.iso',
        vdev: 'hdc',
        isCdrom: true,
        readwrite: false,
        removable: true,
        format: 'raw',
      },
    ],
    ['/root/image.iso,,hdc,cdrom', { isCdrom: true, readwrite: false }],
    [',,hdc:cdrom,r', { pdevPath: '', vdev: 'hdc', isCdrom: true, format: 'empty' }],
    [
      ',hdc:cdrom,r',
      { pdevPath: '', vdev: 'hdc', isCdrom: true, format: 'empty', readwrite: false },
    ],
    ['vdev=hdc,devtype=cdrom', { pdevPath: undefined, isCdrom: true, format: 'empty' }],
    ['/img.qcow2,qcow2,xvda,ro', { format: 'qcow2', readwrite: false, vdev: 'xvda' }],
    [
      'format=vhd,vdev=xvdb,access=r,target=/a/b.vhd',
      { format: 'vhd', vdev: 'xvdb', readwrite: false },
    ],
    ['vdev=xvda,target=/path,with,commas=ok', { pdevPath: '/path,with,commas=ok' }],
    ['vdev=xvda,target=/trailing,', { pdevPath: '/trailing' }],
    ['phy:hda1,hda1,w', { pdevPath: 'hda1', vdev: 'hda1', format: 'raw', readwrite: true }],
    [
      'file:/var/images/min-el3-i386.img,hda,w',
      { pdevPath: '/var/images/min-el3-i386.img', vdev: 'hda' },
    ],
    [
      'phy:/dev/cdrom,hdc:cdrom,r',
      { pdevPath: '/dev/cdrom', vdev: 'hdc', isCdrom: true, format: 'raw' },
    ],
    [
      'nbd:134.100.233.115 20004,hda1,w',
      { pdevPath: '134.100.233.115 20004', script: 'block-nbd' },
    ],
    ['tap:aio:/img,xvda,w', { pdevPath: '/img', vdev: 'xvda' }],
    ['qcow2:/img.q2,xvda,w', { format: 'qcow2', pdevPath: '/img.q2' }],
    [
      '/dev/sdb,,xvdb,backend=storage,backendtype=phy,script=iscsi',
      { backendDomname: 'storage', backend: 'phy', script: 'iscsi' },
    ],
    [
      '/img,,xvda,direct-io-safe,no-discard,untrusted',
      { directIoSafe: true, discardEnable: false, trusted: false },
    ],
    [
      '/img,,xvda,discard,trusted,specification=virtio',
      { discardEnable: true, trusted: true, specification: 'virtio' },
    ],
    ['/img, raw, xvda, rw', { pdevPath: '/img', format: 'raw', vdev: 'xvda' }],
    ['/img,,xvda,w,backendtype=qdisk', { backend: 'qdisk', readwrite: true }],
  ];
  it.each(table)('%s', (spec, expected) => {
    expect(disk(spec)).toMatchObject(expected);
  });

  const errors: [string, string, string | undefined][] = [
    ['/img,,', 'no vdev specified', undefined],
    ['vdev=xvda', 'no target specified (and device not removable)', undefined],
    ['/img,hda,w', 'unknown value for format', 'hda'],
    ['/img,,xvda,rx', 'unknown value for access', 'rx'],
    ['/img,,xvda,w,extra', 'too many positional parameters', 'extra'],
    ['/img,,xvda,colour=red', 'unknown parameter', 'colour=red'],
    ['/img,,xvda,backendtype=nfs', 'unknown value for backendtype', 'nfs'],
    ['/img,,xvda,devtype=floppy', 'unknown value for type', 'devtype=floppy'],
    ['vdev=xvda,vdev=xvdb,target=/x', 'vdev respecified', 'xvdb'],
    ['foo:/img,xvda,w', 'unknown deprecated disk prefix', 'foo:'],
    ['/img,hdc:cdrom', 'unknown value for format', 'hdc:cdrom'],
    [',,hdc:tape', 'unknown deprecated type', 'tape'],
    ['/a=b,,xvda', 'bad disk syntax', '=b,,xvda'],
  ];
  it.each(errors)('rejects %s: %s', (spec, message, near) => {
    const r = parseDiskSpec(spec);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.message).toBe(message);
    expect(r.error.near).toBe(near);
    expect(r.error.hint.length).toBeGreaterThan(10);
    expect(formatDiskSpecError(r.error)).toContain(`in \`${spec}'`);
  });
});

describe('vdev -> devid (libxl__device_disk_dev_number, reference 5.10)', () => {
  const table: [string, number][] = [
    ['xvda', 51712],
    ['xvdb', 51728],
    ['xvda1', 51713],
    ['xvdp15', (202 << 8) | (15 << 4) | 15],
    ['xvdq', (1 << 28) | (16 << 8)],
    ['xvda16', (1 << 28) | 16],
    ['xvdaa', (1 << 28) | (26 << 8)],
    ['d0p1', 51713],
    ['d20p3', (1 << 28) | (20 << 8) | 3],
    ['hda', 3 << 8],
    ['hdb', (3 << 8) | 64],
    ['hdc', 22 << 8],
    ['hdd2', (22 << 8) | 64 | 2],
    ['hda1', 769],
    ['sda', 8 << 8],
    ['sdb3', (8 << 8) | 16 | 3],
    ['51712', 51712],
  ];
  it.each(table)('%s -> %i', (vdev, devid) => {
    expect(vdevToDevid(vdev)?.devid).toBe(devid);
  });

  it.each(['hde', 'sdq', 'xvd', 'xvda0', 'xvda01', 'xvda256', 'vda', 'hda64', 'sda16', ''])(
    'refuses %j',
    (vdev) => {
      expect(vdevToDevid(vdev)).toBeUndefined();
    },
  );
});

describe('disk target path', () => {
  it('/dev is prepended to a relative target; an empty cdrom has none', () => {
    expect(diskTargetPath(disk('phy:hda1,hda1,w'))).toBe('/dev/hda1');
    expect(diskTargetPath(disk('/img,,xvda'))).toBe('/img');
    expect(diskTargetPath(disk(',,hdc:cdrom,r'))).toBeUndefined();
  });
});
