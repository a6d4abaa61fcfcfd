// xenbus_dev_error / xenbus_dev_fatal (Linux drivers/xen/xenbus/xenbus_client.c): a backend reports
// a device's error in `error/<nodename>/error` under its own domain's home, errno first.

import type { BackendXenstore } from './platform.js';

/** Writes `<errno> <message>` for the device at `devicePath` (`/local/domain/<B>/backend/...`). */
export function xenbusDevError(
  xs: BackendXenstore,
  backendDomid: number,
  devicePath: string,
  errno: number,
  message: string,
): void {
  const home = `/local/domain/${backendDomid}`;
  const nodename = devicePath.startsWith(`${home}/`)
    ? devicePath.slice(home.length + 1)
    : devicePath;
  xs.write(`${home}/error/${nodename}/error`, `${errno} ${message}`);
}
