/**
 * Seeded pseudo-random numbers for the alignment domain.
 *
 * Every initializer, minibatch draw and interpolation coefficient in this folder comes from a
 * `Random` built from an explicit integer seed, so a run is reproducible bit for bit on the
 * tfjs CPU backend. The generator is mulberry32 (32-bit state, period 2^32): plenty for
 * sampling minibatches and initial weights, not for cryptography.
 */
export interface Random {
  /** Uniform on [0, 1). */
  next(): number;
  /** Uniform on [low, high). */
  uniform(low: number, high: number): number;
  /** Standard normal N(0, 1) (Box-Muller). */
  normal(): number;
  /** Uniform integer on [0, n). */
  int(n: number): number;
}

export function createRandom(seed: number): Random {
  let state = seed >>> 0;
  let spare: number | null = null;

  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };

  const normal = (): number => {
    if (spare !== null) {
      const value = spare;
      spare = null;
      return value;
    }
    // 1 - u keeps the argument of log in (0, 1], so log never sees 0.
    const u = 1 - next();
    const v = next();
    const radius = Math.sqrt(-2 * Math.log(u));
    spare = radius * Math.sin(2 * Math.PI * v);
    return radius * Math.cos(2 * Math.PI * v);
  };

  return {
    next,
    uniform: (low, high) => low + (high - low) * next(),
    normal,
    int: (n) => Math.floor(next() * n),
  };
}

/** A Float32Array of `length` draws from `draw`. */
export function fillWith(length: number, draw: () => number): Float32Array {
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = draw();
  return out;
}

/** `size` indices drawn uniformly with replacement from [0, n). */
export function sampleIndices(random: Random, n: number, size: number): Int32Array {
  const out = new Int32Array(size);
  for (let i = 0; i < size; i++) out[i] = random.int(n);
  return out;
}

/** `size` distinct indices from [0, n) in random order (partial Fisher-Yates); size <= n. */
export function sampleWithoutReplacement(random: Random, n: number, size: number): Int32Array {
  if (size > n) throw new RangeError(`sampleWithoutReplacement: size ${size} > n ${n}`);
  const pool = new Int32Array(n);
  for (let i = 0; i < n; i++) pool[i] = i;
  for (let i = 0; i < size; i++) {
    const j = i + random.int(n - i);
    const tmp = pool[i];
    pool[i] = pool[j];
    pool[j] = tmp;
  }
  return pool.slice(0, size);
}

/** Copies the rows `indices` of a row-major matrix with `dim` columns. */
export function gatherRows(
  data: Float32Array,
  dim: number,
  indices: ArrayLike<number>,
): Float32Array {
  const out = new Float32Array(indices.length * dim);
  for (let r = 0; r < indices.length; r++) {
    const from = indices[r] * dim;
    out.set(data.subarray(from, from + dim), r * dim);
  }
  return out;
}
