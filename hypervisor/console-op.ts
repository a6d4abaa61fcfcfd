// HYPERVISOR_console_io on the Xen console (xen/drivers/char/console.c do_console_io): the control
// domain writes to the console ring and reads serial input; other domains get -EPERM.

import { CONSOLEIO_read, CONSOLEIO_write } from '../hypercalls/console-io.js';
import {
  XEN_EFAULT,
  XEN_EINVAL,
  XEN_ENOSYS,
  XEN_EPERM,
  err,
  ok,
  type XenResult,
} from '../hypercalls/errno.js';
import type { Domain } from './domain.js';
import type { Hypervisor } from './hypervisor.js';

export function consoleIo(
  hv: Hypervisor,
  d: Domain,
  cmd: unknown,
  count: unknown,
  buffer: unknown,
): XenResult<number> {
  if (cmd !== CONSOLEIO_write && cmd !== CONSOLEIO_read) return err(XEN_ENOSYS);
  if (!d.privileged) return err(XEN_EPERM); // XSM_PRIV (CONFIG_VERBOSE_DEBUG builds aside)
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 0) return err(XEN_EINVAL);
  if (!(buffer instanceof Uint8Array) || count > buffer.length) return err(XEN_EFAULT);
  if (cmd === CONSOLEIO_write) {
    hv.consoleWrite(buffer.subarray(0, count));
    return ok(0);
  }
  return ok(hv.console.readInput(buffer, count));
}
