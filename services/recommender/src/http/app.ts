import express, { type Express } from 'express';
import { AppError } from '@cml-rec/shared/errors';
import { errorHandler, unknownRoute } from '@cml-rec/shared/http/errors';
import type { Logger } from '@cml-rec/shared/logging/logger';
import type { RecommenderConfig } from '../config.js';
import type { ModelHolder } from '../model/model-holder.js';
import { recommendForUser } from '../recommend.js';
import type { SeenItems } from '../seen-items.js';
import { parseFlag, parseId, parseK } from './validation.js';

export interface AppDependencies {
  config: RecommenderConfig;
  models: ModelHolder;
  seen: SeenItems;
  logger: Logger;
}

/** The recommender's HTTP API; every error is a JSON body with a stable code. */
export function createApp({ config, models, seen, logger }: AppDependencies): Express {
  const app = express();
  app.disable('x-powered-by');

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/readyz', (_req, res) => {
    const model = models.current;
    if (!model) {
      res
        .status(503)
        .json({ error: { code: 'NOT_READY', message: 'no model version loaded yet' } });
      return;
    }
    res.json({ status: 'ready', modelVersion: model.versionId });
  });

  app.get('/v1/users/:userId/recommendations', async (req, res) => {
    const userId = parseId(req.params.userId, 'userId');
    const k = parseK(req.query.k, config.maxK);
    const excludeSeen = parseFlag(req.query.excludeSeen, 'excludeSeen', true);
    const model = requireModel(models);
    const list = await recommendForUser(model, seen, userId, k, excludeSeen);
    res.json({ ...list, k });
  });

  app.use(unknownRoute);
  app.use(errorHandler(logger));
  return app;
}

function requireModel(models: ModelHolder) {
  const model = models.current;
  if (!model) {
    throw new AppError('NOT_READY', 'no model version is loaded yet; retry shortly', {
      status: 503,
      retriable: true,
    });
  }
  return model;
}
