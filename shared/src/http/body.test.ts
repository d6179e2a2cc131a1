import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { silentLogger } from '../logging/logger.js';
import { bodyLimitGuard, jsonBody, parseByteSize } from './body.js';
import { answerClientErrors, errorHandler } from './errors.js';

const LIMIT = 1024;

/** Sends raw request bytes and collects what the server sends until it closes or `waitMs`. */
function exchange(
  port: number,
  request: string,
  waitMs = 1000,
): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ text, closed: false });
    }, waitMs);
    socket.on('data', (chunk) => (text += chunk.toString('latin1')));
    socket.on('end', () => {
      clearTimeout(timer);
      resolve({ text, closed: true });
    });
    socket.on('error', reject);
    socket.write(request);
  });
}

describe('http > body', () => {
  let server: Server;
  let port: number;
  before(async () => {
    const app = express();
    app.use(bodyLimitGuard(LIMIT));
    app.get('/ping', (_req, res) => void res.json({ ok: true }));
    app.post('/echo', jsonBody(LIMIT), (req, res) => void res.json(req.body));
    app.use(errorHandler(silentLogger));
    server = app.listen(0, '127.0.0.1');
    answerClientErrors(server);
    await new Promise((resolve) => server.once('listening', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => new Promise((resolve) => server.close(resolve)));

  it('reads sizes with and without units and refuses anything else', () => {
    assert.equal(parseByteSize('65536'), 65536);
    assert.equal(parseByteSize('64kb'), 65536);
    assert.equal(parseByteSize('1MB'), 1024 ** 2);
    assert.equal(parseByteSize('1.5kb'), 1536);
    assert.equal(parseByteSize(2048), 2048);
    for (const bad of ['', 'abc', '64 kilobytes', '-1', '1e3', '64kbb']) {
      assert.equal(parseByteSize(bad), undefined, bad);
    }
    assert.throws(() => bodyLimitGuard('lots'), /"lots" is not a size such as 65536, 64kb/);
  });

  it('refuses a declared body over the limit at once, without reading it', async () => {
    // Only the first byte of a 100 MB body is sent: the answer must not wait for the rest.
    const { text, closed } = await exchange(
      port,
      'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
        'Content-Length: 100000000\r\n\r\n{',
    );
    assert.match(text, /^HTTP\/1\.1 413 /);
    assert.match(text, /"code":"BODY_TOO_LARGE"/);
    assert.match(text, /exceeds the limit of 1024 bytes/);
    assert.ok(closed, 'the server closes the connection instead of reading 100 MB');
  });

  it('refuses a chunked body on a route that takes one, without reading it', async () => {
    // One 1 MB chunk announced, 3 bytes of it sent: the answer must not wait for the rest.
    const { text, closed } = await exchange(
      port,
      'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
        'Transfer-Encoding: chunked\r\n\r\n100000\r\n{"a',
    );
    assert.match(text, /^HTTP\/1\.1 411 /);
    assert.match(text, /"code":"LENGTH_REQUIRED"/);
    assert.ok(closed);
  });

  it('answers a GET that carries a body, then closes instead of reading the body', async () => {
    const { text, closed } = await exchange(
      port,
      'GET /ping HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n',
    );
    assert.match(text, /^HTTP\/1\.1 200 /);
    assert.match(text, /connection: close/i);
    assert.ok(closed);
  });

  it('keeps connections alive for requests without a body or within the limit', async () => {
    const get = await exchange(port, 'GET /ping HTTP/1.1\r\nHost: x\r\n\r\n', 300);
    assert.match(get.text, /^HTTP\/1\.1 200 /);
    assert.ok(!get.closed);
    const body = '{"a":1}';
    const post = await exchange(
      port,
      'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
        `Content-Length: ${body.length}\r\n\r\n${body}`,
      300,
    );
    assert.match(post.text, /^HTTP\/1\.1 200 [^]*\{"a":1\}$/);
    assert.ok(!post.closed);
  });

  it('gives each kind of unreadable body its own code', async () => {
    const post = (body: string, headers: Record<string, string> = {}) =>
      fetch(`http://127.0.0.1:${port}/echo`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
      }).then(async (response) => ({
        status: response.status,
        code: ((await response.json()) as { error: { code: string } }).error.code,
      }));
    assert.deepEqual(await post('{"a":'), { status: 400, code: 'MALFORMED_JSON' });
    assert.deepEqual(await post('null'), { status: 400, code: 'MALFORMED_JSON' });
    assert.deepEqual(await post('{}', { 'content-type': 'application/json; charset=latin1' }), {
      status: 415,
      code: 'UNSUPPORTED_CHARSET',
    });
    assert.deepEqual(await post('{}', { 'content-encoding': 'compress' }), {
      status: 415,
      code: 'UNSUPPORTED_ENCODING',
    });
    assert.deepEqual(await post('not gzip at all', { 'content-encoding': 'gzip' }), {
      status: 400,
      code: 'MALFORMED_BODY_ENCODING',
    });
  });

  it('answers what the HTTP parser refuses with a JSON error too', async () => {
    for (const request of [
      'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n',
      'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n',
      'GARBAGE\r\n\r\n',
    ]) {
      const { text, closed } = await exchange(port, request);
      assert.match(text, /^HTTP\/1\.1 400 Bad Request\r\n/, request);
      assert.match(text, /\{"error":\{"code":"MALFORMED_REQUEST","message":"[^"]+"\}\}$/, request);
      assert.ok(closed);
    }
  });
});
