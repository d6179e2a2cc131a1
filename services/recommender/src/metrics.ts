import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The recommender's Prometheus metrics, on a registry of its own (one per app instance). */
export interface RecommenderMetrics {
  registry: Registry;
  requestSeconds: Histogram<'method' | 'route' | 'status'>;
  searchSeconds: Histogram<'method'>;
  modelLoadSeconds: Histogram;
  modelLoadFailures: Counter;
  modelsServing: Gauge<'version' | 'role'>;
  impressionsWritten: Counter;
  impressionsDropped: Counter;
  seenLookups: Counter<'result'>;
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): RecommenderMetrics {
  const registry = new Registry();
  // Default metrics include nodejs_eventloop_lag_seconds and the GC and heap gauges.
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const registers = [registry];

  return {
    registry,
    requestSeconds: new Histogram({
      name: 'recommender_http_request_duration_seconds',
      help: 'HTTP request latency by method, route template and status.',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    searchSeconds: new Histogram({
      name: 'recommender_search_duration_seconds',
      help: 'k-NN search time by how it was answered (hnsw, hnsw-filtered, exact, exact-fallback).',
      labelNames: ['method'],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1],
      registers,
    }),
    modelLoadSeconds: new Histogram({
      name: 'recommender_model_load_duration_seconds',
      help: 'Time to read, embed and index a model version (off the request path).',
      buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
      registers,
    }),
    modelLoadFailures: new Counter({
      name: 'recommender_model_load_failures_total',
      help: 'Model versions refused at load (corrupt artifact, bad format); the previous keeps serving.',
      registers,
    }),
    modelsServing: new Gauge({
      name: 'recommender_model_serving',
      help: '1 for each model version serving, by role (active, or variant:<name>).',
      labelNames: ['version', 'role'],
      registers,
    }),
    impressionsWritten: new Counter({
      name: 'recommender_impressions_written_total',
      help: 'Served lists written to the impressions table.',
      registers,
    }),
    impressionsDropped: new Counter({
      name: 'recommender_impressions_dropped_total',
      help: 'Served lists not logged because the queue was full or the database kept failing.',
      registers,
    }),
    seenLookups: new Counter({
      name: 'recommender_seen_cache_lookups_total',
      help: 'Seen-item lookups by result (hit, miss).',
      labelNames: ['result'],
      registers,
    }),
  };
}
