// The network backend driver (xen-netback's netback_probe/netback_remove) on the backend bus: a
// NetbackDevice for each `/local/domain/<B>/backend/vif/<frontend-domid>/<devid>` the toolstack
// writes; `onRemove` detaches the vif's bridge port (the hotplug `offline` step).

import { BackendBus } from '../backend-bus.js';
import type { BackendPlatform } from '../platform.js';
import { NetbackDevice } from './netback-device.js';

export class Netback extends BackendBus<NetbackDevice> {
  constructor(platform: BackendPlatform) {
    super(platform, 'vif', (fe, devid) => new NetbackDevice(platform, fe, devid));
  }
}
