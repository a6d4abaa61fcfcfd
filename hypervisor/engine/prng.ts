// The engine's one seeded PRNG: xoshiro128** (Blackman & Vigna) with named sub-streams, so a
// component draws from its own stream and adding another component never shifts its numbers.

/** FNV-1a over the UTF-16 code units of a name: a stable 32-bit id for a sub-stream. */
export function hashName(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private readonly children = new Map<string, Prng>();

  readonly seed: number;
  readonly name: string;

  /** @param seed any safe integer; the same seed gives the same sequence. */
  constructor(seed: number, name = 'root') {
    this.seed = seed;
    this.name = name;
    if (!Number.isSafeInteger(seed))
      throw new RangeError(`PRNG seed must be a safe integer, got ${seed}`);
    const st = { s: (seed ^ hashName(name)) | 0 };
    // Mix the high bits of the seed too, so seeds that differ only above 2^32 differ.
    st.s = (st.s + Math.floor(seed / 0x100000000)) | 0;
    this.a = splitmix32(st);
    this.b = splitmix32(st);
    this.c = splitmix32(st);
    this.d = splitmix32(st);
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  /** The sub-stream `name` (`sched`, `dom5.workload`…): derived from the root seed and the name only. */
  stream(name: string): Prng {
    let child = this.children.get(name);
    if (!child) {
      const full = this.name === 'root' ? name : `${this.name}/${name}`;
      child = new Prng(this.seed, full);
      this.children.set(name, child);
    }
    return child;
  }

  /** Next 32 random bits as an unsigned integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** Uniform float in [0, 1). */
  float(): number {
    return this.nextU32() / 0x100000000;
  }

  /** Uniform integer in [min, max] (inclusive), both safe integers. */
  int(min: number, max: number): number {
    if (max < min) throw new RangeError(`prng.int: max ${max} < min ${min}`);
    const span = max - min + 1;
    if (span <= 0x100000000) return min + Math.floor(this.float() * span);
    return min + Math.floor(((this.nextU32() * 0x100000000 + this.nextU32()) / 2 ** 64) * span);
  }

  /** Fills `out` with random bytes. */
  bytes(out: Uint8Array): Uint8Array {
    for (let i = 0; i < out.length; i += 4) {
      let r = this.nextU32();
      for (let j = i; j < Math.min(i + 4, out.length); j++) {
        out[j] = r & 0xff;
        r >>>= 8;
      }
    }
    return out;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
