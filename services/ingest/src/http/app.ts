import { apiKeyGuard } from '@cml-rec/shared/http/auth';
import { bodyLimitGuard, jsonBody } from '@cml-rec/shared/http/body';
import { errorHandler, unknownRoute, wrongMethod } from '@cml-rec/shared/http/errors';
import { requestContext } from '@cml-rec/shared/http/request-context';
import type { Logger } from '@cml-rec/shared/logging/logger';
import express, { type Express } from 'express';
import type { Producer } from 'kafkajs';
import type { IngestMetrics } from '../metrics.js';
import { publishEvents } from './events.js';

export interface ReadinessCheck {
  name: string;
  check: () => Promise<boolean> | boolean;
}

export interface IngestAppOptions {
  producer: Producer;
  interactionsTopic: string;
  metrics: IngestMetrics;
  logger: Logger;
  apiKeys: string[];
  authDisabled: boolean;
  maxEvents: number;
  bodyLimit: number;
  maxFutureSkewMs: number;
  /** All must pass for /readyz to answer 200. */
  readiness: ReadinessCheck[];
}

/** The ingest HTTP API: POST /v1/events, the health probes and /metrics. */
export function createIngestApp(options: IngestAppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(requestContext(options.logger.child({ component: 'http' })));
  app.use(bodyLimitGuard(options.bodyLimit));

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/readyz', async (_req, res) => {
    const checks: Record<string, boolean> = {};
    for (const readiness of options.readiness) {
      checks[readiness.name] = await Promise.resolve()
        .then(readiness.check)
        .catch(() => false);
    }
    const ready = Object.values(checks).every(Boolean);
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready', checks });
  });

  // Everything below needs an API key; the guard runs before the body is parsed, so an
  // unauthenticated client cannot make the server read a large body.
  app.use(apiKeyGuard({ keys: options.apiKeys, disabled: options.authDisabled }));

  app.get('/metrics', async (_req, res) => {
    res.type(options.metrics.registry.contentType).send(await options.metrics.registry.metrics());
  });

  app.post('/v1/events', jsonBody(options.bodyLimit), async (req, res) => {
    const result = await publishEvents(req.body, {
      producer: options.producer,
      topic: options.interactionsTopic,
      metrics: options.metrics,
      maxEvents: options.maxEvents,
      maxFutureSkewMs: options.maxFutureSkewMs,
    });
    res.status(202).json(result);
  });

  app.use(wrongMethod(app));
  app.use(unknownRoute);
  app.use(errorHandler(options.logger.child({ component: 'http' })));
  return app;
}
