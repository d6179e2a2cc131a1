import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { closeServer, listen } from './server.js';

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

  it('closes within the drain deadline while a client holds a half-sent request', async () => {
    const slow = await listen(express(), 0, '127.0.0.1');
    slow.headersTimeout = 60_000;
    const { port } = slow.address() as { port: number };
    const socket = net.connect(port, '127.0.0.1');
    const socketClosed = new Promise((resolve) => socket.once('close', resolve));
    socket.on('error', () => undefined);
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write('GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Half: ');
    // Let the server read the partial head, so the connection counts as active, not idle.
    await new Promise((resolve) => setTimeout(resolve, 100));

    const started = performance.now();
    const closing = closeServer(slow, 300);
    const outcome = await Promise.race([
      closing.then(() => 'closed'),
      new Promise((resolve) => setTimeout(() => resolve('still open after 5 s'), 5000).unref()),
    ]);
    const elapsed = performance.now() - started;
    assert.equal(outcome, 'closed');
    assert.ok(elapsed >= 250 && elapsed < 2000, `closed after ${Math.round(elapsed)} ms`);
    await socketClosed;
    socket.destroy();
  });

  it('refuses a port that is already taken', async () => {
    const address = server.address() as { port: number };
    await assert.rejects(listen(express(), address.port, '127.0.0.1'), { code: 'EADDRINUSE' });
  });
});
