import express, { type Express, type Request, type RequestHandler } from 'express';
import { z } from 'zod';
import type { Pool } from '@cml-rec/shared/db/pool';
import { AppError } from '@cml-rec/shared/errors';
import { apiKeyGuard } from '@cml-rec/shared/http/auth';
import { bodyLimitGuard, jsonBody } from '@cml-rec/shared/http/body';
import { requestContext } from '@cml-rec/shared/http/request-context';
import { errorHandler, unknownRoute, wrongMethod } from '@cml-rec/shared/http/errors';
import type { Logger } from '@cml-rec/shared/logging/logger';
import type { RecommenderConfig } from '../config.js';
import type { ItemCatalog, ItemFilters } from '../item-catalog.js';
import type { RecommenderMetrics } from '../metrics.js';
import type { ServingState } from '../model/model-holder.js';
import {
  embedItem,
  recommendForSession,
  recommendForUser,
  similarItems,
  type RecommendContext,
} from '../recommend.js';
import type { ImpressionSink } from '../rollouts/impressions.js';
import {
  getRollout,
  parseRolloutId,
  rolloutReport,
  rolloutRequestSchema,
  startRollout,
  stopRollout,
} from '../rollouts/rollout-store.js';
import type { SeenItemsSource } from '../seen-items.js';
import { openApiDocument } from './openapi.js';
import {
  idSchema,
  parseBody,
  parseBodyK,
  parseFallback,
  parseFlag,
  parseId,
  parseK,
  parseTokens,
  tokenListSchema,
} from './validation.js';

export interface AppDependencies {
  config: RecommenderConfig;
  /** The models to serve (a `ModelHolder` in the service). */
  models: { readonly serving: ServingState; refresh(): Promise<void> };
  seen: SeenItemsSource;
  catalog: ItemCatalog;
  impressions: ImpressionSink;
  metrics: RecommenderMetrics;
  /** For rollouts and reports. */
  pool: Pool;
  logger: Logger;
}

/** The recommender's HTTP API; every error is a JSON body with a stable code. */
export function createApp(dependencies: AppDependencies): Express {
  const { config, models, metrics, pool, logger } = dependencies;
  const app = express();
  app.disable('x-powered-by');
  // Responses are per-user and never revalidated: hashing each body for an ETag is wasted work.
  app.set('etag', false);
  app.set('query parser', 'simple');
  app.use(requestContext(logger.child({ component: 'http' })));
  app.use(bodyLimitGuard(config.bodyLimit));

  const context = (): RecommendContext => ({
    serving: models.serving,
    seen: dependencies.seen,
    catalog: dependencies.catalog,
    impressions: dependencies.impressions,
    metrics,
  });

  app.use(requestTimer(metrics));
  app.use(apiKeyGuard({ keys: config.apiKeys, disabled: config.authDisabled }));
  // Only the routes that take a body parse one: on every GET the parser was one more layer of
  // per-request work and garbage for nothing.
  const json = jsonBody(config.bodyLimit);

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/readyz', (_req, res) => {
    const { active, rollout } = models.serving;
    if (!active) {
      res
        .status(503)
        .json({ error: { code: 'NOT_READY', message: 'no model version loaded yet' } });
      return;
    }
    res.json({
      status: 'ready',
      modelVersion: active.versionId,
      rollout: rollout
        ? {
            id: rollout.id,
            variants: rollout.variants.map((v) => ({
              name: v.name,
              modelVersion: v.model.versionId,
            })),
          }
        : null,
    });
  });

  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  const document = openApiDocument(config);
  app.get('/openapi.json', (_req, res) => {
    res.json(document);
  });

  app.get('/v1/users/:userId/recommendations', async (req, res) => {
    // Read once: express parses the query string again on every read of `req.query`.
    const query = req.query;
    const list = await recommendForUser(context(), {
      userId: parseId(req.params.userId, 'userId'),
      k: parseK(query.k, config.maxK),
      excludeSeen: parseFlag(query.excludeSeen, 'excludeSeen', true),
      filters: parseFilters(query),
      fallback: parseFallback(query.fallback),
    });
    res.json({ userId: req.params.userId, ...list });
  });

  app.get('/v1/items/:itemId/similar', (req, res) => {
    const query = req.query;
    res.json(
      similarItems(context(), {
        itemId: parseId(req.params.itemId, 'itemId'),
        k: parseK(query.k, config.maxK),
        filters: parseFilters(query),
      }),
    );
  });

  const sessionSchema = z.strictObject({
    items: z.array(idSchema).min(1).max(config.maxSessionItems),
    k: z.unknown().optional(),
    sessionId: idSchema.optional(),
    genres: tokenListSchema.optional(),
    tags: tokenListSchema.optional(),
  });
  app.post('/v1/sessions/recommendations', json, (req, res) => {
    const body = parseBody(sessionSchema, req.body);
    res.json(
      recommendForSession(context(), {
        items: body.items,
        k: parseBodyK(body.k, config.maxK),
        sessionId: body.sessionId,
        filters: { genres: body.genres ?? [], tags: body.tags ?? [] },
      }),
    );
  });

  const embedSchema = z.strictObject({
    features: z.strictObject({
      genres: tokenListSchema.optional(),
      tags: tokenListSchema.optional(),
      tokens: tokenListSchema.optional(),
    }),
    k: z.unknown().optional(),
  });
  app.post('/v1/items/embed', json, async (req, res) => {
    const body = parseBody(embedSchema, req.body);
    const k = body.k === undefined ? undefined : parseBodyK(body.k, config.maxK);
    res.json(await embedItem(context(), { features: body.features, k }));
  });

  app.put('/v1/rollouts/:rolloutId', json, async (req, res) => {
    const id = parseRolloutId(req.params.rolloutId);
    const rollout = await startRollout(pool, id, parseBody(rolloutRequestSchema, req.body));
    // This replica applies it now; the others hear ROLLOUT_CHANNEL (or poll).
    void models.refresh().catch((error) => logger.warn({ err: error }, 'refresh failed'));
    res.json(rollout);
  });

  app.get('/v1/rollouts/:rolloutId', async (req, res) => {
    const id = parseRolloutId(req.params.rolloutId);
    const rollout = await getRollout(pool, id);
    if (!rollout) {
      throw new AppError('ROLLOUT_NOT_FOUND', `rollout ${JSON.stringify(id)} does not exist`, {
        status: 404,
      });
    }
    res.json(rollout);
  });

  app.post('/v1/rollouts/:rolloutId/stop', async (req, res) => {
    const rollout = await stopRollout(pool, parseRolloutId(req.params.rolloutId));
    void models.refresh().catch((error) => logger.warn({ err: error }, 'refresh failed'));
    res.json(rollout);
  });

  app.get('/v1/rollouts/:rolloutId/report', async (req, res) => {
    res.json(await rolloutReport(pool, parseRolloutId(req.params.rolloutId)));
  });

  app.use(wrongMethod(app));
  app.use(unknownRoute);
  app.use(errorHandler(logger));
  return app;
}

function parseFilters(query: Request['query']): ItemFilters {
  return { genres: parseTokens(query.genre, 'genre'), tags: parseTokens(query.tag, 'tag') };
}

/** Observes every response's latency under its route template (not the raw path). */
function requestTimer(metrics: RecommenderMetrics): RequestHandler {
  return (req, res, next) => {
    const started = performance.now();
    res.once('finish', () => {
      const route = req.route?.path;
      metrics.requestSeconds.observe(
        {
          method: req.method,
          route: typeof route === 'string' ? route : 'unmatched',
          status: String(res.statusCode),
        },
        (performance.now() - started) / 1000,
      );
    });
    next();
  };
}
