// The block backend driver (xen-blkback's xenbus.c probe/remove) on the backend bus: a BlkbackDevice
// for each `/local/domain/<B>/backend/vbd/<frontend-domid>/<devid>` the toolstack writes.

import { BackendBus } from '../backend-bus.js';
import type { BackendPlatform } from '../platform.js';
import { BlkbackDevice, openSyncBlockFile, type BlockFileOpener } from './blkback-device.js';

export class Blkback extends BackendBus<BlkbackDevice> {
  constructor(platform: BackendPlatform, open: BlockFileOpener = openSyncBlockFile) {
    super(platform, 'vbd', (fe, devid) => new BlkbackDevice(platform, fe, devid, open));
  }
}
