// The engine's event queue: a binary min-heap over struct-of-arrays typed storage, ordered by
// (due time, insertion sequence) so ties run first-in first-out and every run is reproducible.
// An object-per-event heap measured 3-7x slower (shared/reference/performance-notes.md).
// Cancellation is lazy: a cancelled event stays in the heap, marked dead, until it reaches the top
// or until dead entries outnumber live ones and the heap is compacted.

/** Opaque handle of a scheduled event: the slot plus a generation, so a stale handle never cancels a reused slot. */
export type EventId = number;

export type EventFn<A> = (arg: A) => void;

const SLOT_SPAN = 2 ** 24; // slots per generation step in a handle
const GEN_LIMIT = 2 ** 29; // generations wrap below this, keeping handles safe integers
const COMPACT_MIN_DEAD = 256;

export class EventQueue {
  // Heap order, by position: due time, sequence, slot.
  private heapDue: Float64Array;
  private heapSeq: Float64Array;
  private heapSlot: Int32Array;
  // Per slot: generation, liveness, callback and argument.
  private slotGen: Uint32Array;
  private slotLive: Uint8Array;
  private slotFn: (EventFn<unknown> | undefined)[] = [];
  private slotArg: unknown[] = [];
  private freeSlots: number[] = [];
  private nextSlot = 0;
  private count = 0; // heap entries, dead ones included
  private dead = 0;
  private seq = 0;

  constructor(initialCapacity = 1024) {
    const cap = Math.max(16, initialCapacity);
    this.heapDue = new Float64Array(cap);
    this.heapSeq = new Float64Array(cap);
    this.heapSlot = new Int32Array(cap);
    this.slotGen = new Uint32Array(cap);
    this.slotLive = new Uint8Array(cap);
  }

  /** Live (not cancelled) pending events. */
  get size(): number {
    return this.count - this.dead;
  }

  /** Due time of the earliest live event, or Infinity when none is left. */
  peekDue(): number {
    while (this.count > 0) {
      const slot = this.heapSlot[0] as number;
      if (this.slotLive[slot] === 1) return this.heapDue[0] as number;
      this.removeTop();
      this.dead--;
      this.releaseSlot(slot);
    }
    return Infinity;
  }

  push<A>(due: number, fn: EventFn<A>, arg: A): EventId {
    let slot = this.freeSlots.pop();
    if (slot === undefined) {
      slot = this.nextSlot++;
      if (slot >= this.slotGen.length) this.growSlots();
      if (slot >= SLOT_SPAN) throw new RangeError('event queue: more than 16M pending events');
    }
    if (this.count >= this.heapDue.length) this.growHeap();
    this.slotFn[slot] = fn as EventFn<unknown>;
    this.slotArg[slot] = arg;
    this.slotLive[slot] = 1;
    this.siftUp(this.count++, due, this.seq++, slot);
    return (this.slotGen[slot] as number) * SLOT_SPAN + slot;
  }

  /** Cancels a pending event; false if it already ran, was cancelled, or the handle is stale. */
  cancel(id: EventId): boolean {
    const slot = id % SLOT_SPAN;
    if (slot >= this.nextSlot || this.slotLive[slot] !== 1) return false;
    if (this.slotGen[slot] !== Math.floor(id / SLOT_SPAN)) return false;
    this.slotLive[slot] = 0;
    this.slotFn[slot] = undefined;
    this.slotArg[slot] = undefined;
    this.dead++;
    if (this.dead >= COMPACT_MIN_DEAD && this.dead * 2 > this.count) this.compact();
    return true;
  }

  /**
   * Pops the earliest live event and runs it. Call only after `peekDue()` returned a finite time.
   * The callback and argument are read before the slot is released, so the callback may schedule freely.
   */
  popAndRun(): void {
    const slot = this.heapSlot[0] as number;
    const fn = this.slotFn[slot] as EventFn<unknown>;
    const arg = this.slotArg[slot];
    this.removeTop();
    this.releaseSlot(slot);
    fn(arg);
  }

  clear(): void {
    for (let i = 0; i < this.count; i++) this.releaseSlot(this.heapSlot[i] as number);
    this.count = 0;
    this.dead = 0;
  }

  private releaseSlot(slot: number): void {
    this.slotLive[slot] = 0;
    this.slotGen[slot] = ((this.slotGen[slot] as number) + 1) % GEN_LIMIT;
    this.slotFn[slot] = undefined;
    this.slotArg[slot] = undefined;
    this.freeSlots.push(slot);
  }

  private removeTop(): void {
    const last = --this.count;
    if (last > 0) {
      this.siftDown(0, this.heapDue[last] as number, this.heapSeq[last] as number, this.heapSlot[last] as number);
    }
  }

  /** Drops dead entries and re-heapifies (Floyd), so cancel-heavy timers cannot grow the heap without bound. */
  private compact(): void {
    let n = 0;
    for (let i = 0; i < this.count; i++) {
      const slot = this.heapSlot[i] as number;
      if (this.slotLive[slot] === 1) {
        this.heapDue[n] = this.heapDue[i] as number;
        this.heapSeq[n] = this.heapSeq[i] as number;
        this.heapSlot[n] = slot;
        n++;
      } else {
        this.releaseSlot(slot);
      }
    }
    this.count = n;
    this.dead = 0;
    for (let i = (n >> 1) - 1; i >= 0; i--) {
      this.siftDown(i, this.heapDue[i] as number, this.heapSeq[i] as number, this.heapSlot[i] as number);
    }
  }

  private siftUp(i: number, due: number, seq: number, slot: number): void {
    const hd = this.heapDue;
    const hs = this.heapSeq;
    const hl = this.heapSlot;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pd = hd[parent] as number;
      if (due > pd || (due === pd && seq > (hs[parent] as number))) break;
      hd[i] = pd;
      hs[i] = hs[parent] as number;
      hl[i] = hl[parent] as number;
      i = parent;
    }
    hd[i] = due;
    hs[i] = seq;
    hl[i] = slot;
  }

  private siftDown(i: number, due: number, seq: number, slot: number): void {
    const n = this.count;
    const hd = this.heapDue;
    const hs = this.heapSeq;
    const hl = this.heapSlot;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      let dc = hd[child] as number;
      const right = child + 1;
      if (right < n) {
        const dr = hd[right] as number;
        if (dr < dc || (dr === dc && (hs[right] as number) < (hs[child] as number))) {
          child = right;
          dc = dr;
        }
      }
      if (due < dc || (due === dc && seq < (hs[child] as number))) break;
      hd[i] = dc;
      hs[i] = hs[child] as number;
      hl[i] = hl[child] as number;
      i = child;
    }
    hd[i] = due;
    hs[i] = seq;
    hl[i] = slot;
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
    const cap = this.slotGen.length * 2;
    const gen = new Uint32Array(cap);
    gen.set(this.slotGen);
    const live = new Uint8Array(cap);
    live.set(this.slotLive);
    this.slotGen = gen;
    this.slotLive = live;
  }
}
