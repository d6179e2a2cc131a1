import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startRecommenderFixture, type RecommenderFixture } from '../testing.js';

describe('recommender > http > hot reload', () => {
  let fixture: RecommenderFixture;
  const servingVersion = async () => {
    const response = await fetch(`${fixture.baseUrl}/readyz`);
    return response.ok
      ? ((await response.json()) as { modelVersion: string }).modelVersion
      : undefined;
  };
  const waitFor = async (version: string, timeoutMs = 10_000) => {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if ((await servingVersion()) === version) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.fail(
      `version ${version} not serving after ${timeoutMs} ms (serving ${await servingVersion()})`,
    );
  };

  before(async () => {
    // Polling every minute: only LISTEN/NOTIFY can make these swaps happen within seconds.
    fixture = await startRecommenderFixture({ RELOAD_POLL_MS: '60000' });
  });
  after(async () => {
    await fixture.close();
  });

  it('loads a newly activated version on notification, without a manual refresh', async () => {
    const first = await fixture.publishModel({ seed: 1 });
    await waitFor(first);
    const second = await fixture.publishModel({ seed: 2 });
    await waitFor(second);
  });

  it('refuses a version with a truncated artifact and keeps serving the previous one', async () => {
    const serving = await servingVersion();
    assert.ok(serving);
    const failuresBefore = await loadFailures();
    await fixture.publishModel({ seed: 3, corrupt: true });
    const deadline = Date.now() + 10_000;
    while ((await loadFailures()) === failuresBefore && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(await loadFailures(), failuresBefore + 1);
    assert.equal(await servingVersion(), serving);
    const response = await fixture.request('/v1/users/1/recommendations?k=3');
    assert.equal(response.status, 200);
    assert.equal(((await response.json()) as { modelVersion: string }).modelVersion, serving);
  });

  it('swaps under load without a single failed request', async () => {
    let stop = false;
    const statuses = new Map<number, number>();
    const versions = new Set<string>();
    const latencies: number[] = [];
    const client = async () => {
      for (let n = 0; !stop; n++) {
        const started = performance.now();
        const response = await fixture.request(`/v1/users/${1 + (n % 100)}/recommendations?k=10`);
        const body = (await response.json()) as { modelVersion?: string };
        latencies.push(performance.now() - started);
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        if (body.modelVersion) versions.add(body.modelVersion);
      }
    };
    const clients = Array.from({ length: 4 }, client);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const next = await fixture.publishModel({ seed: 4 });
    await waitFor(next);
    await new Promise((resolve) => setTimeout(resolve, 200));
    stop = true;
    await Promise.all(clients);

    assert.deepEqual([...statuses.keys()], [200], JSON.stringify(Object.fromEntries(statuses)));
    assert.ok(versions.has(next) && versions.size === 2, [...versions].join(', '));
    latencies.sort((a, b) => a - b);
    assert.ok(latencies[latencies.length - 1] < 2000, `slowest request ${latencies.at(-1)} ms`);
  });

  async function loadFailures(): Promise<number> {
    const text = await (await fixture.request('/metrics')).text();
    const match = /^recommender_model_load_failures_total (\d+)/m.exec(text);
    return Number(match?.[1] ?? 0);
  }
});
