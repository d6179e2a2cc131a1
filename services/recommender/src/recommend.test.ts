import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Pool } from '@cml-rec/shared/db/pool';
import { buildEncoderModel, loadEncoderModel } from '@cml-rec/shared/onnx/index';
import { randomEncoder, seededRandom } from '@cml-rec/shared/onnx/testing';
import { ItemCatalog } from './item-catalog.js';
import { ItemIndex } from './model/item-index.js';
import { ServingModel } from './model/serving-model.js';
import {
  embedItem,
  projectIntoUnitBall,
  recommendForSession,
  type RecommendContext,
} from './recommend.js';
import type { Impression } from './rollouts/impressions.js';

async function contextWith(
  encoder: boolean,
): Promise<{ context: RecommendContext; impressions: Impression[] }> {
  const dim = 4;
  const random = seededRandom(3);
  const itemVectors = new Float32Array(50 * dim).map(() => random() - 0.5);
  const vocabulary = ['genre:Action', 'genre:Comedy', 'tag:funny'];
  const encoderModel = encoder
    ? await loadEncoderModel(
        buildEncoderModel({
          ...randomEncoder(random, [vocabulary.length, 6, dim]),
          metadata: { modelVersion: 'v1' },
        }),
      )
    : undefined;
  const model = await ServingModel.fromVectors({
    versionId: 'v1',
    dim,
    userIds: ['u'],
    userVectors: new Float32Array(dim),
    itemIds: Array.from({ length: 50 }, (_, n) => `i${n}`),
    index: ItemIndex.buildSync(itemVectors, dim, { m: 8, efConstruction: 50, efSearch: 20 }),
    encoder: encoderModel && {
      model: encoderModel,
      vocabulary,
      positions: new Map(vocabulary.map((token, n) => [token, n])),
    },
  });
  const impressions: Impression[] = [];
  return {
    impressions,
    context: {
      serving: { active: model, rollout: undefined },
      seen: { forUser: async () => [] },
      catalog: new ItemCatalog({} as Pool),
      impressions: { record: (impression) => impressions.push(impression) },
    },
  };
}

describe('recommender > recommend > embed', () => {
  it('encodes known features through the ONNX encoder and lists unknown ones', async () => {
    const { context } = await contextWith(true);
    const result = await embedItem(context, {
      features: { genres: ['Action'], tags: ['funny', 'sad'] },
      k: 3,
    });
    assert.equal(result.vector.length, 4);
    assert.deepEqual(result.knownFeatures, ['genre:Action', 'tag:funny']);
    assert.deepEqual(result.unknownFeatures, ['sad']);
    assert.equal(result.neighbours?.length, 3);
    const norm = Math.hypot(...result.vector);
    assert.ok(norm <= 1 + 1e-6, `norm ${norm}`);

    const other = await embedItem(context, { features: { genres: ['Comedy'] } });
    assert.notDeepEqual(other.vector, result.vector);
  });

  it('refuses with ENCODER_UNAVAILABLE when the version has no encoder', async () => {
    const { context } = await contextWith(false);
    await assert.rejects(embedItem(context, { features: { genres: ['Action'] } }), {
      code: 'ENCODER_UNAVAILABLE',
      status: 409,
    });
  });
});

describe('recommender > recommend > session', () => {
  it('queries with the mean of the session items and logs the impression', async () => {
    const { context, impressions } = await contextWith(false);
    const model = context.serving.active as ServingModel;
    const result = recommendForSession(context, { items: ['i1', 'i2'], k: 48, sessionId: 's' });
    assert.equal(result.items.length, 48, 'every item but the two session items');
    const mean = new Float32Array(4);
    for (const item of [1, 2]) model.itemVector(item).forEach((v, d) => (mean[d] += v / 2));
    const top = result.items[0];
    const expected = Math.hypot(
      ...model.itemVector(Number(top.itemId.slice(1))).map((v, d) => v - mean[d]),
    );
    assert.ok(Math.abs((top.distance ?? NaN) - expected) < 1e-5);
    assert.equal(impressions.length, 1);
    assert.equal(impressions[0].userId, 's');
    assert.equal(impressions[0].itemIds.length, 48);
  });

  it('projects a vector outside the unit ball onto its surface and leaves inner ones', () => {
    const outside = new Float32Array([3, 4]);
    projectIntoUnitBall(outside);
    assert.ok(Math.abs(outside[0] - 0.6) < 1e-6 && Math.abs(outside[1] - 0.8) < 1e-6);
    const inside = new Float32Array([0.3, 0.4]);
    projectIntoUnitBall(inside);
    assert.deepEqual(Array.from(inside), [Math.fround(0.3), Math.fround(0.4)]);
  });
});
