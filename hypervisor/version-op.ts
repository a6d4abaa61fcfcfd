// HYPERVISOR_xen_version (xen/common/kernel.c do_xen_version, with the access rules of xsm/dummy.h).

import {
  XEN_EFAULT,
  XEN_EINVAL,
  XEN_ENOSYS,
  XEN_EPERM,
  err,
  ok,
  type XenResult,
} from '../hypercalls/errno.js';
import {
  XENFEAT_dom0,
  XENFEAT_gnttab_map_avail_bits,
  XENFEAT_mmu_pt_update_preserve_ad,
  XENFEAT_NR_SUBMAPS,
  XENFEAT_writable_descriptor_tables,
  XENVER_build_id,
  XENVER_capabilities,
  XENVER_changeset,
  XENVER_commandline,
  XENVER_compile_info,
  XENVER_extraversion,
  XENVER_get_features,
  XENVER_guest_handle,
  XENVER_pagesize,
  XENVER_platform_parameters,
  XENVER_version,
} from '../hypercalls/version.js';
import { PAGE_SIZE } from '../hypercalls/types.js';
import { struct } from './args.js';
import type { Domain } from './domain.js';
import type { Hypervisor } from './hypervisor.js';

export const XEN_CAPABILITIES = 'xen-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64';
export const HYPERVISOR_VIRT_START = 0xffff800000000000;
export const XEN_COMMANDLINE = 'placeholder dom0_mem=auto';

const OK0 = ok(0);

export function xenVersion(
  hv: Hypervisor,
  d: Domain,
  cmd: unknown,
  arg: unknown,
): XenResult<number> {
  switch (cmd) {
    case XENVER_version:
      return ok((hv.version.major << 16) | hv.version.minor);
    case XENVER_pagesize:
      return ok(PAGE_SIZE);
    case XENVER_extraversion:
      return putString(arg, hv.version.extra.slice(0, 15));
    case XENVER_capabilities:
      return putString(arg, XEN_CAPABILITIES);
    case XENVER_changeset:
      return putString(arg, 'unavailable');
    case XENVER_compile_info: {
      const o = struct(arg);
      if (!o) return err(XEN_EFAULT);
      o.compiler = 'xensim';
      o.compile_by = 'xensim';
      o.compile_domain = 'xensim.invalid';
      o.compile_date = 'virtual';
      return OK0;
    }
    case XENVER_platform_parameters: {
      const o = struct(arg);
      if (!o) return err(XEN_EFAULT);
      o.virt_start = HYPERVISOR_VIRT_START;
      return OK0;
    }
    case XENVER_get_features: {
      const o = struct(arg);
      if (!o) return err(XEN_EFAULT);
      const idx = o.submap_idx;
      if (typeof idx !== 'number' || !Number.isInteger(idx)) return err(XEN_EFAULT);
      if (idx < 0 || idx >= XENFEAT_NR_SUBMAPS) return err(XEN_EINVAL);
      let map =
        (1 << XENFEAT_writable_descriptor_tables) |
        (1 << XENFEAT_mmu_pt_update_preserve_ad) |
        (1 << XENFEAT_gnttab_map_avail_bits);
      if (d.domid === 0) map |= 1 << XENFEAT_dom0;
      o.submap = map >>> 0;
      return OK0;
    }
    case XENVER_guest_handle: {
      const o = struct(arg);
      if (!o) return err(XEN_EFAULT);
      o.value = d.handle.slice();
      return OK0;
    }
    case XENVER_commandline:
      if (!d.privileged) return err(XEN_EPERM);
      return putString(arg, XEN_COMMANDLINE);
    case XENVER_build_id:
      if (!d.privileged) return err(XEN_EPERM);
      return putString(arg, '');
    default:
      return err(XEN_ENOSYS);
  }
}

function putString(arg: unknown, s: string): XenResult<number> {
  const o = struct(arg);
  if (!o) return err(XEN_EFAULT);
  o.value = s;
  return OK0;
}
