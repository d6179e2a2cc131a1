import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startRecommenderFixture, type RecommenderFixture } from '../testing.js';

interface ServedBody {
  modelVersion: string;
  rollout: string | null;
  variant: string | null;
  items: { itemId: string }[];
}
interface ReportBody {
  variants: {
    variant: string;
    modelVersion: string;
    impressions: number;
    converted: number;
    conversion: { rate: number; low: number; high: number };
  }[];
}

describe('recommender > http > rollouts', () => {
  let fixture: RecommenderFixture;
  let control: string;
  let treatment: string;
  let replica: Awaited<ReturnType<RecommenderFixture['startReplica']>> | undefined;
  const users = Array.from({ length: 60 }, (_, n) => String(n + 1));
  const recommend = async (baseUrl: string, userId: string) => {
    const response = await fixture.request(`/v1/users/${userId}/recommendations?k=5`);
    assert.equal(response.status, 200);
    assert.equal(baseUrl, fixture.baseUrl);
    return (await response.json()) as ServedBody;
  };

  before(async () => {
    fixture = await startRecommenderFixture();
    control = await fixture.publishModel({ seed: 11 });
    treatment = await fixture.publishModel({ seed: 12, activate: false });
    await fixture.models.refresh();
  });
  after(async () => {
    await fixture.close();
  });

  it('serves each user by a variant, and says which variant and version answered', async () => {
    const response = await fixture.request('/v1/rollouts/exp-1', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        salt: 'salt-1',
        variants: [
          { name: 'control', modelVersion: control, weight: 1 },
          { name: 'treatment', modelVersion: treatment, weight: 1 },
        ],
      }),
    });
    assert.equal(response.status, 200);
    await fixture.models.refresh();

    const seen = new Map<string, string>();
    for (const userId of users) {
      const body = await recommend(fixture.baseUrl, userId);
      assert.equal(body.rollout, 'exp-1');
      assert.equal(body.modelVersion, body.variant === 'control' ? control : treatment);
      seen.set(userId, body.variant ?? '');
    }
    const counts = [...seen.values()].filter((v) => v === 'control').length;
    assert.ok(counts > 10 && counts < 50, `${counts} of 60 in control`);
  });

  it('keeps every user in the same variant after a restart', async () => {
    const before = new Map<string, string | null>();
    for (const userId of users)
      before.set(userId, (await recommend(fixture.baseUrl, userId)).variant);

    replica = await fixture.startReplica();
    for (const userId of users) {
      const response = await fetch(
        `http://127.0.0.1:${replica?.port}/v1/users/${userId}/recommendations?k=5`,
        { headers: { authorization: 'Bearer fixture-key' } },
      );
      const body = (await response.json()) as ServedBody;
      assert.equal(body.variant, before.get(userId), `user ${userId}`);
    }
  });

  it('reports impressions and later interactions per variant with a Wilson interval', async () => {
    await fixture.recommender.impressions.flush();
    await replica?.impressions.flush();
    await fixture.db.pool.query('DELETE FROM impressions');

    const served = new Map<string, ServedBody>();
    for (const userId of users) served.set(userId, await recommend(fixture.baseUrl, userId));
    await fixture.recommender.impressions.flush();

    // Every third user then interacts with their second recommended item.
    const converted = new Map<string, number>();
    for (const [n, userId] of users.entries()) {
      if (n % 3 !== 0) continue;
      const body = served.get(userId) as ServedBody;
      await fixture.addInteraction(userId, body.items[1].itemId);
      converted.set(body.variant ?? '', (converted.get(body.variant ?? '') ?? 0) + 1);
    }

    const response = await fixture.request('/v1/rollouts/exp-1/report');
    assert.equal(response.status, 200);
    const report = (await response.json()) as ReportBody;
    for (const variant of report.variants) {
      const expected = [...served.values()].filter((b) => b.variant === variant.variant).length;
      assert.equal(variant.impressions, expected, variant.variant);
      assert.equal(variant.converted, converted.get(variant.variant) ?? 0, variant.variant);
      const { rate, low, high } = variant.conversion;
      assert.ok(Math.abs(rate - variant.converted / variant.impressions) < 1e-12);
      assert.ok(low <= rate && rate <= high && low >= 0 && high <= 1);
    }
  });

  it('lets concurrent starts of different rollouts replace each other, as one start does', async () => {
    const put = (id: string) =>
      fixture.request(`/v1/rollouts/${id}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ variants: [{ name: 'only', modelVersion: control, weight: 1 }] }),
      });
    assert.equal((await put('race-running')).status, 200);

    const ids = Array.from({ length: 8 }, (_, n) => `race-${n}`);
    const responses = await Promise.all(ids.map((id) => put(id)));
    const statuses = await Promise.all(
      responses.map(async (response) => `${response.status} ${await response.text()}`),
    );
    for (const status of statuses) assert.match(status, /^200 /);
    const { rows } = await fixture.db.pool.query<{ id: string }>(
      "SELECT id FROM rollouts WHERE status = 'running'",
    );
    assert.equal(rows.length, 1);
    assert.ok(ids.includes(rows[0].id), rows[0].id);

    // Leave exp-1 running again for the next test, which stops it.
    const restart = await fixture.request('/v1/rollouts/exp-1', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        variants: [
          { name: 'control', modelVersion: control, weight: 1 },
          { name: 'treatment', modelVersion: treatment, weight: 1 },
        ],
      }),
    });
    assert.equal(restart.status, 200);
  });

  it('serves the active version to everyone once the rollout stops', async () => {
    const response = await fixture.request('/v1/rollouts/exp-1/stop', { method: 'POST' });
    assert.equal(response.status, 200);
    await fixture.models.refresh();
    const body = await recommend(fixture.baseUrl, '1');
    assert.equal(body.variant, null);
    assert.equal(body.modelVersion, control);
  });
});
