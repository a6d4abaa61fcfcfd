// The engine's event queue: a binary min-heap over struct-of-arrays typed storage, ordered by
// (due time, insertion sequence) so ties run first-in first-out and every run is reproducible.
// An object-per-event heap measured 3-7x slower (shared/reference/performance-notes.md).

/** Opaque handle of a scheduled event: the slot plus a generation, so a stale handle never cancels a reused slot. */
export type EventId = number;

export type EventFn<A> = (arg: A) => void;

const SLOT_BITS = 2 ** 24; // slots per generation step in a handle

export class EventQueue {
  // Heap order, by position: due time, sequence, slot.
  private heapDue: Float64Array;
  private heapSeq: Float64Array;
  private heapSlot: Int32Array;
  // Per slot: where it sits in the heap (-1 when free), its generation, its callback and argument.
  private slotPos: Int32Array;
  private slotGen: Uint32Array;
  private slotFn: (EventFn<unknown> | undefined)[] = [];
  private slotArg: unknown[] = [];
  private freeSlots: number[] = [];
  private nextSlot = 0;
  private count = 0;
  private seq = 0;

  constructor(initialCapacity = 1024) {
    const cap = Math.max(16, initialCapacity);
    this.heapDue = new Float64Array(cap);
    this.heapSeq = new Float64Array(cap);
    this.heapSlot = new Int32Array(cap);
    this.slotPos = new Int32Array(cap).fill(-1);
    this.slotGen = new Uint32Array(cap);
  }

  get size(): number {
    return this.count;
  }

  /** Due time of the earliest event, or Infinity when empty. */
  peekDue(): number {
    return this.count === 0 ? Infinity : (this.heapDue[0] as number);
  }

  push<A>(due: number, fn: EventFn<A>, arg: A): EventId {
    let slot = this.freeSlots.pop();
    if (slot === undefined) {
      slot = this.nextSlot++;
      if (slot >= this.slotPos.length) this.growSlots();
      if (slot >= SLOT_BITS) throw new RangeError('event queue: more than 16M live events');
    }
    if (this.count >= this.heapDue.length) this.growHeap();
    this.slotFn[slot] = fn as EventFn<unknown>;
    this.slotArg[slot] = arg;
    const i = this.count++;
    this.siftUp(i, due, this.seq++, slot);
    return (this.slotGen[slot] as number) * SLOT_BITS + slot;
  }

  /** Removes a pending event; false if it already ran or was cancelled. */
  cancel(id: EventId): boolean {
    const slot = id % SLOT_BITS;
    const gen = Math.floor(id / SLOT_BITS);
    if (slot >= this.nextSlot || this.slotGen[slot] !== gen) return false;
    const pos = this.slotPos[slot] as number;
    if (pos < 0) return false;
    this.removeAt(pos);
    this.releaseSlot(slot);
    return true;
  }

  /**
   * Pops the earliest event and runs it. The callback and argument are read before the slot is
   * released, so the callback may schedule (and reuse the slot) freely.
   */
  popAndRun(): void {
    const slot = this.heapSlot[0] as number;
    const fn = this.slotFn[slot] as EventFn<unknown>;
    const arg = this.slotArg[slot];
    this.removeAt(0);
    this.releaseSlot(slot);
    fn(arg);
  }

  clear(): void {
    for (let i = 0; i < this.count; i++) this.releaseSlot(this.heapSlot[i] as number);
    this.count = 0;
  }

  private releaseSlot(slot: number): void {
    this.slotPos[slot] = -1;
    this.slotGen[slot] = ((this.slotGen[slot] as number) + 1) % 0x20000000;
    this.slotFn[slot] = undefined;
    this.slotArg[slot] = undefined;
    this.freeSlots.push(slot);
  }

  private removeAt(pos: number): void {
    const last = --this.count;
    if (pos === last) return;
    const due = this.heapDue[last] as number;
    const seq = this.heapSeq[last] as number;
    const slot = this.heapSlot[last] as number;
    // The moved element may need to go either way.
    if (pos > 0 && this.less(due, seq, (pos - 1) >> 1)) this.siftUp(pos, due, seq, slot);
    else this.siftDown(pos, due, seq, slot);
  }

  private less(due: number, seq: number, j: number): boolean {
    const d = this.heapDue[j] as number;
    return due < d || (due === d && seq < (this.heapSeq[j] as number));
  }

  private place(i: number, due: number, seq: number, slot: number): void {
    this.heapDue[i] = due;
    this.heapSeq[i] = seq;
    this.heapSlot[i] = slot;
    this.slotPos[slot] = i;
  }

  private siftUp(i: number, due: number, seq: number, slot: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(due, seq, parent)) break;
      this.place(
        i,
        this.heapDue[parent] as number,
        this.heapSeq[parent] as number,
        this.heapSlot[parent] as number,
      );
      i = parent;
    }
    this.place(i, due, seq, slot);
  }

  private siftDown(i: number, due: number, seq: number, slot: number): void {
    const n = this.count;
    const hd = this.heapDue;
    const hs = this.heapSeq;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      const right = child + 1;
      if (right < n) {
        const dl = hd[child] as number;
        const dr = hd[right] as number;
        if (dr < dl || (dr === dl && (hs[right] as number) < (hs[child] as number))) child = right;
      }
      const dc = hd[child] as number;
      if (due < dc || (due === dc && seq < (hs[child] as number))) break;
      this.place(i, dc, hs[child] as number, this.heapSlot[child] as number);
      i = child;
    }
    this.place(i, due, seq, slot);
  }

  private growHeap(): void {
    const cap = this.heapDue.length * 2;
    const due = new Float64Array(cap);
    due.set(this.heapDue);
    const seq = new Float64Array(cap);
    seq.set(this.heapSeq);
    const slot = new Int32Array(cap);
    slot.set(this.heapSlot);
    this.heapDue = due;
    this.heapSeq = seq;
    this.heapSlot = slot;
  }

  private growSlots(): void {
    const cap = this.slotPos.length * 2;
    const pos = new Int32Array(cap).fill(-1);
    pos.set(this.slotPos);
    const gen = new Uint32Array(cap);
    gen.set(this.slotGen);
    this.slotPos = pos;
    this.slotGen = gen;
  }
}
