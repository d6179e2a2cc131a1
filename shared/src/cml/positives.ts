/**
 * Each user's positive items in compressed sparse row form: the items of user `u` are
 * `items[offsets[u] .. offsets[u + 1])`, sorted ascending, without repeats.
 *
 * Sorted rows make "is k a positive of u?" a binary search, which is what negative sampling
 * asks millions of times per second.
 */
export class UserItemSets {
  readonly numUsers: number;
  readonly numItems: number;
  readonly offsets: Int32Array;
  readonly items: Int32Array;

  constructor(numUsers: number, numItems: number, offsets: Int32Array, items: Int32Array) {
    if (offsets.length !== numUsers + 1) {
      throw new Error(
        `UserItemSets: offsets has ${offsets.length} entries, expected ${numUsers + 1}`,
      );
    }
    this.numUsers = numUsers;
    this.numItems = numItems;
    this.offsets = offsets;
    this.items = items;
  }

  /** Builds the sets from parallel arrays of (user, item) pairs; repeats are dropped. */
  static fromPairs(
    numUsers: number,
    numItems: number,
    users: ArrayLike<number>,
    items: ArrayLike<number>,
  ): UserItemSets {
    const rows: number[][] = Array.from({ length: numUsers }, () => []);
    for (let n = 0; n < users.length; n++) {
      const user = users[n];
      const item = items[n];
      if (user < 0 || user >= numUsers || item < 0 || item >= numItems) {
        throw new Error(`UserItemSets: pair (${user}, ${item}) outside ${numUsers}x${numItems}`);
      }
      rows[user].push(item);
    }

    const offsets = new Int32Array(numUsers + 1);
    const sortedRows = rows.map((row) => [...new Set(row)].sort((a, b) => a - b));
    sortedRows.forEach((row, user) => (offsets[user + 1] = offsets[user] + row.length));
    const flat = new Int32Array(offsets[numUsers]);
    sortedRows.forEach((row, user) => flat.set(row, offsets[user]));
    return new UserItemSets(numUsers, numItems, offsets, flat);
  }

  count(user: number): number {
    return this.offsets[user + 1] - this.offsets[user];
  }

  get numPairs(): number {
    return this.items.length;
  }

  itemsOf(user: number): Int32Array {
    return this.items.subarray(this.offsets[user], this.offsets[user + 1]);
  }

  has(user: number, item: number): boolean {
    let low = this.offsets[user];
    let high = this.offsets[user + 1] - 1;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      const value = this.items[mid];
      if (value === item) return true;
      if (value < item) low = mid + 1;
      else high = mid - 1;
    }
    return false;
  }

  /** The user of every stored pair, aligned with `items` (the COO view of the matrix). */
  pairUsers(): Int32Array {
    const users = new Int32Array(this.items.length);
    for (let user = 0; user < this.numUsers; user++) {
      users.fill(user, this.offsets[user], this.offsets[user + 1]);
    }
    return users;
  }

  /** How many users have each item: the popularity a baseline ranks by. */
  itemCounts(): Float64Array {
    const counts = new Float64Array(this.numItems);
    for (const item of this.items) counts[item]++;
    return counts;
  }
}
