import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { listen } from './server.js';

describe('recommender > http > server', () => {
  const app = express();
  let server: http.Server;
  let baseUrl: string;
  /** Whether each request and response already had the app's prototypes when it arrived. */
  const arrivals: { request: boolean; response: boolean }[] = [];

  before(async () => {
    app.get('/echo', (req, res) => {
      res.json({ path: req.path, sameApp: req.app === app, query: req.query });
    });
    server = await listen(app, 0, '127.0.0.1');
    // The server's own listeners run before express sees the request.
    server.prependListener('request', (req, res) => {
      arrivals.push({
        request: Object.getPrototypeOf(req) === app.request,
        response: Object.getPrototypeOf(res) === app.response,
      });
    });
    const address = server.address() as { port: number };
    baseUrl = `http://127.0.0.1:${address.port}`;
  });
  after(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('creates requests and responses with the app prototypes, so express re-parents nothing', async () => {
    const response = await fetch(`${baseUrl}/echo?k=3`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { path: '/echo', sameApp: true, query: { k: '3' } });
    assert.deepEqual(arrivals, [{ request: true, response: true }]);
  });

  it('keeps the node request and response types under the express methods', async () => {
    let seen: { request: boolean; response: boolean } | undefined;
    app.get('/types', (req, res) => {
      seen = {
        request: req instanceof http.IncomingMessage,
        response: res instanceof http.ServerResponse,
      };
      res.status(204).end();
    });
    assert.equal((await fetch(`${baseUrl}/types`)).status, 204);
    assert.deepEqual(seen, { request: true, response: true });
  });

  it('refuses a port that is already taken', async () => {
    const address = server.address() as { port: number };
    await assert.rejects(listen(express(), address.port, '127.0.0.1'), { code: 'EADDRINUSE' });
  });
});
