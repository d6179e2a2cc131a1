/**
 * A small, fast, seeded PRNG (sfc32 seeded through splitmix32), so that every split, sample
 * and initialisation in cml-rec can be reproduced from one integer seed.
 */
export class Random {
  // The four 32-bit words of sfc32's state live in an Int32Array: plain object fields would
  // hold values above 2^30 as boxed doubles, which made every draw ten times slower.
  private readonly words = new Int32Array(4);

  constructor(seed: number) {
    let state = seed >>> 0;
    for (let n = 0; n < 4; n++) {
      state = (state + 0x9e3779b9) >>> 0;
      let z = state;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      this.words[n] = z ^ (z >>> 16);
    }
    for (let n = 0; n < 12; n++) this.nextUint32();
  }

  nextUint32(): number {
    const words = this.words;
    const a = words[0];
    const b = words[1];
    let c = words[2];
    const d = words[3];
    const t = (((a + b) | 0) + d) | 0;
    words[3] = (d + 1) | 0;
    words[0] = b ^ (b >>> 9);
    words[1] = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    words[2] = (c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** Standard normal (Box-Muller). */
  normal(): number {
    const u = 1 - this.float();
    const v = this.float();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Fisher-Yates shuffle in place. */
  shuffle<T extends { length: number; [index: number]: number } | unknown[]>(array: T): T {
    const values = array as unknown as number[];
    for (let i = values.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const swap = values[i];
      values[i] = values[j];
      values[j] = swap;
    }
    return array;
  }
}
