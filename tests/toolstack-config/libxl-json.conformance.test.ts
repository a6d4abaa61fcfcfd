// `xl create -n` output: libxl_domain_config_to_json, pretty-printed by yajl with 4 spaces.

import { describe, expect, it } from 'vitest';

import type { DomainConfigInput } from '../../dom0/toolstack/config/index.js';
import {
  domainConfigToJson,
  JsonMap,
  parseDomainConfig,
  toYajlJson,
} from '../../dom0/toolstack/config/index.js';
import { expectOk, seeded } from './helpers.js';

const UUID = 'uuid = "8c2b6bf5-1f3b-4a8e-9d7e-3c1e2f4a5b6c"\n';

function json(text: string, extra: Partial<DomainConfigInput> = {}): string {
  const r = parseDomainConfig({ text, source: 'g.cfg', random: seeded(1), ...extra });
  return domainConfigToJson(expectOk(r).config);
}

describe('yajl beautified JSON (yajl_gen.c)', () => {
  it('4-space indent, "key": value, empty containers on two lines, final newline', () => {
    const m = new JsonMap()
      .set('a', 1)
      .set('b', new JsonMap())
      .set('c', [])
      .set('d', ['x', 'y"\\/\n']);
    expect(toYajlJson(m)).toBe(
      '{\n    "a": 1,\n    "b": {\n\n    },\n    "c": [\n\n    ],\n    "d": [\n        "x",\n        "y\\"\\\\/\\n"\n    ]\n}\n',
    );
  });
});

describe('xl create -n JSON (libxl_types.idl field order, defaults omitted)', () => {
  it('a minimal PV config (golden)', () => {
    const out = json(`name = "guest1"\nkernel = "/boot/vmlinuz"\nmemory = 512\n${UUID}`);
    expect(out).toBe(`{
    "c_info": {
        "type": "pv",
        "name": "guest1",
        "uuid": "8c2b6bf5-1f3b-4a8e-9d7e-3c1e2f4a5b6c",
        "run_hotplug_scripts": "True"
    },
    "b_info": {
        "max_memkb": 524288,
        "target_memkb": 524288,
        "sched_params": {

        },
        "claim_mode": "True",
        "kernel": "/boot/vmlinuz",
        "type.pv": {

        },
        "arch_arm": {

        },
        "arch_x86": {

        }
    },
    "on_reboot": "restart",
    "on_soft_reset": "soft_reset"
}
`);
  });

  it('a PV guest with vCPUs, a disk, a vif and non-default actions (golden)', () => {
    const text = `${UUID}name = "web"
kernel = "/boot/vmlinuz"
ramdisk = "/boot/initrd.img"
root = "/dev/xvda1 ro"
memory = 256
maxmem = 512
vcpus = 2
cpu_weight = 512
disk = [ '/var/lib/xen/web.img,raw,xvda,rw', 'vdev=xvdb,access=ro,format=qcow2,target=/srv/data.qcow2' ]
vif = [ 'mac=00:16:3e:12:34:56,bridge=xenbr1,rate=10Mb/s' ]
on_crash = "preserve"
on_poweroff = "rename-restart"
`;
    expect(json(text)).toBe(`{
    "c_info": {
        "type": "pv",
        "name": "web",
        "uuid": "8c2b6bf5-1f3b-4a8e-9d7e-3c1e2f4a5b6c",
        "run_hotplug_scripts": "True"
    },
    "b_info": {
        "max_vcpus": 2,
        "avail_vcpus": [
            0,
            1
        ],
        "max_memkb": 524288,
        "target_memkb": 262144,
        "sched_params": {
            "weight": 512
        },
        "claim_mode": "True",
        "kernel": "/boot/vmlinuz",
        "cmdline": "root=/dev/xvda1 ro",
        "ramdisk": "/boot/initrd.img",
        "type.pv": {

        },
        "arch_arm": {

        },
        "arch_x86": {

        }
    },
    "disks": [
        {
            "pdev_path": "/var/lib/xen/web.img",
            "vdev": "xvda",
            "format": "raw",
            "readwrite": 1
        },
        {
            "pdev_path": "/srv/data.qcow2",
            "vdev": "xvdb",
            "format": "qcow2"
        }
    ],
    "nics": [
        {
            "devid": 0,
            "mac": "00:16:3e:12:34:56",
            "bridge": "xenbr1",
            "rate_bytes_per_interval": 62500,
            "rate_interval_usecs": 50000
        }
    ],
    "on_poweroff": "restart_rename",
    "on_reboot": "restart",
    "on_crash": "preserve",
    "on_soft_reset": "soft_reset"
}
`);
  });

  it('defbools print "True"/"False", hard affinity lists bitmaps, set defaults print their value', () => {
    const out = json(
      `${UUID}name="g"\nkernel="/k"\nvcpus=1\ncpus=["1"]\nnomigrate=1\nlocaltime=0\nmax_grant_frames=64\non_reboot="destroy"`,
    );
    expect(out).toContain(
      '"vcpu_hard_affinity": [\n            [\n                1\n            ]\n        ],',
    );
    expect(out).toContain('"numa_placement": "False"');
    expect(out).toContain('"localtime": "False",\n        "disable_migrate": "True"');
    expect(out).toContain('"max_grant_frames": 64');
    expect(out).not.toContain('on_reboot');
  });

  it('PVH and HVM configs use the "type.pvh" / "type.hvm" union keys', () => {
    expect(json(`${UUID}name="g"\ntype="pvh"\nkernel="/k"\npvshim=1`)).toContain(
      '"type.pvh": {\n            "pvshim": "True"\n        },',
    );
    expect(json(`${UUID}name="g"\ntype="hvm"\nstdvga=1`)).toContain(
      '"type.hvm": {\n            "vga": {\n                "kind": "std"\n            },',
    );
  });

  it('vif devids count from 0 and an empty vif list prints no "nics"', () => {
    expect(json(`${UUID}name="g"\nkernel="/k"\nvif=["", ""]`)).toContain(
      '"nics": [\n        {\n            "devid": 0\n        },\n        {\n            "devid": 1\n        }\n    ],',
    );
    expect(json(`${UUID}name="g"\nkernel="/k"\nvif=[]`)).not.toContain('nics');
  });
});
