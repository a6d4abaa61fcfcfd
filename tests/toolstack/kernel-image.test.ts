import { afterEach, describe, expect, it } from 'vitest';
import { formatKernelImage, parseKernelImage } from '../../dom0/toolstack/kernel-image.js';
import { BASIC_CFG, cleanupHost, createReq, makeHost, type TestHost } from './host.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('xensim kernel images', () => {
  it('parses a built-in image and round-trips through formatKernelImage', () => {
    const text = formatKernelImage({ kind: 'builtin', name: 'xensim-pv', release: '6.1.0' });
    expect(text).toBe('{"xensim-kernel":1,"builtin":"xensim-pv","release":"6.1.0"}\n');
    expect(parseKernelImage(enc(text))).toEqual({
      ok: true,
      image: { kind: 'builtin', name: 'xensim-pv', release: '6.1.0' },
    });
  });

  it('a module image defaults its export to "default"', () => {
    expect(parseKernelImage(enc('{"xensim-kernel":1,"module":"./g.mjs"}'))).toEqual({
      ok: true,
      image: { kind: 'module', module: './g.mjs', exportName: 'default' },
    });
  });

  it('refuses ELF, junk, other versions and images naming both or neither kind', () => {
    const bad = [
      new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]),
      enc('not json'),
      enc('[1,2]'),
      enc('{"xensim-kernel":2,"builtin":"x"}'),
      enc('{"xensim-kernel":1,"builtin":"x","module":"y"}'),
      enc('{"xensim-kernel":1}'),
      new Uint8Array([0xff, 0xfe, 0x00]),
    ];
    for (const b of bad) expect(parseKernelImage(b).ok).toBe(false);
    expect(parseKernelImage(bad[0] as Uint8Array)).toEqual({
      ok: false,
      error: 'ELF kernels are not supported by xensim; use a xensim kernel image',
    });
  });
});

let h: TestHost | undefined;
afterEach(() => {
  if (h) cleanupHost(h);
  h = undefined;
});

describe('a kernel naming a guest-program module runs that program', () => {
  it('imports the module from dom0 filesystem and boots it on the domain', async () => {
    h = makeHost();
    const g = globalThis as { __xensimGuestRan?: number[] };
    g.__xensimGuestRan = [];
    h.dom0fs.writeFile(
      '/root/guests/hello.mjs',
      enc(
        'export function* hello(env) { globalThis.__xensimGuestRan.push(env.domid); for (;;) { env.hypercalls.sched_op(1); yield 0; } }\n',
      ),
    );
    h.dom0fs.writeFile(
      '/root/guests/hello.kernel',
      enc('{"xensim-kernel":1,"module":"hello.mjs","export":"hello"}'),
    );
    const cfg = BASIC_CFG.replace('/boot/vmlinuz-xensim-pv', 'guests/hello.kernel');
    const r = await h.run(h.ts.create({ ...createReq(cfg), cwd: '/root' }));
    h.engine.runFor(50_000_000);
    expect(g.__xensimGuestRan).toEqual([r.domid, r.domid]);
  });

  it('a module that does not export the named program is an error naming the image', async () => {
    h = makeHost();
    h.dom0fs.writeFile('/root/m.mjs', enc('export const x = 1;\n'));
    h.dom0fs.writeFile('/root/k', enc('{"xensim-kernel":1,"module":"m.mjs","export":"prog"}'));
    const cfg = BASIC_CFG.replace('/boot/vmlinuz-xensim-pv', '/root/k');
    await expect(h.run(h.ts.create(createReq(cfg)))).rejects.toThrow(
      "/root/k: module does not export a guest program 'prog'",
    );
    expect(h.hv.domains().length).toBe(1);
  });
});
