// `xl network-attach` NET_SPEC words (tools/xl/xl_nic.c main_networkattach, xl_parse.c
// parse_nic_config): each word is one token applied to the same nic in turn.

import { describe, expect, it } from 'vitest';
import { parseNicWords } from '../../dom0/toolstack/network-devices.js';

const nicOf = (words: string[], devid = -1) => {
  const r = parseNicWords(words, devid);
  if (!r.ok) throw new Error(r.error.message);
  return r.nic;
};

describe('parseNicWords', () => {
  it('applies each word as one token; a later key replaces an earlier one', () => {
    const n = nicOf(['mac=00:16:3e:00:00:01', 'bridge=xenbr1', 'mac=00:16:3E:0:0:2', 'devid=4']);
    expect([n.mac, n.bridge, n.devid]).toEqual(['00:16:3e:00:00:02', 'xenbr1', 4]);
    expect(nicOf([], 7).devid).toBe(7);
  });

  it('keeps a comma inside a string value, as replace_string does', () => {
    const n = nicOf(['bridge=xenbr0,mac=00:16:3e:00:00:42', 'ip=10.0.0.1,10.0.0.2']);
    expect([n.bridge, n.ip, n.mac]).toEqual([
      'xenbr0,mac=00:16:3e:00:00:42',
      '10.0.0.1,10.0.0.2',
      undefined,
    ]);
  });

  it('reads the six groups of mac= and ignores the rest of the word', () => {
    const n = nicOf(['mac=00:16:3e:00:00:41,bridge=br9']);
    expect([n.mac, n.bridge]).toEqual(['00:16:3e:00:00:41', undefined]);
  });

  it('refuses typed values with a comma and words that are no key=value', () => {
    const err = (words: string[]) => {
      const r = parseNicWords(words, 0);
      return r.ok ? 'ok' : r.error.message;
    };
    expect(err(['mtu=1400,bridge=x'])).toBe('xl: failed to convert "1400,bridge=x" to number');
    expect(err(['type=vif,mac=1'])).toBe("Invalid parameter `type'");
    expect(err(['trusted,bridge=x'])).toBe("unrecognized argument `trusted,bridge=x'");
    expect(err(['mac=zz,bridge=x'])).toBe("Invalid parameter `mac'");
    expect(err(['colour=blue'])).toBe("unrecognized argument `colour=blue'");
    expect(err(['rate=10Mb/s,x'])).toMatch(/^config parsing error in vif: /);
  });

  it('passes warnings on (netdev is deprecated) and sets trusted/untrusted', () => {
    const r = parseNicWords(['netdev=eth1,x', 'untrusted'], 0);
    expect(r.ok && [r.nic.gatewaydev, r.nic.trusted, r.warnings]).toEqual([
      'eth1,x',
      false,
      ['the netdev parameter is deprecated, please use gatewaydev instead'],
    ]);
  });
});
