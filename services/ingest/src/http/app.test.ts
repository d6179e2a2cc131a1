import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '@cml-rec/shared/logging/logger';
import { Kafka, Partitioners, type Admin, type Producer } from 'kafkajs';
import { createMetrics } from '../metrics.js';
import { createTopics, type Topics } from '../testing/fixture.js';
import { ApiKey, startMockKafka, type MockKafka } from '../testing/mockKafka.js';
import { createIngestApp } from './app.js';

const KEY = 'test-key-0123456789';

describe('ingest > http', () => {
  let mock: MockKafka;
  let producer: Producer;
  let admin: Admin;
  let topics: Topics;
  let server: Server;
  let base: string;
  let ready = true;

  before(async () => {
    mock = await startMockKafka();
    topics = await createTopics(mock, 'http');
    // Few retries, so that a refused produce surfaces within the test's time.
    const kafka = new Kafka({
      clientId: 'http-test',
      brokers: mock.brokers,
      logCreator: () => () => undefined,
      retry: { initialRetryTime: 50, retries: 2 },
    });
    producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    admin = kafka.admin();
    await Promise.all([producer.connect(), admin.connect()]);

    const app = createIngestApp({
      producer,
      interactionsTopic: topics.interactions,
      metrics: createMetrics({ defaultMetrics: false }),
      logger: silentLogger,
      apiKeys: ['other-key', KEY],
      authDisabled: false,
      maxEvents: 100,
      bodyLimit: 16 * 1024,
      maxFutureSkewMs: 60_000,
      readiness: [{ name: 'consumer', check: () => ready }],
    });
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise((resolve) => server.close(resolve));
    await Promise.all([producer.disconnect(), admin.disconnect()]);
    await mock.stop();
  });

  const event = (n: number) => ({
    version: 1,
    eventId: `http-${n}`,
    userId: `u${n % 7}`,
    itemId: `i${n}`,
    eventType: 'click',
    timestamp: new Date(Date.UTC(2026, 0, 1) + n).toISOString(),
  });
  const post = (body: unknown, key: string | null = KEY) =>
    fetch(`${base}/v1/events`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(key === null ? {} : { authorization: `Bearer ${key}` }),
      },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const topicSize = async () =>
    (await admin.fetchTopicOffsets(topics.interactions)).reduce(
      (sum, partition) => sum + Number(partition.high),
      0,
    );

  it('answers the health probes without a key', async () => {
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    ready = false;
    const notReady = await fetch(`${base}/readyz`);
    assert.equal(notReady.status, 503);
    assert.deepEqual(await notReady.json(), { status: 'not ready', checks: { consumer: false } });
    ready = true;
    assert.equal((await fetch(`${base}/readyz`)).status, 200);
  });

  it('requires a configured bearer key on the API and on /metrics', async () => {
    assert.equal((await post({ events: [event(1)] }, null)).status, 401);
    const wrong = await post({ events: [event(1)] }, 'test-key-0123456788');
    assert.equal(wrong.status, 401);
    assert.equal(
      ((await wrong.json()) as { error: { code: string } }).error.code,
      'UNAUTHENTICATED',
    );
    assert.equal((await fetch(`${base}/metrics`)).status, 401);
    const metrics = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${KEY}` } });
    assert.equal(metrics.status, 200);
    assert.match(await metrics.text(), /ingest_http_events_total/);
  });

  it('answers 405 naming the allowed method for a known path, 404 for an unknown one', async () => {
    const headers = { authorization: `Bearer ${KEY}` };
    const wrongMethod = await fetch(`${base}/v1/events`, { headers });
    assert.equal(wrongMethod.status, 405);
    assert.equal(wrongMethod.headers.get('allow'), 'OPTIONS, POST');
    assert.equal(
      ((await wrongMethod.json()) as { error: { code: string } }).error.code,
      'METHOD_NOT_ALLOWED',
    );
    assert.equal((await fetch(`${base}/v1/nothing`, { headers })).status, 404);
    const options = await fetch(`${base}/v1/events`, { method: 'OPTIONS', headers });
    assert.equal(options.status, 204);
    assert.equal(options.headers.get('allow'), 'OPTIONS, POST');
  });

  it('produces a valid batch and acknowledges it after the broker did', async () => {
    const before = await topicSize();
    const response = await post({ events: [1, 2, 3, 4, 5].map(event) });
    assert.equal(response.status, 202);
    assert.deepEqual(await response.json(), { accepted: 5 });
    assert.equal(await topicSize(), before + 5);
  });

  it('refuses the whole batch and names each invalid event and its reason', async () => {
    const before = await topicSize();
    const response = await post({
      events: [event(1), { ...event(2), eventType: 'teleport' }, { ...event(3), weight: 'x' }],
    });
    assert.equal(response.status, 400);
    const body = (await response.json()) as {
      error: { code: string; details: { invalid: { index: number; reason: string }[] } };
    };
    assert.equal(body.error.code, 'INVALID_EVENTS');
    assert.deepEqual(
      body.error.details.invalid.map(({ index, reason }) => ({ index, reason })),
      [
        { index: 1, reason: 'unknown_event_type' },
        { index: 2, reason: 'invalid_field' },
      ],
    );
    assert.equal(await topicSize(), before);
  });

  it('rejects malformed, empty, oversized and too-long bodies', async () => {
    assert.equal((await post('{"events": [')).status, 400);
    assert.equal((await post({ events: [] })).status, 400);
    assert.equal((await post({ nothing: true })).status, 400);
    const tooMany = await post({ events: Array.from({ length: 101 }, (_, n) => event(n)) });
    assert.equal(tooMany.status, 400);
    const huge = await post({ events: [event(1)], padding: 'x'.repeat(20_000) });
    assert.equal(huge.status, 413);
  });

  it('answers 503 when the broker refuses the write', async () => {
    // INVALID_RECORD (87) is not retriable: the producer fails at once.
    await mock.failRequests(ApiKey.Produce, 3, 87);
    const response = await post({ events: [event(9)] });
    await mock.clearRequestErrors(ApiKey.Produce);
    assert.equal(response.status, 503);
    assert.equal(
      ((await response.json()) as { error: { code: string } }).error.code,
      'KAFKA_UNAVAILABLE',
    );
  });

  it('retries a transient broker error and still acknowledges', async () => {
    const before = await topicSize();
    // NOT_LEADER_OR_FOLLOWER (6) is retriable: the producer refreshes metadata and resends.
    await mock.failRequests(ApiKey.Produce, 1, 6);
    const response = await post({ events: [event(10), event(11)] });
    assert.equal(response.status, 202);
    assert.equal(await topicSize(), before + 2);
  });
});
