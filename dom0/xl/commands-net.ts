// xl network-attach, network-list, network-detach (tools/xl/xl_nic.c): each NET_SPEC word is
// one parse_nic_config token, `xl -N network-attach` prints the parsed nic and attaches nothing,
// the nic is added through the toolstack; xl's table and messages.

import { ToolstackError } from '../toolstack/api.js';
import { parseNicWords } from '../toolstack/network-devices.js';
import type { CommandSpec } from './command-spec.js';
import { reportToolstackError } from './context.js';
import { nicToJson } from '../toolstack/config/libxl-json.js';
import { formatNicRows, NETWORK_LIST_HEADER } from './format-net.js';

export const networkAttach: CommandSpec = {
  name: 'network-attach',
  desc: 'Create a new virtual network device',
  usage:
    '<Domain> [type=<type>] [mac=<mac>] [bridge=<bridge>] [ip=<ip>] [script=<script>] [backend=<BackDomain>] [vifname=<name>] [rate=<rate>] [model=<model>] [accel=<accel>]',
  modifies: true,
  canDryRun: true,
  minArgs: 1,
  options: {},
  async run(ctx, a) {
    const [dom = '', ...spec] = a.positionals;
    const domid = await ctx.findDomain(dom);
    // parse_nic_config, one token per word, before anything reaches libxl; devid stays -1
    // (libxl picks the next free one) unless a word sets it.
    const p = parseNicWords(spec, -1);
    if (!p.ok) {
      ctx.err(`${p.error.message}\n`);
      return 1;
    }
    for (const w of p.warnings) ctx.err(`${w}\n`);
    if (ctx.flags.dryRun) {
      // DEVIATION(xen): xl.conf's vif.default.* live in the host daemon, so they are not shown.
      ctx.out(`vif: ${nicToJson(p.nic)}\n`);
      return 0;
    }
    try {
      await (await ctx.api()).networkAttach(domid, spec);
      return 0;
    } catch (e) {
      reportToolstackError(ctx, e);
      ctx.err('libxl_device_nic_add failed.\n');
      return 1;
    }
  },
};

export const networkList: CommandSpec = {
  name: 'network-list',
  desc: 'List virtual network interfaces for a domain',
  usage: '<Domain(s)>',
  modifies: false,
  canDryRun: false,
  minArgs: 1,
  options: {},
  async run(ctx, a) {
    ctx.out(`${NETWORK_LIST_HEADER}\n`);
    for (const dom of a.positionals) {
      const domid = await ctx.findDomain(dom);
      try {
        ctx.out(formatNicRows(await (await ctx.api()).networkList(domid)));
      } catch (e) {
        // libxl_device_nic_list returned nothing: xl moves on.
        if (!(e instanceof ToolstackError)) throw e;
      }
    }
    return 0;
  },
};

export const networkDetach: CommandSpec = {
  name: 'network-detach',
  desc: "Destroy a domain's virtual network device",
  usage: '<Domain> <DevId|mac>',
  modifies: false,
  canDryRun: false,
  minArgs: 2,
  options: {},
  async run(ctx, a) {
    const [dom = '', device = ''] = a.positionals;
    const domid = await ctx.findDomain(dom);
    try {
      await (await ctx.api()).networkDetach(domid, device);
      return 0;
    } catch (e) {
      if (e instanceof ToolstackError && e.code === 'NOTFOUND') {
        ctx.err(`Unknown device ${device}.\n`);
        return 1;
      }
      reportToolstackError(ctx, e);
      ctx.err('libxl_device_nic_del failed.\n');
      return 1;
    }
  },
};
