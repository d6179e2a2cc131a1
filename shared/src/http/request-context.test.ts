import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import express from 'express';
import { pino } from 'pino';
import { errorHandler } from './errors.js';
import { requestContext } from './request-context.js';
import { AppError } from '../errors.js';

/** A pino logger that keeps its JSON lines for the assertions. */
function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: pino({ level: 'debug' }, stream) };
}

describe('http > request context', () => {
  it('tags responses and log lines with the caller id, or a fresh one, and logs errors under it', async () => {
    const { lines, logger } = capturingLogger();
    const app = express();
    app.use(requestContext(logger));
    app.get('/ok', (_req, res) => void res.json({ ok: true }));
    app.get('/bad', () => {
      throw new AppError('NOPE', 'not this', { status: 400 });
    });
    app.use(errorHandler(logger));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    try {
      const given = await fetch(`${base}/bad`, { headers: { 'x-request-id': 'abc-123' } });
      assert.equal(given.headers.get('x-request-id'), 'abc-123');
      const fresh = await fetch(`${base}/ok`, { headers: { 'x-request-id': 'has spaces' } });
      const freshId = fresh.headers.get('x-request-id') ?? '';
      assert.match(freshId, /^[0-9a-f-]{36}$/, 'an unusable caller id is replaced');
    } finally {
      server.close();
    }

    const bad = lines.filter((line) => line.requestId === 'abc-123');
    assert.deepEqual(
      bad.map((line) => line.msg),
      ['request error', 'request refused'],
    );
    assert.equal(bad[1].status, 400);
    assert.ok(lines.some((line) => line.msg === 'request served' && line.status === 200));
  });
});
