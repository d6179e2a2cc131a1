import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { silentLogger } from '../logging/logger.js';
import { apiKeyGuard, parseApiKeys } from './auth.js';
import { jsonBody } from './body.js';
import { errorHandler } from './errors.js';

async function serve(guard: express.RequestHandler): Promise<{ server: Server; base: string }> {
  const app = express();
  app.use(guard);
  app.get('/healthz', (_req, res) => void res.json({ ok: true }));
  app.get('/readyz', (_req, res) => void res.json({ ok: true }));
  app.get('/metrics', (_req, res) => void res.send('metrics'));
  app.post('/echo', jsonBody(1024), (req, res) => void res.json(req.body));
  app.use(errorHandler(silentLogger));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe('http > auth > apiKeyGuard', () => {
  let server: Server;
  let base: string;
  before(async () => {
    ({ server, base } = await serve(apiKeyGuard({ keys: ['alpha', 'beta-key'], disabled: false })));
  });
  after(() => new Promise((resolve) => server.close(resolve)));

  const get = (path: string, authorization?: string) =>
    fetch(`${base}${path}`, { headers: authorization ? { authorization } : {} });

  it('lets the health probes through without a key', async () => {
    assert.equal((await get('/healthz')).status, 200);
    assert.equal((await get('/readyz')).status, 200);
  });

  it('accepts any configured key as a bearer token', async () => {
    assert.equal((await get('/metrics', 'Bearer alpha')).status, 200);
    assert.equal((await get('/metrics', 'bearer beta-key')).status, 200);
  });

  it('answers 401 with a stable code for a missing, malformed or unknown key', async () => {
    for (const header of [undefined, 'alpha', 'Basic YWxwaGE=', 'Bearer alph', 'Bearer alphaa']) {
      const response = await get('/metrics', header);
      assert.equal(response.status, 401, String(header));
      const body = (await response.json()) as { error: { code: string } };
      assert.equal(body.error.code, 'UNAUTHENTICATED');
    }
  });

  it('checks the key before reading the body', async () => {
    const response = await fetch(`${base}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ padding: 'x'.repeat(5_000) }),
    });
    assert.equal(response.status, 401);
  });

  it('limits the JSON body size with a 413', async () => {
    const post = (body: string) =>
      fetch(`${base}/echo`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer alpha' },
        body,
      });
    assert.equal((await post(JSON.stringify({ a: 1 }))).status, 200);
    const large = await post(JSON.stringify({ padding: 'x'.repeat(2_000) }));
    assert.equal(large.status, 413);
    assert.equal(
      ((await large.json()) as { error: { code: string } }).error.code,
      'BODY_TOO_LARGE',
    );
  });
});

describe('http > auth > configuration', () => {
  it('refuses to build a guard without keys unless auth is disabled', () => {
    assert.throws(() => apiKeyGuard({ keys: [], disabled: false }), /API_KEYS/);
    assert.throws(() => apiKeyGuard({ keys: [''], disabled: false }), /API_KEYS/);
  });

  it('lets everything through when auth is disabled', async () => {
    const { server, base } = await serve(apiKeyGuard({ keys: [], disabled: true }));
    try {
      assert.equal((await fetch(`${base}/metrics`)).status, 200);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('parses API_KEYS as a comma list without blanks', () => {
    assert.deepEqual(parseApiKeys(' a, b ,,c '), ['a', 'b', 'c']);
    assert.deepEqual(parseApiKeys(undefined), []);
  });
});
