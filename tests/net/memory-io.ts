// A frontend's ring services over plain memory for netfront unit tests: pages made on first use
// (pfn = mfn), grant refs counted from 8 and remembered with the frame they grant, events counted.

import type { FrontendIo } from '../../domU/xenbus/frontend-io.js';

export interface MemoryIo {
  readonly io: FrontendIo;
  /** The bytes of page `pfn` (made on first use). */
  readonly page: (pfn: number) => Uint8Array;
  /** The frame each grant ref was made for. */
  readonly pfnOfRef: Map<number, number>;
  /** Events sent so far. */
  readonly notifies: () => number;
}

export function memoryIo(): MemoryIo {
  const pages = new Map<number, Uint8Array>();
  const pfnOfRef = new Map<number, number>();
  let nextPfn = 0;
  let nextRef = 8;
  let notifies = 0;
  const page = (pfn: number): Uint8Array => {
    let p = pages.get(pfn);
    if (!p) pages.set(pfn, (p = new Uint8Array(4096)));
    return p;
  };
  const io: FrontendIo = {
    allocPage: () => nextPfn++,
    freePage: () => undefined,
    pfnToMfn: (pfn) => pfn,
    writableView: page,
    view: page,
    grantAccess: (mfn) => (pfnOfRef.set(nextRef, mfn), nextRef++),
    endAccess: () => true,
    notify: () => void notifies++,
  };
  return { io, page, pfnOfRef, notifies: () => notifies };
}
