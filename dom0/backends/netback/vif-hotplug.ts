// The vif-bridge hotplug script (tools/hotplug/Linux/vif-bridge, vif-common.sh) for xensim:
// `online` adds vif<domid>.<devid> to the bridge named by the backend's `bridge` node (default
// xenbr0) as an access port of its `vlan=` VLANs, and writes hotplug-status=connected;
// `offline` removes the port. A missing bridge fails the hotplug, as brctl addif would.

import { parseVlan } from '../../toolstack/config/vlan.js';
import { DEFAULT_BRIDGE, type BridgeRegistry } from '../../net/bridge-registry.js';
import type { BridgePort, PortVlans } from '../../net/bridge-port.js';
import type { BackendXenstore } from '../platform.js';
import type { NetbackDevice } from './netback-device.js';

export type HotplugResult = { ok: true; port: BridgePort } | { ok: false; error: string };

/** vif-bridge online: attach the vif to its bridge and report hotplug-status. */
export function vifBridgeOnline(
  xs: BackendXenstore,
  registry: BridgeRegistry,
  dev: NetbackDevice,
): HotplugResult {
  const fail = (error: string): HotplugResult => {
    xs.write(`${dev.path}/hotplug-error`, error);
    xs.write(`${dev.path}/hotplug-status`, 'error');
    return { ok: false, error };
  };
  const name = xs.read(`${dev.path}/bridge`) ?? DEFAULT_BRIDGE;
  const bridge = registry.get(name === '' ? DEFAULT_BRIDGE : name);
  if (!bridge) return fail(`Could not find bridge device ${name}`);
  let vlans: PortVlans | undefined;
  const vlanSpec = xs.read(`${dev.path}/vlan`);
  if (vlanSpec !== undefined && vlanSpec !== '') {
    const v = parseVlan(vlanSpec);
    if (!v.ok) return fail(`invalid vlan ${vlanSpec}: ${v.message}`);
    vlans = v.vlan;
  }
  const added = bridge.addPort({
    name: dev.vifName,
    kind: 'vif',
    vlans,
    mtu: dev.mtu,
    deliver: (frame) => dev.receive(frame),
    deliverFrame: (frame) => dev.receive(frame),
  });
  if (!added.ok) return fail(added.error);
  const port = added.port;
  dev.transmit = (frame) => bridge.input(port, frame);
  xs.write(`${dev.path}/hotplug-status`, 'connected');
  return { ok: true, port };
}

/** vif-bridge offline: take the vif off its bridge. */
export function vifBridgeOffline(registry: BridgeRegistry, dev: NetbackDevice): boolean {
  dev.transmit = null;
  for (const info of registry.list()) {
    if (info.ports.includes(dev.vifName))
      return registry.get(info.name)?.removePort(dev.vifName) ?? false;
  }
  return false;
}
