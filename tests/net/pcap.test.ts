import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pcapGlobalHeader, pcapRecord } from '../../dom0/net/pcap.js';
import { parseIpv4 } from '../../domU/net/inet.js';
import { NetWorld } from './guest-rig.js';

function hasTshark(): boolean {
  try {
    execFileSync('tshark', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('pcap files (pcap-savefile(5))', () => {
  it('the global header is magic a1b2c3d4 LE, v2.4, snaplen 65535, LINKTYPE_ETHERNET', () => {
    expect(Buffer.from(pcapGlobalHeader()).toString('hex')).toBe(
      'd4c3b2a1' + '0200' + '0400' + '00000000' + '00000000' + 'ffff0000' + '01000000',
    );
  });

  it('a record carries the virtual time as seconds and microseconds, and both lengths', () => {
    const r = pcapRecord(new Uint8Array([1, 2, 3]), 2_500_123_999);
    expect(Buffer.from(r).toString('hex')).toBe(
      '02000000' + '9ba10700' + '03000000' + '03000000' + '010203',
    );
    const cut = pcapRecord(new Uint8Array(100), 0, 64);
    expect(new DataView(cut.buffer).getUint32(8, true)).toBe(64);
    expect(new DataView(cut.buffer).getUint32(12, true)).toBe(100);
    expect(cut.length).toBe(16 + 64);
  });

  it('tshark reads a capture of a vif during a ping: ARP then ICMP echo request and reply', () => {
    if (!hasTshark()) {
      throw new Error(
        'tshark is not installed: run `apt-get install -y --no-install-recommends tshark` (CI installs it)',
      );
    }
    const dir = mkdtempSync(join(tmpdir(), 'xensim-pcap-'));
    const path = join(dir, 'vif1.0.pcap');
    const w = new NetWorld();
    const a = w.addGuest({ domid: 1, mac: '00:16:3e:00:00:01', ip: '10.0.0.1' });
    w.addGuest({ domid: 2, mac: '00:16:3e:00:00:02', ip: '10.0.0.2' });
    expect(w.registry.capture('vif9.0', path)).toEqual({
      ok: false,
      error: 'no bridge port named vif9.0',
    });
    const cap = w.registry.capture('vif1.0', path);
    if (!cap.ok) throw new Error(cap.error);
    a.stack.ping(parseIpv4('10.0.0.2') as number, 0x1234, 1, new Uint8Array(56).fill(0x61));
    w.run();
    cap.capture.stop();
    expect(cap.capture.frames).toBe(4);
    expect(readFileSync(path).length).toBeGreaterThan(24 + 4 * 16);
    const out = execFileSync(
      'tshark',
      [
        '-r',
        path,
        '-T',
        'fields',
        '-e',
        'frame.protocols',
        '-e',
        'ip.src',
        '-e',
        'ip.dst',
        '-e',
        'icmp.type',
        '-e',
        'arp.opcode',
      ],
      { encoding: 'utf8' },
    );
    const lines = out
      .replace(/\n$/, '')
      .split('\n')
      .map((l) => l.split('\t'));
    expect(lines).toEqual([
      ['eth:ethertype:arp', '', '', '', '1'],
      ['eth:ethertype:arp', '', '', '', '2'],
      ['eth:ethertype:ip:icmp:data', '10.0.0.1', '10.0.0.2', '8', ''],
      ['eth:ethertype:ip:icmp:data', '10.0.0.2', '10.0.0.1', '0', ''],
    ]);
    const summary = execFileSync('tshark', ['-r', path], { encoding: 'utf8' });
    expect(summary).toContain('Echo (ping) request');
    expect(summary).toContain('Echo (ping) reply');
    expect(summary).not.toContain('Malformed');
  });
});
