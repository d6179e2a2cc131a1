import { UserItemSets } from './positives.js';

/**
 * Dense indices for external ids: the embedding tables are indexed 0..n-1 and the id lists
 * map them back. Order is first appearance, which keeps a run reproducible.
 */
export class IdIndex {
  readonly ids: string[] = [];
  private readonly indexes = new Map<string, number>();

  static from(ids: Iterable<string>): IdIndex {
    const index = new IdIndex();
    for (const id of ids) index.add(id);
    return index;
  }

  add(id: string): number {
    let index = this.indexes.get(id);
    if (index === undefined) {
      index = this.ids.length;
      this.indexes.set(id, index);
      this.ids.push(id);
    }
    return index;
  }

  get(id: string): number | undefined {
    return this.indexes.get(id);
  }

  get size(): number {
    return this.ids.length;
  }
}

/** What a model trains on: the id maps, and each user's positive items. */
export interface Dataset {
  users: IdIndex;
  items: IdIndex;
  positives: UserItemSets;
}

/**
 * Builds a dataset from (user, item) positive pairs. `catalogue` lists items that exist
 * without positives (so they still get vectors and can be recommended or ranked).
 */
export function buildDataset(
  pairs: Iterable<{ userId: string; itemId: string }>,
  catalogue: { users?: Iterable<string>; items?: Iterable<string> } = {},
): Dataset {
  const users = IdIndex.from(catalogue.users ?? []);
  const items = IdIndex.from(catalogue.items ?? []);
  const pairUsers: number[] = [];
  const pairItems: number[] = [];
  for (const { userId, itemId } of pairs) {
    pairUsers.push(users.add(userId));
    pairItems.push(items.add(itemId));
  }
  return {
    users,
    items,
    positives: UserItemSets.fromPairs(users.size, items.size, pairUsers, pairItems),
  };
}
