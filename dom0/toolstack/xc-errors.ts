// How libxl reports a failed libxc call (libxl_internal.h LOGE/LOGED): the message, then
// strerror(errno) of the Xen errno, as one ToolstackError.

import { XEN_ERRNO_NAMES } from '../../hypercalls/errno.js';
import { ToolstackError, type LibxlErrorCode } from './api.js';

const STRERROR: Readonly<Record<number, string>> = {
  1: 'Operation not permitted',
  2: 'No such file or directory',
  3: 'No such process',
  12: 'Cannot allocate memory',
  13: 'Permission denied',
  16: 'Device or resource busy',
  17: 'File exists',
  22: 'Invalid argument',
  28: 'No space left on device',
  38: 'Function not implemented',
  75: 'Value too large for defined data type',
  110: 'Connection timed out',
};

/** strerror() of a (positive) Xen errno. */
export function describeErrno(errno: number): string {
  return STRERROR[errno] ?? XEN_ERRNO_NAMES[errno] ?? `Unknown error ${errno}`;
}

export function xcError(
  message: string,
  errno: number,
  code: LibxlErrorCode = 'FAIL',
): ToolstackError {
  const c: LibxlErrorCode = errno === 3 ? 'DOMAIN_NOTFOUND' : errno === 12 ? 'NOMEM' : code;
  return new ToolstackError(c, `${message}: ${describeErrno(errno)}`);
}
