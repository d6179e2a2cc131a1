import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startRecommenderFixture, type RecommenderFixture } from '../testing.js';

interface ErrorResponse {
  error: { code: string; message: string };
}

describe('recommender > http', () => {
  let fixture: RecommenderFixture;
  let version: string;
  const get = async (route: string) => {
    const response = await fetch(`${fixture.baseUrl}${route}`);
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  before(async () => {
    fixture = await startRecommenderFixture();
  });
  after(async () => {
    await fixture.close();
  });

  it('is alive but not ready before a model version is loaded', async () => {
    assert.equal((await get('/healthz')).status, 200);
    const ready = await get('/readyz');
    assert.equal(ready.status, 503);
    assert.equal((ready.body as unknown as ErrorResponse).error.code, 'NOT_READY');
    const early = await get('/v1/users/1/recommendations');
    assert.equal(early.status, 503);
  });

  it('serves k nearest unseen items with distances and the model version', async () => {
    version = await fixture.publishModel();
    await fixture.models.refresh();
    assert.equal((await get('/readyz')).status, 200);

    const { status, body } = await get('/v1/users/1/recommendations?k=7');
    assert.equal(status, 200);
    assert.equal(body.modelVersion, version);
    const items = body.items as { itemId: string; distance: number }[];
    assert.equal(items.length, 7);
    const distances = items.map((item) => item.distance);
    assert.deepEqual(
      distances,
      [...distances].sort((a, b) => a - b),
      'nearest first',
    );

    const { rows } = await fixture.db.pool.query<{ external_id: string }>(
      `SELECT i.external_id FROM interactions x JOIN users u ON u.id = x.user_id
         JOIN items i ON i.id = x.item_id WHERE u.external_id = '1'`,
    );
    const seen = new Set(rows.map((row) => row.external_id));
    assert.ok(seen.size > 0);
    for (const item of items)
      assert.ok(!seen.has(item.itemId), `seen item ${item.itemId} recommended`);
  });

  it('answers 404 with a JSON error for an unknown user', async () => {
    const { status, body } = await get('/v1/users/nobody/recommendations');
    assert.equal(status, 404);
    assert.equal((body as unknown as ErrorResponse).error.code, 'USER_NOT_FOUND');
  });

  it('answers 400 naming the allowed range for every invalid k', async () => {
    for (const k of ['0', '-1', '1.5', 'abc', '51', '', '1e2']) {
      const { status, body } = await get(`/v1/users/1/recommendations?k=${encodeURIComponent(k)}`);
      assert.equal(status, 400, `k=${k}`);
      const error = (body as unknown as ErrorResponse).error;
      assert.equal(error.code, 'INVALID_K');
      assert.match(error.message, /from 1 to 50/);
    }
  });

  it('answers 404 with a JSON error for an unknown route', async () => {
    const { status, body } = await get('/v1/nothing');
    assert.equal(status, 404);
    assert.equal((body as unknown as ErrorResponse).error.code, 'ROUTE_NOT_FOUND');
  });
});
