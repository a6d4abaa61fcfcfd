import { describe, expect, it } from 'vitest';
import {
  XS_CONTROL,
  XS_DIRECTORY,
  XS_DIRECTORY_PART,
  XS_GET_DOMAIN_PATH,
  XS_GET_PERMS,
  XS_INTRODUCE,
  XS_IS_DOMAIN_INTRODUCED,
  XS_MKDIR,
  XS_READ,
  XS_RELEASE,
  XS_RESET_WATCHES,
  XS_RESTRICT,
  XS_RESUME,
  XS_RM,
  XS_SET_PERMS,
  XS_SET_TARGET,
  XS_TRANSACTION_END,
  XS_TRANSACTION_START,
  XS_UNWATCH,
  XS_WATCH,
  XS_WATCH_EVENT,
  XS_WRITE,
} from '../../hypercalls/io/xs-wire.js';
import { XsConnection } from '../../dom0/xenstored/connection.js';
import { Xenstored } from '../../dom0/xenstored/xenstored.js';
import { eventsFor, req } from './helpers.js';

function world() {
  const xs = new Xenstored();
  const d0 = xs.openSocketConnection();
  const g5 = XsConnection.guest(5);
  const g6 = XsConnection.guest(6);
  xs.domainIntroduced(5, g5);
  xs.domainIntroduced(6, g6);
  // What libxl writes for a guest: home n0,r5 with a guest-owned data/ directory.
  req(xs, d0, XS_MKDIR, '/local/domain/5|');
  req(xs, d0, XS_SET_PERMS, '/local/domain/5|n0|r5|');
  req(xs, d0, XS_MKDIR, '/local/domain/5/data|');
  req(xs, d0, XS_SET_PERMS, '/local/domain/5/data|n5|');
  return { xs, d0, g5, g6 };
}

describe('xenstored nodes and paths (xenstored_core.c)', () => {
  it('WRITE creates missing parents with empty values and READ returns the raw bytes', () => {
    const { xs, d0 } = world();
    expect(req(xs, d0, XS_WRITE, '/a/b/c|v\x00\xff').text).toBe('OK|');
    expect(req(xs, d0, XS_READ, '/a/b/c|').raw).toEqual(Buffer.from([0x76, 0, 0xff]));
    expect(req(xs, d0, XS_READ, '/a/b|').text).toBe('');
    expect(req(xs, d0, XS_DIRECTORY, '/a|').text).toBe('b|');
  });

  it('MKDIR keeps an existing value', () => {
    const { xs, d0 } = world();
    req(xs, d0, XS_WRITE, '/m|keep');
    expect(req(xs, d0, XS_MKDIR, '/m|').text).toBe('OK|');
    expect(req(xs, d0, XS_READ, '/m|').text).toBe('keep');
  });

  it('RM removes the subtree; RM of a missing node is OK if its parent exists, else ENOENT; RM / is EINVAL', () => {
    const { xs, d0 } = world();
    req(xs, d0, XS_WRITE, '/r/x/y|1');
    expect(req(xs, d0, XS_RM, '/r/x|').text).toBe('OK|');
    expect(req(xs, d0, XS_READ, '/r/x/y|').text).toBe('ENOENT|');
    expect(req(xs, d0, XS_DIRECTORY, '/r|').text).toBe('');
    expect(req(xs, d0, XS_RM, '/r/nothing|').text).toBe('OK|');
    expect(req(xs, d0, XS_RM, '/r/no/thing|').text).toBe('ENOENT|');
    expect(req(xs, d0, XS_RM, '/|').text).toBe('EINVAL|');
  });

  it.each([['a//b'], ['/a//b'], ['/a/'], ['/a b'], ['/a.b'], [''], ['/' + 'x'.repeat(3072)]])(
    'path %j is EINVAL',
    (p) => {
      const { xs, d0 } = world();
      expect(req(xs, d0, XS_WRITE, `${p.slice(0, 4000)}|v`).text).toBe('EINVAL|');
    },
  );

  it('relative paths are under /local/domain/<domid>', () => {
    const { xs, g5 } = world();
    expect(req(xs, g5, XS_WRITE, 'data/k|v').text).toBe('OK|');
    expect(req(xs, g5, XS_READ, '/local/domain/5/data/k|').text).toBe('v');
  });

  it('a relative path longer than path-max (2048) is EINVAL for a guest', () => {
    const { xs, g5 } = world();
    expect(req(xs, g5, XS_WRITE, `data/${'x'.repeat(2044)}|v`).text).toBe('EINVAL|');
    expect(req(xs, g5, XS_WRITE, `data/${'x'.repeat(2043)}|v`).text).toBe('OK|');
  });

  it('a request without its NUL terminator is EINVAL', () => {
    const { xs, d0 } = world();
    expect(req(xs, d0, XS_READ, '/tool').text).toBe('EINVAL|');
    expect(req(xs, d0, XS_WRITE, '/tool').text).toBe('EINVAL|');
    expect(req(xs, d0, XS_MKDIR, '/a|b|').text).toBe('EINVAL|');
  });

  it('GET_DOMAIN_PATH answers /local/domain/<domid>', () => {
    const { xs, g5 } = world();
    expect(req(xs, g5, XS_GET_DOMAIN_PATH, '12|').text).toBe('/local/domain/12|');
  });

  it('replies echo req_id and tx_id; unknown types are ENOSYS', () => {
    const { xs, d0 } = world();
    const r = req(xs, d0, XS_READ, '/tool|', 0, 0xdeadbeef);
    expect(r.reqId).toBe(0xdeadbeef);
    expect(req(xs, d0, 23, '').text).toBe('ENOSYS|');
    expect(req(xs, d0, XS_RESTRICT, '1|').text).toBe('ENOSYS|');
    expect(req(xs, d0, XS_WATCH_EVENT, '/a|b|').text).toBe('ENOSYS|');
  });

  it('a DIRECTORY reply over 4096 bytes is E2BIG and DIRECTORY_PART pages through it', () => {
    const { xs, d0 } = world();
    for (let i = 0; i < 1000; i++) req(xs, d0, XS_WRITE, `/big/child-${i}|x`);
    expect(req(xs, d0, XS_DIRECTORY, '/big|').text).toBe('E2BIG|');
    const names: string[] = [];
    let off = 0;
    let gen = '';
    for (;;) {
      const r = req(xs, d0, XS_DIRECTORY_PART, `/big|${off}|`);
      expect(r.raw.length).toBeLessThanOrEqual(4096);
      const parts = r.raw.toString('latin1').split('\0');
      if (gen) expect(parts[0]).toBe(gen);
      gen = parts[0] as string;
      const chunk = parts.slice(1, -1);
      const done = chunk.length > 0 && chunk[chunk.length - 1] === '';
      const got = done ? chunk.slice(0, -1) : chunk;
      names.push(...got);
      off += got.reduce((s, n) => s + n.length + 1, 0);
      if (done || got.length === 0) break;
    }
    expect(names).toHaveLength(1000);
    expect(names[999]).toBe('child-999');
  });
});

describe('xenstored permissions (perm_for_conn)', () => {
  it('GET_PERMS shows the list; new nodes inherit it and take an unprivileged creator as owner', () => {
    const { xs, g5 } = world();
    expect(req(xs, g5, XS_WRITE, 'data/x|1').text).toBe('OK|');
    expect(req(xs, g5, XS_GET_PERMS, 'data/x|').text).toBe('n5|');
    expect(req(xs, g5, XS_GET_PERMS, '/local/domain/5|').text).toBe('n0|r5|');
  });

  it('a guest may read but not write its read-only home', () => {
    const { xs, d0, g5 } = world();
    req(xs, d0, XS_WRITE, '/local/domain/5/name|guest');
    expect(req(xs, g5, XS_READ, 'name|').text).toBe('guest');
    expect(req(xs, g5, XS_WRITE, 'name|x').text).toBe('EACCES|');
    expect(req(xs, g5, XS_WRITE, 'newnode|x').text).toBe('EACCES|');
  });

  it('a missing node under an unreadable ancestor answers EACCES, not ENOENT', () => {
    const { xs, d0, g6 } = world();
    req(xs, d0, XS_WRITE, '/secret/a|1');
    expect(req(xs, g6, XS_READ, '/secret/missing|').text).toBe('EACCES|');
    expect(req(xs, g6, XS_READ, '/secret/a|').text).toBe('EACCES|');
    req(xs, d0, XS_SET_PERMS, '/secret|n0|r6|');
    expect(req(xs, g6, XS_READ, '/secret/missing|').text).toBe('ENOENT|');
  });

  it('only the owner changes permissions, and a guest cannot give a node away (EPERM)', () => {
    const { xs, g5, g6 } = world();
    req(xs, g5, XS_WRITE, 'data/p|1');
    expect(req(xs, g5, XS_SET_PERMS, 'data/p|n5|r6|').text).toBe('OK|');
    expect(req(xs, g6, XS_READ, '/local/domain/5/data/p|').text).toBe('1');
    expect(req(xs, g6, XS_SET_PERMS, '/local/domain/5/data/p|n6|').text).toBe('EACCES|');
    expect(req(xs, g5, XS_SET_PERMS, 'data/p|n6|').text).toBe('EPERM|');
    expect(req(xs, g5, XS_SET_PERMS, 'data/p|x5|').text).toBe('EINVAL|');
    expect(req(xs, g5, XS_SET_PERMS, 'data/p|').text).toBe('EINVAL|');
  });

  it('the first entry is the default access for domains not listed', () => {
    const { xs, d0, g6 } = world();
    req(xs, d0, XS_WRITE, '/pub|v');
    req(xs, d0, XS_SET_PERMS, '/pub|r0|n6|');
    req(xs, d0, XS_WRITE, '/pub2|v');
    req(xs, d0, XS_SET_PERMS, '/pub2|r0|');
    expect(req(xs, g6, XS_READ, '/pub|').text).toBe('EACCES|');
    expect(req(xs, g6, XS_READ, '/pub2|').text).toBe('v');
  });

  it('privileged-only types from a guest are EACCES', () => {
    const { xs, g5 } = world();
    for (const t of [
      XS_CONTROL,
      XS_INTRODUCE,
      XS_RELEASE,
      XS_IS_DOMAIN_INTRODUCED,
      XS_RESUME,
      XS_SET_TARGET,
    ])
      expect(req(xs, g5, t, '1|').text).toBe('EACCES|');
  });

  it('SET_TARGET lets a device model act on its target domain nodes', () => {
    const { xs, d0, g5, g6 } = world();
    req(xs, g5, XS_WRITE, 'data/t|1');
    expect(req(xs, g6, XS_READ, '/local/domain/5/data/t|').text).toBe('EACCES|');
    expect(req(xs, d0, XS_SET_TARGET, '6|5|').text).toBe('OK|');
    expect(req(xs, g6, XS_READ, '/local/domain/5/data/t|').text).toBe('1');
  });
});

describe('xenstored watches (xenstored_watch.c)', () => {
  it('a watch fires once on registration, after its OK, with the watched path', () => {
    const { xs, d0 } = world();
    const r = req(xs, d0, XS_WATCH, '/w|tok|');
    expect(r.text).toBe('OK|');
    expect(eventsFor(r.events, d0)).toEqual(['/w|tok|']);
    expect(r.events[0]?.message.type).toBe(XS_WATCH_EVENT);
    expect(r.events[0]?.message.reqId).toBe(0);
  });

  it('fires on changes to the node or a descendant, with the changed path', () => {
    const { xs, d0 } = world();
    const w = xs.openSocketConnection();
    req(xs, w, XS_WATCH, '/w|tok|');
    expect(eventsFor(req(xs, d0, XS_WRITE, '/w/a/b|1').events, w)).toEqual(['/w/a/b|tok|']);
    expect(eventsFor(req(xs, d0, XS_MKDIR, '/w/m|').events, w)).toEqual(['/w/m|tok|']);
    expect(eventsFor(req(xs, d0, XS_SET_PERMS, '/w/m|n0|r5|').events, w)).toEqual(['/w/m|tok|']);
    expect(eventsFor(req(xs, d0, XS_WRITE, '/other|1').events, w)).toEqual([]);
    expect(eventsFor(req(xs, d0, XS_WRITE, '/wx|1').events, w)).toEqual([]);
  });

  it('RM of an ancestor fires the watch with the watched path', () => {
    const { xs, d0 } = world();
    const w = xs.openSocketConnection();
    req(xs, d0, XS_WRITE, '/t/u/v|1');
    req(xs, w, XS_WATCH, '/t/u/v|tok|');
    expect(eventsFor(req(xs, d0, XS_RM, '/t|').events, w)).toEqual(['/t/u/v|tok|']);
  });

  it('relative watches get relative event paths', () => {
    const { xs, g5 } = world();
    const r = req(xs, g5, XS_WATCH, 'data|rel|');
    expect(eventsFor(r.events, g5)).toEqual(['data|rel|']);
    expect(eventsFor(req(xs, g5, XS_WRITE, 'data/q|1').events, g5)).toEqual(['data/q|rel|']);
  });

  it('a guest gets no event for a node it cannot read', () => {
    const { xs, d0, g6 } = world();
    req(xs, d0, XS_WRITE, '/hidden|1');
    req(xs, d0, XS_SET_PERMS, '/hidden|n0|');
    req(xs, g6, XS_WATCH, '/hidden|t|');
    expect(eventsFor(req(xs, d0, XS_WRITE, '/hidden|2').events, g6)).toEqual([]);
  });

  it('duplicate path+token is EEXIST, UNWATCH of an unknown watch is ENOENT', () => {
    const { xs, d0 } = world();
    req(xs, d0, XS_WATCH, '/w|t|');
    expect(req(xs, d0, XS_WATCH, '/w|t|').text).toBe('EEXIST|');
    expect(req(xs, d0, XS_WATCH, '/w|t2|').text).toBe('OK|');
    expect(req(xs, d0, XS_UNWATCH, '/w|t|').text).toBe('OK|');
    expect(req(xs, d0, XS_UNWATCH, '/w|t|').text).toBe('ENOENT|');
  });

  it('RESET_WATCHES drops all watches and transactions of the caller', () => {
    const { xs, d0 } = world();
    const w = xs.openSocketConnection();
    req(xs, w, XS_WATCH, '/w|t|');
    const tx = Number(req(xs, w, XS_TRANSACTION_START, '|').text.slice(0, -1));
    expect(req(xs, w, XS_RESET_WATCHES, '|').text).toBe('OK|');
    expect(eventsFor(req(xs, d0, XS_WRITE, '/w|1').events, w)).toEqual([]);
    expect(req(xs, w, XS_TRANSACTION_END, 'T|', tx).text).toBe('ENOENT|');
  });

  it('@introduceDomain and @releaseDomain fire for privileged watchers only, unless permitted', () => {
    const { xs, d0, g6 } = world();
    const w = xs.openSocketConnection();
    req(xs, w, XS_WATCH, '@introduceDomain|i|');
    req(xs, w, XS_WATCH, '@releaseDomain|r|');
    req(xs, g6, XS_WATCH, '@releaseDomain|g|');
    expect(eventsFor(req(xs, d0, XS_INTRODUCE, '9|1234|3|').events, w)).toEqual([
      '@introduceDomain|i|',
    ]);
    expect(req(xs, d0, XS_IS_DOMAIN_INTRODUCED, '9|').text).toBe('T|');
    let r = req(xs, d0, XS_RELEASE, '9|');
    expect(eventsFor(r.events, w)).toEqual(['@releaseDomain|r|']);
    expect(eventsFor(r.events, g6)).toEqual([]);
    expect(req(xs, d0, XS_IS_DOMAIN_INTRODUCED, '9|').text).toBe('F|');
    req(xs, d0, XS_SET_PERMS, '@releaseDomain|n0|r6|');
    req(xs, d0, XS_INTRODUCE, '9|1234|3|');
    r = req(xs, d0, XS_RELEASE, '9|');
    expect(eventsFor(r.events, g6)).toEqual(['@releaseDomain|g|']);
    expect(req(xs, d0, XS_RELEASE, '9|').text).toBe('ENOENT|');
  });
});

describe('xenstored transactions (xenstored_transaction.c)', () => {
  function start(xs: Xenstored, c: XsConnection): number {
    return Number(req(xs, c, XS_TRANSACTION_START, '|').text.slice(0, -1));
  }

  it('changes are visible inside only until commit, and watch events fire at commit', () => {
    const { xs, d0 } = world();
    const w = xs.openSocketConnection();
    req(xs, w, XS_WATCH, '/tx|t|');
    const t = start(xs, d0);
    expect(t).toBeGreaterThan(0);
    const wr = req(xs, d0, XS_WRITE, '/tx/a|1', t);
    expect(wr.txId).toBe(t);
    expect(eventsFor(wr.events, w)).toEqual([]);
    expect(req(xs, d0, XS_READ, '/tx/a|', t).text).toBe('1');
    expect(req(xs, d0, XS_READ, '/tx/a|').text).toBe('ENOENT|');
    const end = req(xs, d0, XS_TRANSACTION_END, 'T|', t);
    expect(end.text).toBe('OK|');
    expect(eventsFor(end.events, w)).toEqual(['/tx/a|t|']);
    expect(req(xs, d0, XS_READ, '/tx/a|').text).toBe('1');
  });

  it('a global write to a node the transaction read gives EAGAIN, and the transaction kept its snapshot', () => {
    const { xs, d0 } = world();
    req(xs, d0, XS_WRITE, '/c|a');
    const t = start(xs, d0);
    req(xs, d0, XS_READ, '/c|', t);
    req(xs, d0, XS_WRITE, '/c|b');
    expect(req(xs, d0, XS_READ, '/c|', t).text).toBe('a');
    req(xs, d0, XS_WRITE, '/c|c', t);
    expect(req(xs, d0, XS_TRANSACTION_END, 'T|', t).text).toBe('EAGAIN|');
    expect(req(xs, d0, XS_READ, '/c|').text).toBe('b');
  });

  it('a node created globally after the transaction saw it missing gives EAGAIN', () => {
    const { xs, d0 } = world();
    const t = start(xs, d0);
    expect(req(xs, d0, XS_READ, '/n|', t).text).toBe('ENOENT|');
    req(xs, d0, XS_WRITE, '/n|1');
    expect(req(xs, d0, XS_TRANSACTION_END, 'T|', t).text).toBe('EAGAIN|');
  });

  it('abort discards; unknown id is ENOENT; nested start is EBUSY; bad end argument is EINVAL', () => {
    const { xs, d0 } = world();
    const t = start(xs, d0);
    req(xs, d0, XS_WRITE, '/ab|1', t);
    expect(req(xs, d0, XS_TRANSACTION_START, '|', t).text).toBe('EBUSY|');
    expect(req(xs, d0, XS_TRANSACTION_END, 'X|', t).text).toBe('EINVAL|');
    expect(req(xs, d0, XS_TRANSACTION_END, 'F|', t).text).toBe('OK|');
    expect(req(xs, d0, XS_READ, '/ab|').text).toBe('ENOENT|');
    expect(req(xs, d0, XS_READ, '/ab|', 999).text).toBe('ENOENT|');
    expect(req(xs, d0, XS_TRANSACTION_END, 'T|').text).toBe('ENOENT|');
  });

  it('RM and DIRECTORY inside a transaction see the transaction tree', () => {
    const { xs, d0 } = world();
    req(xs, d0, XS_WRITE, '/d/a|1');
    req(xs, d0, XS_WRITE, '/d/b|1');
    const t = start(xs, d0);
    req(xs, d0, XS_RM, '/d/a|', t);
    req(xs, d0, XS_WRITE, '/d/c|1', t);
    expect(req(xs, d0, XS_DIRECTORY, '/d|', t).text).toBe('b|c|');
    expect(req(xs, d0, XS_DIRECTORY, '/d|').text).toBe('a|b|');
    expect(req(xs, d0, XS_TRANSACTION_END, 'T|', t).text).toBe('OK|');
    expect(req(xs, d0, XS_DIRECTORY, '/d|').text).toBe('b|c|');
  });

  it('transaction ids are per connection', () => {
    const { xs, d0 } = world();
    const other = xs.openSocketConnection();
    const t = start(xs, d0);
    expect(req(xs, other, XS_READ, '/tool|', t).text).toBe('ENOENT|');
  });
});

describe('xenstored quotas (C xenstored defaults, ENOSPC)', () => {
  it('a guest may own 1000 nodes; the next creation is ENOSPC; dom0 is exempt', () => {
    const { xs, d0, g5 } = world();
    // data/ is owned by the guest already
    for (let i = 0; i < 999; i++) expect(req(xs, g5, XS_WRITE, `data/n${i}|`).text).toBe('OK|');
    expect(req(xs, g5, XS_WRITE, 'data/over|').text).toBe('ENOSPC|');
    for (let i = 0; i < 1100; i++) req(xs, d0, XS_WRITE, `/dom0/n${i}|`);
    expect(req(xs, d0, XS_READ, '/dom0/n1099|').text).toBe('');
  });

  it('watches beyond 128, transactions beyond 10, perms beyond 5 and values near 2048 bytes are ENOSPC', () => {
    const { xs, g5 } = world();
    for (let i = 0; i < 128; i++) expect(req(xs, g5, XS_WATCH, `data|t${i}|`).text).toBe('OK|');
    expect(req(xs, g5, XS_WATCH, 'data|t128|').text).toBe('ENOSPC|');
    for (let i = 0; i < 10; i++)
      expect(req(xs, g5, XS_TRANSACTION_START, '|').type).toBe('TRANSACTION_START');
    expect(req(xs, g5, XS_TRANSACTION_START, '|').text).toBe('ENOSPC|');
    req(xs, g5, XS_WRITE, 'data/p|');
    expect(req(xs, g5, XS_SET_PERMS, 'data/p|n5|r1|r2|r3|r4|r6|').text).toBe('ENOSPC|');
    expect(req(xs, g5, XS_SET_PERMS, 'data/p|n5|r1|r2|r3|r4|').text).toBe('OK|');
    expect(req(xs, g5, XS_WRITE, `data/big|${'x'.repeat(2048)}`).text).toBe('ENOSPC|');
    expect(req(xs, g5, XS_WRITE, `data/ok|${'x'.repeat(1000)}`).text).toBe('OK|');
  });
});

describe('xenstored domain life cycle (xenstored_domain.c)', () => {
  it('a released domain loses its watches, transactions and owned nodes, and @releaseDomain fires', () => {
    const { xs, d0, g5 } = world();
    const w = xs.openSocketConnection();
    req(xs, w, XS_WATCH, '@releaseDomain|r|');
    req(xs, g5, XS_WRITE, 'data/mine|1');
    req(xs, g5, XS_WATCH, '/local/domain/5|gw|');
    const events = xs.domainDied(5);
    expect(eventsFor(events, w)).toEqual(['@releaseDomain|r|']);
    expect(eventsFor(events, g5)).toEqual([]);
    expect(g5.closed).toBe(true);
    expect(req(xs, d0, XS_READ, '/local/domain/5/data|').text).toBe('ENOENT|');
    expect(req(xs, d0, XS_READ, '/local/domain/5|').text).toBe('');
    expect(xs.tree.ownedBy(5)).toBe(0);
  });

  it('@releaseDomain fires once per shutdown until RESUME re-arms it', () => {
    const { xs, d0 } = world();
    const w = xs.openSocketConnection();
    req(xs, w, XS_WATCH, '@releaseDomain|r|');
    expect(eventsFor(xs.domainShutdown(5), w)).toHaveLength(1);
    expect(eventsFor(xs.domainShutdown(5), w)).toHaveLength(0);
    expect(req(xs, d0, XS_RESUME, '5|').text).toBe('OK|');
    expect(eventsFor(xs.domainShutdown(5), w)).toHaveLength(1);
  });

  it('CONTROL answers check, help and quota; unknown commands are EINVAL', () => {
    const { xs, d0 } = world();
    expect(req(xs, d0, XS_CONTROL, 'check|').text).toBe('OK|');
    expect(req(xs, d0, XS_CONTROL, 'quota|').text).toContain('nodes: 1000');
    expect(req(xs, d0, XS_CONTROL, 'frobnicate|').text).toBe('EINVAL|');
  });

  it('INTRODUCE needs domid, gfn and a positive port', () => {
    const { xs, d0 } = world();
    expect(req(xs, d0, XS_INTRODUCE, '7|100|').text).toBe('EINVAL|');
    expect(req(xs, d0, XS_INTRODUCE, '7|100|0|').text).toBe('EINVAL|');
    expect(req(xs, d0, XS_INTRODUCE, '7|100|4|').text).toBe('OK|');
  });
});
