import type { UserItemSets } from './positives.js';

/**
 * Above this many bits (32 MiB) the bit matrix would cost more memory than it saves time, and
 * membership falls back to a binary search in the user's sorted row.
 */
export const DEFAULT_BIT_MATRIX_LIMIT = 32 * 8 * 1024 * 1024;

/**
 * "Is item k a positive of user u?", the question negative sampling asks U times per pair.
 *
 * A binary search in the user's sorted row costs about log2(row length) unpredictable branches,
 * which profiling put at a third of the training step on MovieLens. When users × items fits in
 * `bitLimit` bits, one bit per (user, item) answers with a single load instead; ML-100K needs
 * 200 KiB and ML-1M 2.8 MiB. Larger catalogues keep the binary search.
 */
export class PositiveMembership {
  private readonly wordsPerUser: number;

  /**
   * `bits` is the matrix `build` made (null: binary search). Hogwild workers get it on a
   * SharedArrayBuffer, so that one copy serves every thread.
   */
  constructor(
    private readonly sets: UserItemSets,
    readonly bits: Int32Array | null,
  ) {
    this.wordsPerUser = (sets.numItems + 31) >>> 5;
    if (bits !== null && bits.length !== sets.numUsers * this.wordsPerUser) {
      throw new Error(
        `PositiveMembership: bit matrix has ${bits.length} words, expected ` +
          `${sets.numUsers * this.wordsPerUser} for ${sets.numUsers} users x ${sets.numItems} items`,
      );
    }
  }

  /** The bit matrix when it fits in `bitLimit` bits, else the binary search. */
  static build(
    sets: UserItemSets,
    { bitLimit = DEFAULT_BIT_MATRIX_LIMIT, shared = false } = {},
  ): PositiveMembership {
    const wordsPerUser = (sets.numItems + 31) >>> 5;
    const fits = sets.numUsers * wordsPerUser * 32 <= bitLimit;
    return new PositiveMembership(sets, fits ? buildBitMatrix(sets, wordsPerUser, shared) : null);
  }

  /** True when the bit matrix is in use (false: binary search). */
  get usesBitMatrix(): boolean {
    return this.bits !== null;
  }

  has(user: number, item: number): boolean {
    const bits = this.bits;
    if (bits === null) return this.sets.has(user, item);
    return ((bits[user * this.wordsPerUser + (item >>> 5)] >>> (item & 31)) & 1) === 1;
  }
}

function buildBitMatrix(sets: UserItemSets, wordsPerUser: number, shared: boolean): Int32Array {
  const words = sets.numUsers * wordsPerUser;
  const bits = shared
    ? new Int32Array(new SharedArrayBuffer(words * Int32Array.BYTES_PER_ELEMENT))
    : new Int32Array(words);
  for (let user = 0; user < sets.numUsers; user++) {
    const rowStart = user * wordsPerUser;
    for (let n = sets.offsets[user]; n < sets.offsets[user + 1]; n++) {
      const item = sets.items[n];
      bits[rowStart + (item >>> 5)] |= 1 << (item & 31);
    }
  }
  return bits;
}
