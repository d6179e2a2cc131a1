import { AppError } from '@cml-rec/shared/errors';
import type { ServingModel } from './model/serving-model.js';
import type { SeenItems } from './seen-items.js';

export interface Recommendation {
  itemId: string;
  /** Euclidean distance between the user's and the item's vectors. */
  distance: number;
}

export interface RecommendationList {
  userId: string;
  modelVersion: string;
  items: Recommendation[];
}

/**
 * The k items nearest to the user in the metric space, without the items the user has
 * already interacted with (unless `excludeSeen` is false).
 */
export async function recommendForUser(
  model: ServingModel,
  seen: SeenItems,
  userId: string,
  k: number,
  excludeSeen = true,
): Promise<RecommendationList> {
  const user = model.userIndex(userId);
  if (user === undefined) {
    throw new AppError(
      'USER_NOT_FOUND',
      `user ${JSON.stringify(userId)} is not in model ${model.versionId}`,
      {
        status: 404,
      },
    );
  }

  const excluded = new Set<number>();
  if (excludeSeen) {
    for (const itemId of await seen.forUser(userId)) {
      const item = model.itemIndex(itemId);
      if (item !== undefined) excluded.add(item);
    }
  }

  const neighbours = model.index.search(model.userVector(user), k, excluded);
  return {
    userId,
    modelVersion: model.versionId,
    items: neighbours.map(({ item, distance }) => ({ itemId: model.itemIds[item], distance })),
  };
}
