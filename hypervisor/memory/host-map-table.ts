// A domain's host-address -> foreign-frame table (the PTEs a grant map installs, xen/arch/x86/mm.c
// create_grant_pv_mapping): open addressing over typed arrays, so the map/unmap hot path allocates
// nothing (a JavaScript Map churns its backing store under set/delete).

const EMPTY = -1;

export class HostMapTable {
  /** Page number of the host address (hostAddr / 4096), or EMPTY. */
  private keys: Float64Array;
  /** mfn * 2 + writable. */
  private vals: Float64Array;
  private mask: number;
  size = 0;

  constructor(capacity = 16) {
    this.keys = new Float64Array(capacity).fill(EMPTY);
    this.vals = new Float64Array(capacity);
    this.mask = capacity - 1;
  }

  private slot(key: number): number {
    const lo = key >>> 0;
    const hi = (key / 4294967296) >>> 0;
    return Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b) & this.mask;
  }

  /** The packed value at `key`, or -1. */
  get(key: number): number {
    for (let i = this.slot(key); ; i = (i + 1) & this.mask) {
      const k = this.keys[i] as number;
      if (k === key) return this.vals[i] as number;
      if (k === EMPTY) return -1;
    }
  }

  /** Inserts `key`; false if it is already present. */
  insert(key: number, val: number): boolean {
    if ((this.size + 1) * 2 > this.keys.length) this.grow();
    for (let i = this.slot(key); ; i = (i + 1) & this.mask) {
      const k = this.keys[i] as number;
      if (k === key) return false;
      if (k === EMPTY) {
        this.keys[i] = key;
        this.vals[i] = val;
        this.size++;
        return true;
      }
    }
  }

  /** Removes `key` (backward-shift deletion keeps probe chains intact); false if absent. */
  remove(key: number): boolean {
    let i = this.slot(key);
    for (; ; i = (i + 1) & this.mask) {
      const k = this.keys[i] as number;
      if (k === EMPTY) return false;
      if (k === key) break;
    }
    let hole = i;
    for (let j = (i + 1) & this.mask; ; j = (j + 1) & this.mask) {
      const k = this.keys[j] as number;
      if (k === EMPTY) break;
      const home = this.slot(k);
      // Move k back into the hole unless its home lies cyclically in (hole, j].
      const inRange = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (!inRange) {
        this.keys[hole] = k;
        this.vals[hole] = this.vals[j] as number;
        hole = j;
      }
    }
    this.keys[hole] = EMPTY;
    this.size--;
    return true;
  }

  clear(): void {
    this.keys.fill(EMPTY);
    this.size = 0;
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldVals = this.vals;
    this.keys = new Float64Array(oldKeys.length * 2).fill(EMPTY);
    this.vals = new Float64Array(oldKeys.length * 2);
    this.mask = this.keys.length - 1;
    this.size = 0;
    for (let i = 0; i < oldKeys.length; i++) {
      const k = oldKeys[i] as number;
      if (k !== EMPTY) this.insert(k, oldVals[i] as number);
    }
  }
}
