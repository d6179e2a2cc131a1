import { AppError } from '@cml-rec/shared/errors';
import type { ItemCatalog, ItemFilters } from './item-catalog.js';
import { hasFilters } from './item-catalog.js';
import type { RecommenderMetrics } from './metrics.js';
import type { SearchConstraints } from './model/item-index.js';
import type { ServingState } from './model/model-holder.js';
import type { ServingModel } from './model/serving-model.js';
import { assignVariant } from './rollouts/assignment.js';
import type { ImpressionSink } from './rollouts/impressions.js';
import type { SeenItemsSource } from './seen-items.js';

export interface Recommendation {
  itemId: string;
  /** Euclidean distance between the query vector and the item's; null for popular items. */
  distance: number | null;
}

/** Which model answered, and for which experiment arm. */
export interface Served {
  modelVersion: string;
  /** The rollout and variant the subject was assigned to; null outside a rollout. */
  rollout: string | null;
  variant: string | null;
}

export interface RecommendationList extends Served {
  k: number;
  /** `model` for k-NN results, `popular` for the unknown-user fallback. */
  source: 'model' | 'popular';
  items: Recommendation[];
}

/** What every operation needs; `serving` is read once per request. */
export interface RecommendContext {
  serving: ServingState;
  seen: SeenItemsSource;
  catalog: ItemCatalog;
  impressions: ImpressionSink;
  metrics?: RecommenderMetrics;
}

const noFilters: ItemFilters = { genres: [], tags: [] };

/**
 * The model a subject is served by: its rollout variant when a rollout is running (the
 * assignment is a pure function of salt and subject), otherwise the active version.
 */
export function chooseModel(
  serving: ServingState,
  subject: string | undefined,
): { model: ServingModel; served: Served } {
  const { rollout, active } = serving;
  if (rollout && subject !== undefined) {
    const variant = assignVariant(rollout.salt, subject, rollout.variants);
    const model = rollout.variants.find((v) => v.name === variant.name)?.model;
    if (model) {
      return {
        model,
        served: { modelVersion: model.versionId, rollout: rollout.id, variant: variant.name },
      };
    }
  }
  if (!active) {
    throw new AppError('NOT_READY', 'no model version is loaded yet; retry shortly', {
      status: 503,
      retriable: true,
    });
  }
  return {
    model: active,
    served: { modelVersion: active.versionId, rollout: null, variant: null },
  };
}

/**
 * The k items nearest to the user in the metric space, without the items the user has already
 * interacted with (unless `excludeSeen` is false), restricted to `filters`. An unknown user is
 * USER_NOT_FOUND (404) unless `fallback` is `popular`: then the most popular eligible items.
 */
export async function recommendForUser(
  context: RecommendContext,
  request: {
    userId: string;
    k: number;
    excludeSeen?: boolean;
    filters?: ItemFilters;
    fallback?: 'popular';
  },
): Promise<RecommendationList> {
  const { userId, k, excludeSeen = true, filters = noFilters } = request;
  const { model, served } = chooseModel(context.serving, userId);
  const user = model.userIndex(userId);
  if (user === undefined && request.fallback !== 'popular') {
    throw new AppError(
      'USER_NOT_FOUND',
      `user ${JSON.stringify(userId)} is not in model ${model.versionId}; ask with fallback=popular for popular items`,
      { status: 404 },
    );
  }
  const seenIds = excludeSeen ? await context.seen.forUser(userId) : [];

  let list: RecommendationList;
  if (user === undefined) {
    const seen = new Set(seenIds);
    const items = context.catalog.popular
      .filter((itemId) => !seen.has(itemId) && context.catalog.passes(itemId, filters))
      .slice(0, k)
      .map((itemId) => ({ itemId, distance: null }));
    list = { ...served, k, source: 'popular', items };
  } else {
    const excluded = new Set<number>();
    for (const itemId of seenIds) {
      const item = model.itemIndex(itemId);
      if (item !== undefined) excluded.add(item);
    }
    const items = search(context, model, model.userVector(user), k, {
      excluded,
      allowed: hasFilters(filters) ? context.catalog.allowedItems(model, filters) : undefined,
    });
    list = { ...served, k, source: 'model', items };
  }

  record(context, 'user', served, userId, list.items);
  return list;
}

/** The k items nearest to an item (itself excluded), from the active version. */
export function similarItems(
  context: RecommendContext,
  request: { itemId: string; k: number; filters?: ItemFilters },
): RecommendationList & { itemId: string } {
  const { itemId, k, filters = noFilters } = request;
  const { model, served } = chooseModel(context.serving, undefined);
  const item = model.itemIndex(itemId);
  if (item === undefined) {
    throw new AppError(
      'ITEM_NOT_FOUND',
      `item ${JSON.stringify(itemId)} is not in model ${model.versionId}`,
      { status: 404 },
    );
  }
  const items = search(context, model, model.itemVector(item), k, {
    excluded: new Set([item]),
    allowed: hasFilters(filters) ? context.catalog.allowedItems(model, filters) : undefined,
  });
  record(context, 'similar', served, null, items);
  return { itemId, ...served, k, source: 'model', items };
}

/**
 * Recommendations for an anonymous session from its recent items (fold-in): the query is the
 * mean of the known items' vectors, projected back into the unit ball where every CML vector
 * lives (a mean of unit-ball points is inside already; the projection guards rounding), and
 * the session's items are excluded. Items the model does not know are ignored and listed; when
 * none is known the answer is NO_KNOWN_ITEMS (404).
 */
export function recommendForSession(
  context: RecommendContext,
  request: { items: string[]; k: number; sessionId?: string; filters?: ItemFilters },
): RecommendationList & { unknownItems: string[] } {
  const { k, filters = noFilters } = request;
  const { model, served } = chooseModel(context.serving, request.sessionId);

  const known = new Set<number>();
  const unknownItems: string[] = [];
  for (const itemId of request.items) {
    const item = model.itemIndex(itemId);
    if (item === undefined) unknownItems.push(itemId);
    else known.add(item);
  }
  if (known.size === 0) {
    throw new AppError(
      'NO_KNOWN_ITEMS',
      `none of the ${request.items.length} session items is in model ${model.versionId}`,
      { status: 404, details: { unknownItems } },
    );
  }

  const query = new Float32Array(model.dim);
  for (const item of known) {
    const vector = model.itemVector(item);
    for (let d = 0; d < model.dim; d++) query[d] += vector[d] / known.size;
  }
  projectIntoUnitBall(query);

  const items = search(context, model, query, k, {
    excluded: known,
    allowed: hasFilters(filters) ? context.catalog.allowedItems(model, filters) : undefined,
  });
  record(context, 'session', served, request.sessionId ?? null, items);
  return { ...served, k, source: 'model', items, unknownItems };
}

/** Features of a new item, as stored in items.features, and/or raw vocabulary tokens. */
export interface NewItemFeatures {
  genres?: string[];
  tags?: string[];
  tokens?: string[];
}

/**
 * A new item's vector from its features through the active version's ONNX encoder, and
 * optionally its k nearest catalogue items. A version without an encoder is
 * ENCODER_UNAVAILABLE (409: the request is fine, the serving model cannot answer it).
 */
export async function embedItem(
  context: RecommendContext,
  request: { features: NewItemFeatures; k?: number },
): Promise<{
  modelVersion: string;
  dim: number;
  vector: number[];
  knownFeatures: string[];
  unknownFeatures: string[];
  neighbours?: Recommendation[];
}> {
  const { model, served } = chooseModel(context.serving, undefined);
  const encoder = model.encoder;
  if (!encoder) {
    throw new AppError(
      'ENCODER_UNAVAILABLE',
      `model version ${model.versionId} has no item-feature encoder; embed new items with a version trained with features`,
      { status: 409 },
    );
  }

  const input = new Float32Array(encoder.vocabulary.length);
  const knownFeatures: string[] = [];
  const unknownFeatures: string[] = [];
  const place = (token: string, candidates: string[]) => {
    const position = findPosition(encoder.positions, candidates);
    if (position === undefined) unknownFeatures.push(token);
    else {
      input[position] = 1;
      knownFeatures.push(encoder.vocabulary[position]);
    }
  };
  const { genres = [], tags = [], tokens = [] } = request.features;
  for (const genre of genres) place(genre, [genre, `genre:${genre}`, `genres:${genre}`]);
  for (const tag of tags) place(tag, [tag, `tag:${tag}`, `tags:${tag}`]);
  for (const token of tokens) place(token, [token]);

  const vector = await encoder.model.encodeFeatures(input);
  const result = {
    modelVersion: served.modelVersion,
    dim: model.dim,
    vector: Array.from(vector),
    knownFeatures,
    unknownFeatures,
  };
  if (request.k === undefined) return result;
  return { ...result, neighbours: search(context, model, vector, request.k, {}) };
}

function findPosition(positions: Map<string, number>, candidates: string[]): number | undefined {
  for (const candidate of candidates) {
    const position = positions.get(candidate) ?? positions.get(candidate.toLowerCase());
    if (position !== undefined) return position;
  }
  return undefined;
}

function search(
  context: RecommendContext,
  model: ServingModel,
  query: Float32Array,
  k: number,
  constraints: SearchConstraints,
): Recommendation[] {
  const started = performance.now();
  const { neighbours, method } = model.index.search(query, k, constraints);
  context.metrics?.searchSeconds.observe({ method }, (performance.now() - started) / 1000);
  return neighbours.map(({ item, distance }) => ({ itemId: model.itemIds[item], distance }));
}

function record(
  context: RecommendContext,
  endpoint: string,
  served: Served,
  userId: string | null,
  items: Recommendation[],
): void {
  context.impressions.record({
    servedAt: new Date(),
    rolloutId: served.rollout,
    variant: served.variant,
    modelVersion: served.modelVersion,
    endpoint,
    userId,
    itemIds: items.map((item) => item.itemId),
  });
}

/** Scales `vector` in place so that its Euclidean norm is at most 1. */
export function projectIntoUnitBall(vector: Float32Array): void {
  let squared = 0;
  for (const value of vector) squared += value * value;
  if (squared <= 1) return;
  const scale = 1 / Math.sqrt(squared);
  for (let d = 0; d < vector.length; d++) vector[d] *= scale;
}
