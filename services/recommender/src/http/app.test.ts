import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Express } from 'express';
import { FIXTURE_GENRES, startRecommenderFixture, type RecommenderFixture } from '../testing.js';

interface ErrorBody {
  error: { code: string; message: string };
}
interface ListBody {
  modelVersion: string;
  variant: string | null;
  source: string;
  items: { itemId: string; distance: number | null }[];
  unknownItems?: string[];
}

describe('recommender > http', () => {
  let fixture: RecommenderFixture;
  let version: string;
  const get = async (route: string) => {
    const response = await fixture.request(route);
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const post = async (route: string, body: unknown) => {
    const response = await fixture.request(route, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const errorOf = (body: unknown) => (body as ErrorBody).error;
  const seenBy = async (userId: string) => {
    const { rows } = await fixture.db.pool.query<{ external_id: string }>(
      `SELECT i.external_id FROM interactions x JOIN users u ON u.id = x.user_id
         JOIN items i ON i.id = x.item_id WHERE u.external_id = $1`,
      [userId],
    );
    return new Set(rows.map((row) => row.external_id));
  };

  before(async () => {
    // Seen items cached for a minute and refreshed every 200 ms: only the refresh can make
    // the freshness test pass.
    fixture = await startRecommenderFixture({ SEEN_CACHE_MS: '60000', SEEN_REFRESH_MS: '200' });
  });
  after(async () => {
    await fixture.close();
  });

  it('is alive but not ready before a model version is loaded', async () => {
    assert.equal((await fetch(`${fixture.baseUrl}/healthz`)).status, 200);
    const ready = await fetch(`${fixture.baseUrl}/readyz`);
    assert.equal(ready.status, 503);
    assert.equal(errorOf(await ready.json()).code, 'NOT_READY');
    const early = await get('/v1/users/1/recommendations');
    assert.equal(early.status, 503);
    assert.equal(errorOf(early.body).code, 'NOT_READY');
  });

  it('serves k nearest unseen items with distances and the model version', async () => {
    version = await fixture.publishModel();
    await fixture.models.refresh();
    assert.equal((await fetch(`${fixture.baseUrl}/readyz`)).status, 200);

    const { status, body } = await get('/v1/users/1/recommendations?k=7');
    assert.equal(status, 200);
    const list = body as unknown as ListBody;
    assert.equal(list.modelVersion, version);
    assert.equal(list.variant, null);
    assert.equal(list.items.length, 7);
    const distances = list.items.map((item) => item.distance as number);
    assert.deepEqual(
      distances,
      [...distances].sort((a, b) => a - b),
      'nearest first',
    );
    const seen = await seenBy('1');
    assert.ok(seen.size > 0);
    for (const item of list.items) assert.ok(!seen.has(item.itemId), `seen ${item.itemId}`);
  });

  it('returns every unseen item when k exceeds them, and seen ones when asked to', async () => {
    const seen = await seenBy('1');
    const all = (await get('/v1/users/1/recommendations?k=50')).body as unknown as ListBody;
    assert.equal(all.items.length, Math.min(50, 80 - seen.size));
    const withSeen = (await get('/v1/users/1/recommendations?k=50&excludeSeen=false'))
      .body as unknown as ListBody;
    assert.equal(withSeen.items.length, 50);
  });

  it('excludes an interaction ingested now within seconds', async () => {
    const before = (await get('/v1/users/2/recommendations?k=1')).body as unknown as ListBody;
    const top = before.items[0].itemId;
    await fixture.addInteraction('2', top);
    const deadline = Date.now() + 5000;
    let excluded = false;
    while (!excluded && Date.now() < deadline) {
      const now = (await get('/v1/users/2/recommendations?k=5')).body as unknown as ListBody;
      excluded = !now.items.some((item) => item.itemId === top);
      if (!excluded) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.ok(excluded, `item ${top} still recommended 5 s after the interaction`);
  });

  it('filters by genre and tag from items.features', async () => {
    const genre = FIXTURE_GENRES[1];
    const byGenre = (await get(`/v1/users/3/recommendations?k=10&genre=${genre.toLowerCase()}`))
      .body as unknown as ListBody;
    assert.ok(byGenre.items.length > 0);
    for (const { itemId } of byGenre.items) assert.equal(Number(itemId) % 4, 1);

    const both = (
      await get(`/v1/users/3/recommendations?k=10&genre=${FIXTURE_GENRES[0]},${genre}&tag=tag-even`)
    ).body as unknown as ListBody;
    assert.ok(both.items.length > 0);
    for (const { itemId } of both.items) assert.equal(Number(itemId) % 4, 0);
  });

  it('answers similar items without the item itself', async () => {
    const { status, body } = await get('/v1/items/10/similar?k=5');
    assert.equal(status, 200);
    const list = body as unknown as ListBody;
    assert.equal(list.items.length, 5);
    assert.ok(!list.items.some((item) => item.itemId === '10'));
    assert.equal(errorOf((await get('/v1/items/nope/similar')).body).code, 'ITEM_NOT_FOUND');
  });

  it('folds an anonymous session in from its recent items, excluding them', async () => {
    const { status, body } = await post('/v1/sessions/recommendations', {
      items: ['1', '2', '3', 'not-an-item'],
      k: 6,
    });
    assert.equal(status, 200);
    const list = body as unknown as ListBody;
    assert.equal(list.items.length, 6);
    assert.deepEqual(list.unknownItems, ['not-an-item']);
    for (const id of ['1', '2', '3']) assert.ok(!list.items.some((item) => item.itemId === id));

    const none = await post('/v1/sessions/recommendations', { items: ['x', 'y'] });
    assert.equal(none.status, 404);
    assert.equal(errorOf(none.body).code, 'NO_KNOWN_ITEMS');
  });

  it('answers 409 ENCODER_UNAVAILABLE when the version has no feature encoder', async () => {
    const { status, body } = await post('/v1/items/embed', { features: { genres: ['Action'] } });
    assert.equal(status, 409);
    assert.equal(errorOf(body).code, 'ENCODER_UNAVAILABLE');
  });

  it('answers 404 for an unknown user unless popular items are asked for', async () => {
    const { status, body } = await get('/v1/users/nobody/recommendations');
    assert.equal(status, 404);
    assert.equal(errorOf(body).code, 'USER_NOT_FOUND');

    const popular = await get('/v1/users/nobody/recommendations?fallback=popular&k=5');
    assert.equal(popular.status, 200);
    const list = popular.body as unknown as ListBody;
    assert.equal(list.source, 'popular');
    assert.equal(list.items.length, 5);
    assert.equal(list.items[0].distance, null);
  });

  it('answers 400 naming the allowed range for every invalid k', async () => {
    for (const k of ['0', '-1', '1.5', 'abc', '51', '', '1e2']) {
      const { status, body } = await get(`/v1/users/1/recommendations?k=${encodeURIComponent(k)}`);
      assert.equal(status, 400, `k=${k}`);
      assert.equal(errorOf(body).code, 'INVALID_K');
      assert.match(errorOf(body).message, /from 1 to 50/);
    }
    const repeated = await get('/v1/users/1/recommendations?k=1&k=2');
    assert.equal(errorOf(repeated.body).code, 'INVALID_K');
    for (const k of [0, -3, 2.5, 51, '7']) {
      const { status, body } = await post('/v1/sessions/recommendations', { items: ['1'], k });
      assert.equal(status, 400, `body k=${JSON.stringify(k)}`);
      assert.equal(errorOf(body).code, 'INVALID_K');
      assert.match(errorOf(body).message, /from 1 to 50/);
    }
  });

  it('answers 400 or 413 with a stable code for malformed input, never 500', async () => {
    const cases: [
      () => Promise<{ status: number; body: Record<string, unknown> }>,
      number,
      string,
    ][] = [
      [() => get(`/v1/users/${'x'.repeat(300)}/recommendations`), 400, 'INVALID_ID'],
      [() => get('/v1/users/1/recommendations?excludeSeen=maybe'), 400, 'INVALID_FLAG'],
      [() => get('/v1/users/1/recommendations?fallback=random'), 400, 'INVALID_FALLBACK'],
      [() => get(`/v1/users/1/recommendations?genre=${'g,'.repeat(30)}`), 400, 'INVALID_FILTER'],
      [() => post('/v1/sessions/recommendations', '{"items": [1,'), 400, 'MALFORMED_JSON'],
      [() => post('/v1/sessions/recommendations', { items: [] }), 400, 'INVALID_BODY'],
      [() => post('/v1/sessions/recommendations', { items: [42] }), 400, 'INVALID_BODY'],
      [() => post('/v1/sessions/recommendations', { items: ['1'], extra: 1 }), 400, 'INVALID_BODY'],
      [() => post('/v1/sessions/recommendations', []), 400, 'INVALID_BODY'],
      [() => post('/v1/sessions/recommendations', 'null'), 400, 'MALFORMED_JSON'],
      [() => post('/v1/items/embed', { features: 'Action' }), 400, 'INVALID_BODY'],
      [
        () => post('/v1/sessions/recommendations', { items: ['1'], pad: 'x'.repeat(100_000) }),
        413,
        'BODY_TOO_LARGE',
      ],
      [() => post('/v1/rollouts/x/stop', {}), 404, 'ROLLOUT_NOT_FOUND'],
      [() => get('/v1/rollouts/bad%20id/report'), 400, 'INVALID_ID'],
      [() => get('/v1/nothing'), 404, 'ROUTE_NOT_FOUND'],
      // Control characters and lone surrogates can never be stored (PostgreSQL text has no NUL):
      // every path agrees on 400 instead of a 500 from the database or a 404 from the model.
      [() => get('/v1/users/%00/recommendations?fallback=popular'), 400, 'INVALID_ID'],
      [() => get('/v1/users/%00/recommendations'), 400, 'INVALID_ID'],
      [() => get('/v1/users/a%1Fb/recommendations?fallback=popular'), 400, 'INVALID_ID'],
      [() => get('/v1/items/%7F/similar'), 400, 'INVALID_ID'],
      [() => get('/v1/users/1/recommendations?genre=a%00b'), 400, 'INVALID_FILTER'],
      [() => post('/v1/sessions/recommendations', { items: ['1\u0000'] }), 400, 'INVALID_BODY'],
      [() => post('/v1/sessions/recommendations', { items: ['\ud800'] }), 400, 'INVALID_BODY'],
      [() => post('/v1/items/embed', { features: { tags: ['a\u0007'] } }), 400, 'INVALID_BODY'],
      [() => get('/v1/sessions/recommendations'), 405, 'METHOD_NOT_ALLOWED'],
    ];
    for (const [call, status, code] of cases) {
      const response = await call();
      assert.equal(response.status, status, code);
      assert.equal(errorOf(response.body).code, code);
      assert.equal(typeof errorOf(response.body).message, 'string');
    }
    const wrongMethod = await fixture.request('/v1/users/1/recommendations', { method: 'DELETE' });
    assert.equal(wrongMethod.status, 405);
    assert.equal(wrongMethod.headers.get('allow'), 'GET, HEAD, OPTIONS');
    assert.equal(errorOf(await wrongMethod.json()).code, 'METHOD_NOT_ALLOWED');
    const rollout = await fixture.request('/v1/rollouts/r1', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ variants: [{ name: 'a', modelVersion: 'missing', weight: 1 }] }),
    });
    assert.equal(rollout.status, 404);
    assert.equal(errorOf(await rollout.json()).code, 'VERSION_NOT_FOUND');
  });

  it('answers 400 naming the field for control characters in a body string', async () => {
    const put = (body: unknown) =>
      fixture.request('/v1/rollouts/r1', {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const cases: [unknown, string, string][] = [
      [
        { variants: [{ name: 'a', modelVersion: 'x\u0000', weight: 1 }] },
        'PUT',
        'variants.0.modelVersion',
      ],
      [
        { salt: 's\u0000', variants: [{ name: 'a', modelVersion: version, weight: 1 }] },
        'PUT',
        'salt',
      ],
      [
        { salt: '\udc00', variants: [{ name: 'a', modelVersion: version, weight: 1 }] },
        'PUT',
        'salt',
      ],
      [{ items: ['1'], sessionId: 's\u0000' }, 'POST', 'sessionId'],
    ];
    for (const [body, method, field] of cases) {
      const response =
        method === 'PUT'
          ? await put(body)
          : await fixture.request('/v1/sessions/recommendations', {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify(body),
            });
      assert.equal(response.status, 400, field);
      const error = errorOf(await response.json());
      assert.equal(error.code, 'INVALID_BODY', field);
      assert.ok(error.message.includes(`${field}:`), error.message);
    }
  });

  it('requires a valid bearer token everywhere but the health probes', async () => {
    for (const route of ['/v1/users/1/recommendations', '/metrics', '/openapi.json']) {
      const none = await fetch(`${fixture.baseUrl}${route}`);
      assert.equal(none.status, 401, route);
      assert.equal(errorOf(await none.json()).code, 'UNAUTHENTICATED');
      const wrong = await fetch(`${fixture.baseUrl}${route}`, {
        headers: { authorization: 'Bearer fixture-kez' },
      });
      assert.equal(wrong.status, 401, route);
    }
    assert.equal((await fetch(`${fixture.baseUrl}/healthz`)).status, 200);
  });

  it('exposes Prometheus metrics of requests and searches', async () => {
    const response = await fixture.request('/metrics');
    assert.equal(response.status, 200);
    const text = await response.text();
    assert.match(
      text,
      /recommender_http_request_duration_seconds_count\{[^}]*route="\/v1\/users\/:userId\/recommendations"/,
    );
    assert.match(text, /recommender_search_duration_seconds_count\{method="(hnsw|exact)"\}/);
    assert.match(text, /recommender_model_serving\{version="[^"]+",role="active"\} 1/);
  });

  it('documents every route in /openapi.json', async () => {
    const { status, body } = await get('/openapi.json');
    assert.equal(status, 200);
    const paths = body.paths as Record<string, Record<string, unknown>>;
    const routes = listRoutes(fixture.recommender.server.listeners('request')[0] as Express);
    assert.ok(routes.length >= 12, `${routes.length} routes found`);
    for (const { path, method } of routes) {
      const documented = path.replace(/:(\w+)/g, '{$1}');
      assert.ok(paths[documented]?.[method], `${method.toUpperCase()} ${path} is not documented`);
    }
  });
});

/** Every (path, method) registered on an express 5 app. */
function listRoutes(app: Express): { path: string; method: string }[] {
  const router = (app as unknown as { router: { stack: RouterLayer[] } }).router;
  const routes: { path: string; method: string }[] = [];
  for (const layer of router.stack) {
    if (!layer.route) continue;
    for (const method of Object.keys(layer.route.methods)) {
      routes.push({ path: layer.route.path, method });
    }
  }
  return routes;
}

interface RouterLayer {
  route?: { path: string; methods: Record<string, boolean> };
}
