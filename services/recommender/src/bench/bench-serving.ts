#!/usr/bin/env node
/**
 * Serving benchmark: HNSW against exact search over 10k / 100k / 1M items in one run.
 *
 *   node services/recommender/dist/bench/bench-serving.js [--sizes 10000,100000,1000000]
 *     [--data subspace|isotropic] [--dim 64] [--queries 2000] [--exact-queries 200]
 *     [--m 16] [--ef-construction 200] [--efs 50,100,200] [--ef 100]
 *     [--rate 500] [--seconds 10] [--warmup 3] [--cache /tmp/cml-bench]
 *
 * Per size: builds the graph in a worker thread (the main thread's event-loop delay is
 * measured meanwhile; the graph is cached in --cache, so a rerun skips the build), computes
 * exact neighbours for --exact-queries queries, then for each ef in --efs measures sequential
 * HNSW latency, QPS and recall@10 against exact (k = 10, 30 seen items excluded per query).
 * Finally the express app (auth, validation, metrics, JSON) serves the index with ef = --ef
 * under an open-loop load of --rate requests per second from a separate process (see
 * load-client.ts): --warmup seconds first (not counted: the JIT compiles the request path and
 * the benchmark's own garbage is collected), then --seconds measured, with the server's
 * event-loop delay and garbage-collection pauses. The last table has every figure of that run.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { Pool } from '@cml-rec/shared/db/pool';
import { silentLogger } from '@cml-rec/shared/logging/logger';
import { Random } from '@cml-rec/shared/util/random';
import { loadRecommenderConfig } from '../config.js';
import { createApp } from '../http/app.js';
import { listen } from '../http/server.js';
import { ItemCatalog } from '../item-catalog.js';
import { createMetrics } from '../metrics.js';
import { ItemIndex } from '../model/item-index.js';
import { ServingModel } from '../model/serving-model.js';
import {
  clusteredVectors,
  clusterShapes,
  failures,
  fmt,
  idleLoopDelay,
  runLoad,
  fmtPauses,
  gcPauses,
  summarise,
} from './common.js';

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10000,100000,1000000' },
    data: { type: 'string', default: 'subspace' },
    dim: { type: 'string', default: '64' },
    queries: { type: 'string', default: '2000' },
    'exact-queries': { type: 'string', default: '200' },
    m: { type: 'string', default: '16' },
    'ef-construction': { type: 'string', default: '200' },
    efs: { type: 'string', default: '50,100,200' },
    ef: { type: 'string', default: '200' },
    rate: { type: 'string', default: '500' },
    seconds: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    cache: { type: 'string', default: '/tmp/cml-bench' },
  },
});
const shape = clusterShapes[args.data];
if (!shape) throw new Error(`--data must be one of ${Object.keys(clusterShapes).join(', ')}`);
const dim = Number(args.dim);
const parameters = {
  m: Number(args.m),
  efConstruction: Number(args['ef-construction']),
  efSearch: Number(args.ef),
};
const k = 10;
const seenPerUser = 30;
const numUsers = 10_000;

const searchRows: string[] = [];
const httpRows: string[] = [];

async function benchmark(numItems: number): Promise<void> {
  const log = (message: string) => console.error(`[${numItems}] ${message}`);
  const items = clusteredVectors(numItems, dim, 11, shape);
  // Users (queries) come from the same clusters but are not items.
  const users = clusteredVectors(numUsers, dim, 12, shape);
  const random = new Random(3);
  const seen = Array.from({ length: numUsers }, () => {
    const set = new Set<number>();
    while (set.size < seenPerUser) set.add(random.int(numItems));
    return set;
  });

  mkdirSync(args.cache, { recursive: true });
  const file = path.join(
    args.cache,
    `hnsw-${args.data}-${numItems}-${dim}-m${parameters.m}-efc${parameters.efConstruction}.bin`,
  );
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const buildStarted = performance.now();
  let index: ItemIndex;
  let buildSeconds = '(cached)';
  if (existsSync(file)) {
    index = await ItemIndex.fromFile(items, dim, parameters, file);
  } else {
    log('building HNSW in a worker thread');
    index = await ItemIndex.build(items, dim, parameters);
    buildSeconds = fmt((performance.now() - buildStarted) / 1000, 1);
    await index.writeIndex(file);
  }
  loop.disable();
  const buildLoopMaxMs = fmt(loop.max / 1e6, 1);
  log(`index ready (build ${buildSeconds} s, event loop max delay ${buildLoopMaxMs} ms)`);

  const queries = Number(args.queries);
  const exactQueries = Math.min(queries, Number(args['exact-queries']));
  const query = (n: number) => users.subarray((n % numUsers) * dim, ((n % numUsers) + 1) * dim);

  const exactLatencies: number[] = [];
  const truth: Set<number>[] = [];
  const exactStarted = performance.now();
  for (let n = 0; n < exactQueries; n++) {
    const started = performance.now();
    const exact = index.exactSearch(query(n), k, { excluded: seen[n % numUsers] });
    exactLatencies.push(performance.now() - started);
    truth.push(new Set(exact.map((x) => x.item)));
  }
  const exactQps = exactQueries / ((performance.now() - exactStarted) / 1000);
  const exact = summarise(exactLatencies);

  // The served ef is always measured, so the HTTP row can state its recall.
  const efs = [...new Set([...args.efs.split(',').map(Number), parameters.efSearch])];
  const recallAt = new Map<number, number>();
  for (const ef of efs) {
    const searcher = index.withEfSearch(ef);
    for (let n = 0; n < 200; n++) searcher.search(query(n), k, { excluded: seen[n % numUsers] });
    const latencies: number[] = [];
    let found = 0;
    const started = performance.now();
    for (let n = 0; n < queries; n++) {
      const one = performance.now();
      const result = searcher.search(query(n), k, { excluded: seen[n % numUsers] });
      latencies.push(performance.now() - one);
      if (n < exactQueries) found += result.neighbours.filter((x) => truth[n].has(x.item)).length;
    }
    const qps = queries / ((performance.now() - started) / 1000);
    const hnsw = summarise(latencies);
    const recall = found / (exactQueries * k);
    recallAt.set(ef, recall);
    log(`ef ${ef}: recall@10 ${recall.toFixed(4)}, p99 ${fmt(hnsw.p99, 3)} ms`);
    searchRows.push(
      `| ${numItems} | ${ef} | ${fmt(hnsw.p50, 3)} | ${fmt(hnsw.p99, 3)} | ${fmt(qps, 0)} | ` +
        `${recall.toFixed(4)} | ${fmt(exact.p50)} | ${fmt(exact.p99)} | ${fmt(exactQps, 1)} |`,
    );
  }

  const http = await httpLoad(index, users, seen, numItems);
  const servedRecall = recallAt.get(parameters.efSearch)?.toFixed(4) ?? '-';
  httpRows.push(
    `| ${numItems} | ${buildSeconds} | ${buildLoopMaxMs} | ${parameters.efSearch} | ${servedRecall} | ` +
      `${args.rate} | ${http.requests} | ${http.p50} | ${http.p99} | ${http.max} | ${http.non2xx} | ` +
      `${http.loopP99} | ${http.loopMax} | ${http.gcYoung} | ${http.gcOld} | ${http.client} |`,
  );
}

/**
 * The real express app over this index, under open-loop load from a separate process; the
 * server's event-loop delay and garbage-collection pauses are recorded meanwhile.
 */
async function httpLoad(
  index: ItemIndex,
  users: Float32Array,
  seen: Set<number>[],
  numItems: number,
): Promise<
  Record<
    | 'requests'
    | 'p50'
    | 'p99'
    | 'max'
    | 'non2xx'
    | 'loopP99'
    | 'loopMax'
    | 'gcYoung'
    | 'gcOld'
    | 'client',
    string
  >
> {
  const userIds = Array.from({ length: numUsers }, (_, n) => `u${n}`);
  const model = await ServingModel.fromVectors({
    versionId: `bench-${numItems}`,
    dim,
    userIds,
    userVectors: users,
    itemIds: Array.from({ length: numItems }, (_, n) => String(n)),
    index: index.withEfSearch(parameters.efSearch),
  });
  const seenIds = seen.map((set) => [...set].map(String));
  const app = createApp({
    config: loadRecommenderConfig({ API_KEYS: 'bench-key' }),
    models: { serving: { active: model, rollout: undefined }, refresh: async () => undefined },
    seen: { forUser: async (userId) => seenIds[Number(userId.slice(1))] ?? [] },
    catalog: new ItemCatalog({} as Pool),
    impressions: { record: () => undefined },
    metrics: createMetrics({ defaultMetrics: false }),
    pool: {} as Pool,
    logger: silentLogger,
  });
  const server = await listen(app, 0, '127.0.0.1');
  server.keepAliveTimeout = 65_000; // as in runtime.ts
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  const request = {
    urls: userIds
      .slice(0, 2000)
      .map((id) => `http://127.0.0.1:${port}/v1/users/${id}/recommendations?k=${k}`),
    headers: { authorization: 'Bearer bench-key' },
    ratePerSecond: Number(args.rate),
  };
  const warmup = await runLoad({ ...request, durationMs: Number(args.warmup) * 1000 });
  const warmupFailures = failures(warmup.samples);
  if (warmupFailures !== '0') throw new Error(`warm-up requests failed: ${warmupFailures}`);

  const loop = monitorEventLoopDelay({ resolution: 1 });
  const pauses = gcPauses();
  loop.enable();
  const load = await runLoad({ ...request, durationMs: Number(args.seconds) * 1000 });
  loop.disable();
  const gc = pauses.stop();
  await new Promise((resolve) => server.close(resolve));
  const latency = summarise(load.samples.map((s) => s.latencyMs));
  return {
    requests: String(load.samples.length),
    p50: fmt(latency.p50),
    p99: fmt(latency.p99),
    max: fmt(latency.max),
    non2xx: failures(load.samples),
    loopP99: fmt(loop.percentile(99) / 1e6),
    loopMax: fmt(loop.max / 1e6),
    gcYoung: fmtPauses(gc.young),
    gcOld: fmtPauses(gc.old),
    client: `${fmt(load.clientCpuShare * 100, 0)}% / ${fmt(load.clientLoopP99Ms, 1)}`,
  };
}

const idle = await idleLoopDelay();
for (const size of args.sizes.split(',').map(Number)) await benchmark(size);
const idleAfter = await idleLoopDelay();

console.log(
  `\n${args.data} data, ${dim} dims, k=${k}, ${seenPerUser} seen items excluded per query, ` +
    `M=${parameters.m}, efConstruction=${parameters.efConstruction}; latencies in ms\n`,
);
console.log(
  '| items | ef | HNSW p50 | HNSW p99 | HNSW QPS | recall@10 | exact p50 | exact p99 | exact QPS |',
);
console.log('|---|---|---|---|---|---|---|---|---|');
for (const row of searchRows) console.log(row);
console.log(
  `\nHTTP GET /v1/users/{id}/recommendations?k=${k} (bearer key, seen items from memory), open loop ` +
    `for ${args.seconds} s after ${args.warmup} s of warm-up; latencies in ms from when each ` +
    `request was due, recall@10 of the served ef\n`,
);
console.log(
  '| items | build s | loop max ms during build | ef | recall@10 | req/s | requests | p50 | p99 | max | non-2xx | ' +
    'loop p99 ms | loop max ms | young GC: count / max / total ms | old GC: count / max / total ms | ' +
    'load generator: CPU / loop p99 ms |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const row of httpRows) console.log(row);
console.log(
  `\nidle event-loop delay (machine noise, nothing running in this process): before p99 ` +
    `${fmt(idle.p99)} ms, max ${fmt(idle.max)} ms; after p99 ${fmt(idleAfter.p99)} ms, max ${fmt(idleAfter.max)} ms`,
);
