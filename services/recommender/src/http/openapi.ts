/**
 * The OpenAPI 3.1 description of the recommender API, served at /openapi.json. A test walks
 * the express router and fails when a route is missing here, so this stays complete.
 */
export function openApiDocument(options: { maxK: number; maxSessionItems: number }) {
  const { maxK } = options;
  const error = (description: string) => ({
    description,
    content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
  });
  const json = (schema: object, description = 'OK') => ({
    description,
    content: { 'application/json': { schema } },
  });
  const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
  const kParameter = {
    name: 'k',
    in: 'query',
    description: `Number of items, an integer from 1 to ${maxK} (default 10).`,
    schema: { type: 'integer', minimum: 1, maximum: maxK, default: 10 },
  };
  const filterParameters = [
    {
      name: 'genre',
      in: 'query',
      description:
        'Keep items with any of these genres (repeat or comma-separate; case-insensitive).',
      schema: { type: 'array', items: { type: 'string' } },
      style: 'form',
      explode: true,
    },
    {
      name: 'tag',
      in: 'query',
      description: 'Keep items with any of these tags (and any given genre).',
      schema: { type: 'array', items: { type: 'string' } },
      style: 'form',
      explode: true,
    },
  ];
  const common = {
    '400': error('Invalid input (code INVALID_K, INVALID_ID, INVALID_BODY, ...).'),
    '401': error('Missing or invalid API key (UNAUTHENTICATED).'),
    '503': error('No model version loaded yet (NOT_READY).'),
  };
  const bodyErrors = {
    '411': error('Chunked body: send it with a Content-Length (LENGTH_REQUIRED).'),
    '413': error('Body over BODY_LIMIT (BODY_TOO_LARGE).'),
    '415': error('Charset other than UTF-8 or unknown Content-Encoding (UNSUPPORTED_*).'),
  };
  const secured = { security: [{ apiKey: [] }] };
  const rolloutIdParameter = {
    name: 'rolloutId',
    in: 'path',
    required: true,
    schema: { type: 'string' },
  };

  return {
    openapi: '3.1.0',
    info: {
      title: 'cml-rec recommender',
      version: '1',
      description:
        'Collaborative Metric Learning recommendations: Euclidean k-NN over HNSW, hot-reloaded ' +
        'model versions and A/B rollouts. Every error body is {error: {code, message, details?}}.',
    },
    components: {
      securitySchemes: { apiKey: { type: 'http', scheme: 'bearer' } },
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message'],
              properties: {
                code: { type: 'string' },
                message: { type: 'string' },
                details: { type: 'object' },
              },
            },
          },
        },
        Recommendation: {
          type: 'object',
          properties: {
            itemId: { type: 'string' },
            distance: {
              type: ['number', 'null'],
              description: 'Euclidean distance; null for popular items.',
            },
          },
        },
        RecommendationList: {
          type: 'object',
          properties: {
            modelVersion: { type: 'string' },
            rollout: { type: ['string', 'null'] },
            variant: { type: ['string', 'null'] },
            k: { type: 'integer' },
            source: { enum: ['model', 'popular'] },
            items: { type: 'array', items: ref('Recommendation') },
          },
        },
        Variant: {
          type: 'object',
          required: ['name', 'modelVersion', 'weight'],
          properties: {
            name: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,64}$' },
            modelVersion: { type: 'string' },
            weight: { type: 'number', exclusiveMinimum: 0 },
          },
        },
        Rollout: {
          type: 'object',
          properties: {
            id: { type: 'string' },
            salt: { type: 'string' },
            status: { enum: ['running', 'stopped'] },
            variants: { type: 'array', items: ref('Variant') },
          },
        },
      },
    },
    paths: {
      '/healthz': { get: { summary: 'Liveness', responses: { '200': json({ type: 'object' }) } } },
      '/readyz': {
        get: {
          summary: 'Readiness: 200 once a model version is loaded',
          responses: { '200': json({ type: 'object' }), '503': error('No model loaded yet.') },
        },
      },
      '/metrics': {
        get: {
          ...secured,
          summary: 'Prometheus metrics (text exposition format)',
          responses: {
            '200': { description: 'OK', content: { 'text/plain': {} } },
            '401': common['401'],
          },
        },
      },
      '/openapi.json': {
        get: {
          ...secured,
          summary: 'This document',
          responses: { '200': json({ type: 'object' }), '401': common['401'] },
        },
      },
      '/v1/users/{userId}/recommendations': {
        get: {
          ...secured,
          summary: 'The k nearest unseen items to a user (by rollout variant when one runs)',
          parameters: [
            {
              name: 'userId',
              in: 'path',
              required: true,
              schema: { type: 'string', maxLength: 256 },
            },
            kParameter,
            {
              name: 'excludeSeen',
              in: 'query',
              description: 'Leave out items the user interacted with (default true).',
              schema: { type: 'boolean', default: true },
            },
            ...filterParameters,
            {
              name: 'fallback',
              in: 'query',
              description: 'popular: answer an unknown user with popular items instead of 404.',
              schema: { enum: ['popular'] },
            },
          ],
          responses: {
            '200': json(ref('RecommendationList')),
            ...common,
            '404': error('Unknown user without fallback (USER_NOT_FOUND).'),
          },
        },
      },
      '/v1/items/{itemId}/similar': {
        get: {
          ...secured,
          summary: 'The k nearest items to an item (itself excluded)',
          parameters: [
            {
              name: 'itemId',
              in: 'path',
              required: true,
              schema: { type: 'string', maxLength: 256 },
            },
            kParameter,
            ...filterParameters,
          ],
          responses: {
            '200': json(ref('RecommendationList')),
            ...common,
            '404': error('Unknown item (ITEM_NOT_FOUND).'),
          },
        },
      },
      '/v1/sessions/recommendations': {
        post: {
          ...secured,
          summary: 'Recommendations for an anonymous session from its recent items (fold-in)',
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['items'],
                  properties: {
                    items: {
                      type: 'array',
                      minItems: 1,
                      maxItems: options.maxSessionItems,
                      items: { type: 'string' },
                    },
                    k: { type: 'integer', minimum: 1, maximum: maxK },
                    sessionId: { type: 'string', description: 'Assigns the rollout variant.' },
                    genres: { type: 'array', items: { type: 'string' } },
                    tags: { type: 'array', items: { type: 'string' } },
                  },
                },
              },
            },
          },
          responses: {
            '200': json(ref('RecommendationList')),
            ...common,
            '404': error('No session item is known to the model (NO_KNOWN_ITEMS).'),
            ...bodyErrors,
          },
        },
      },
      '/v1/items/embed': {
        post: {
          ...secured,
          summary:
            "A new item's vector from its features (ONNX encoder), and its neighbours if k is given",
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['features'],
                  properties: {
                    features: {
                      type: 'object',
                      properties: {
                        genres: { type: 'array', items: { type: 'string' } },
                        tags: { type: 'array', items: { type: 'string' } },
                        tokens: {
                          type: 'array',
                          items: { type: 'string' },
                          description: 'Raw feature-vocabulary tokens.',
                        },
                      },
                    },
                    k: { type: 'integer', minimum: 1, maximum: maxK },
                  },
                },
              },
            },
          },
          responses: {
            '200': json({
              type: 'object',
              properties: {
                modelVersion: { type: 'string' },
                dim: { type: 'integer' },
                vector: { type: 'array', items: { type: 'number' } },
                knownFeatures: { type: 'array', items: { type: 'string' } },
                unknownFeatures: { type: 'array', items: { type: 'string' } },
                neighbours: { type: 'array', items: ref('Recommendation') },
              },
            }),
            ...common,
            ...bodyErrors,
            '409': error('The serving version has no encoder (ENCODER_UNAVAILABLE).'),
          },
        },
      },
      '/v1/rollouts/{rolloutId}': {
        put: {
          ...secured,
          summary: 'Start (or update) a rollout; any other running rollout stops',
          parameters: [rolloutIdParameter],
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['variants'],
                  properties: {
                    salt: {
                      type: 'string',
                      description: 'Default: kept, or random for a new rollout.',
                    },
                    variants: { type: 'array', items: ref('Variant'), minItems: 1, maxItems: 16 },
                  },
                },
              },
            },
          },
          responses: {
            '200': json(ref('Rollout')),
            ...common,
            ...bodyErrors,
            '404': error('A variant names an unregistered version (VERSION_NOT_FOUND).'),
            '409': error(
              'Another rollout started concurrently outside this service (ROLLOUT_CONFLICT): ' +
                'stop the running rollout or retry.',
            ),
          },
        },
        get: {
          ...secured,
          summary: 'A rollout',
          parameters: [rolloutIdParameter],
          responses: { '200': json(ref('Rollout')), ...common, '404': error('ROLLOUT_NOT_FOUND') },
        },
      },
      '/v1/rollouts/{rolloutId}/stop': {
        post: {
          ...secured,
          summary: 'Stop a rollout; everyone gets the active version again',
          parameters: [rolloutIdParameter],
          responses: { '200': json(ref('Rollout')), ...common, '404': error('ROLLOUT_NOT_FOUND') },
        },
      },
      '/v1/rollouts/{rolloutId}/report': {
        get: {
          ...secured,
          summary:
            'Per variant: impressions, impressions followed by an interaction with a listed item, and that rate with a 95% Wilson interval',
          parameters: [rolloutIdParameter],
          responses: {
            '200': json({
              type: 'object',
              properties: {
                rollout: ref('Rollout'),
                variants: {
                  type: 'array',
                  items: {
                    type: 'object',
                    properties: {
                      variant: { type: 'string' },
                      modelVersion: { type: 'string' },
                      impressions: { type: 'integer' },
                      users: { type: 'integer' },
                      converted: { type: 'integer' },
                      conversion: {
                        type: 'object',
                        properties: {
                          rate: { type: 'number' },
                          low: { type: 'number' },
                          high: { type: 'number' },
                        },
                      },
                    },
                  },
                },
              },
            }),
            ...common,
            '404': error('ROLLOUT_NOT_FOUND'),
          },
        },
      },
    },
  };
}
