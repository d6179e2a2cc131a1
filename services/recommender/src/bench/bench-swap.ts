#!/usr/bin/env node
/**
 * Hot-swap benchmark: the real service wiring (PostgreSQL registry, artifact store, ONNX
 * Runtime, HNSW built in a worker) under open-loop HTTP load while new versions are activated.
 *
 *   node --expose-gc services/recommender/dist/bench/bench-swap.js [--items 100000]
 *     [--users 10000] [--dim 64] [--rate 500] [--swaps 3] [--swap-every 12]
 *
 * Needs the local test PostgreSQL (TEST_DATABASE_URL or postgres://postgres@127.0.0.1:5432/test);
 * it works in a private schema and drops it. Reports non-2xx responses, latency overall and
 * in the window around each swap (second by second on stderr), the event loop's delay, the
 * garbage-collection pauses, each time the event loop was held over 50 ms and when (relative to
 * the swaps), what the load generator (a separate process) cost, and the
 * process's memory serving one version under load, before the first swap and after each swap
 * once the replaced version has been freed (DEFAULT_RELEASE_DELAY_MS later), and with forced
 * GC (--expose-gc) before and after the run (the latter includes the load samples).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { FileArtifactStore } from '@cml-rec/shared/artifacts/store';
import { createTestDatabase } from '@cml-rec/shared/db/testing';
import { createLogger } from '@cml-rec/shared/logging/logger';
import { writeModelVersion } from '@cml-rec/shared/model/version-files';
import { activateVersion, newVersionId, registerVersion } from '@cml-rec/shared/registry/registry';
import { loadRecommenderConfig } from '../config.js';
import { DEFAULT_RELEASE_DELAY_MS } from '../model/model-holder.js';
import { startRecommender } from '../runtime.js';
import {
  clusteredVectors,
  eventLoopStalls,
  failures,
  fmt,
  fmtPauses,
  gcPauses,
  idleLoopDelay,
  startLoad,
  summarise,
} from './common.js';

const { values: args } = parseArgs({
  options: {
    items: { type: 'string', default: '100000' },
    users: { type: 'string', default: '10000' },
    dim: { type: 'string', default: '64' },
    rate: { type: 'string', default: '500' },
    swaps: { type: 'string', default: '3' },
    'swap-every': { type: 'string', default: '12' },
    m: { type: 'string', default: '16' },
    'ef-construction': { type: 'string', default: '200' },
    ef: { type: 'string', default: '200' },
  },
});
const numItems = Number(args.items);
const numUsers = Number(args.users);
const dim = Number(args.dim);
const swaps = Number(args.swaps);
const swapEveryMs = Number(args['swap-every']) * 1000;
const gc = (globalThis as { gc?: () => void }).gc;
const logger = createLogger('bench-swap', process.env.LOG_LEVEL ?? 'warn');

const db = await createTestDatabase('bench');
const folder = await mkdtemp(path.join(tmpdir(), 'cml-bench-artifacts-'));
const store = new FileArtifactStore(folder);
const userIds = Array.from({ length: numUsers }, (_, n) => `u${n}`);
const itemIds = Array.from({ length: numItems }, (_, n) => `i${n}`);

async function publish(seed: number): Promise<string> {
  const id = newVersionId();
  const written = await writeModelVersion(
    store,
    id,
    {
      dim,
      numUsers,
      numItems,
      users: clusteredVectors(numUsers, dim, seed * 2),
      items: clusteredVectors(numItems, dim, seed * 2 + 1),
    },
    { users: userIds, items: itemIds },
  );
  await registerVersion(db.pool, {
    id,
    dataSnapshot: {
      interactionCount: 0,
      latestTimestamp: null,
      maxInteractionId: 0,
      users: numUsers,
      items: numItems,
      positives: 0,
    },
    hyperparameters: {},
    metrics: {},
    artifactUri: written.artifactUri,
    checksum: written.checksum,
  });
  return id;
}

/** RSS with what V8's heap and ArrayBuffers account for (the rest is native and code). */
const memoryUsage = () => {
  const usage = process.memoryUsage();
  const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
  return `rss ${mib(usage.rss)} MiB (heap ${mib(usage.heapUsed)}, external ${mib(usage.external)})`;
};
const memory = () => {
  gc?.();
  return memoryUsage();
};

try {
  console.error(`writing ${swaps + 1} versions of ${numItems} items x ${dim} dims`);
  const versions: string[] = [];
  for (let n = 0; n <= swaps; n++) versions.push(await publish(n + 1));
  await activateVersion(db.pool, versions[0], 'bench');

  const recommender = await startRecommender({
    config: loadRecommenderConfig({
      PORT: '0',
      API_KEYS: 'bench-key',
      HNSW_M: args.m,
      HNSW_EF_CONSTRUCTION: args['ef-construction'],
      HNSW_EF_SEARCH: args.ef,
    }),
    pool: db.pool,
    store,
    logger,
  });
  const memoryBefore = memory();
  console.error(`serving ${recommender.models.current?.versionId}; ${memoryBefore}`);

  const idle = await idleLoopDelay();
  const loop = monitorEventLoopDelay({ resolution: 1 });
  // Activation times are kept on the wall clock: the load generator is another process, and
  // its samples count from when its first request was due, not from this process's start.
  const wallClock = () => performance.timeOrigin + performance.now();
  const activatedAtMs: number[] = [];
  const servedAfter: number[] = [];
  const memoryAfter: string[] = [];
  // RSS while serving one version under the same load: before the first swap, and after each
  // swap once the replaced version has been freed (no forced GC, which would pause the server).
  const steadyMemory: string[] = [];
  const started = performance.now();
  const pauses = gcPauses();
  const stallRecorder = eventLoopStalls(50);
  loop.enable();
  const load = startLoad({
    urls: userIds
      .slice(0, 2000)
      .map((id) => `http://127.0.0.1:${recommender.port}/v1/users/${id}/recommendations?k=10`),
    headers: { authorization: 'Bearer bench-key' },
    ratePerSecond: Number(args.rate),
    durationMs: 3_600_000,
  });
  // Steady load, then per swap: activate, wait until the new version serves, steady load again
  // at least until the replaced version has been freed.
  await new Promise((resolve) => setTimeout(resolve, swapEveryMs));
  steadyMemory.push(memoryUsage());
  for (let n = 1; n <= swaps; n++) {
    activatedAtMs.push(wallClock());
    await activateVersion(db.pool, versions[n], 'bench');
    const deadline = performance.now() + 600_000;
    while (recommender.models.current?.versionId !== versions[n]) {
      if (performance.now() > deadline)
        throw new Error(`version ${versions[n]} not serving after 600 s`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    servedAfter.push(wallClock() - activatedAtMs[n - 1]);
    console.error(
      `swap ${n}: ${versions[n]} serving ${fmt(servedAfter[n - 1], 0)} ms after activation`,
    );
    // No forced GC here: it would pause the server inside the window being measured.
    memoryAfter.push(`${memoryUsage()}, no GC forced`);
    const steadyAfterMs = Math.max(swapEveryMs, DEFAULT_RELEASE_DELAY_MS + 5000);
    await new Promise((resolve) => setTimeout(resolve, steadyAfterMs));
    steadyMemory.push(memoryUsage());
  }
  load.stop();
  const durationMs = performance.now() - started;
  const { samples, startedAtMs, clientCpuShare, clientLoopP99Ms } = await load.done;
  // When each activation happened on the generator's clock (that of the samples' dueMs).
  const activatedAt = activatedAtMs.map((at) => at - startedAtMs);
  loop.disable();
  const gcStats = pauses.stop();
  const stalls = stallRecorder.stop();

  const overall = summarise(samples.map((s) => s.latencyMs));
  const non2xx = failures(samples);
  console.log(
    `\n${numItems} items x ${dim} dims, ${numUsers} users, ${args.rate} req/s open loop for ` +
      `${fmt(durationMs / 1000, 0)} s, ${swaps} swaps (M=${args.m}, efConstruction=${args['ef-construction']}, ef=${args.ef})\n`,
  );
  // Second by second (by when each request was due): which version answered, and how fast.
  const timeline = new Map<number, { versions: Map<string, number>; latencies: number[] }>();
  for (const sample of samples) {
    const second = Math.floor(sample.dueMs / 1000);
    const entry = timeline.get(second) ?? { versions: new Map<string, number>(), latencies: [] };
    const label = `v${versions.indexOf(sample.modelVersion)}`;
    entry.versions.set(label, (entry.versions.get(label) ?? 0) + 1);
    entry.latencies.push(sample.latencyMs);
    timeline.set(second, entry);
  }
  console.error(
    [...timeline.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([second, { versions: counts, latencies }]) => {
        const { p50, p99, max } = summarise(latencies);
        return (
          `${second}s ${JSON.stringify(Object.fromEntries(counts))} ` +
          `p50 ${fmt(p50)} p99 ${fmt(p99)} max ${fmt(max)} ms`
        );
      })
      .join('\n'),
  );
  const byVersion = new Map<string, number>();
  for (const s of samples) byVersion.set(s.modelVersion, (byVersion.get(s.modelVersion) ?? 0) + 1);
  console.log(
    `requests ${samples.length}, non-2xx ${non2xx}; by version ${JSON.stringify(Object.fromEntries(byVersion))}`,
  );
  console.log(
    `latency overall: p50 ${fmt(overall.p50)} ms, p99 ${fmt(overall.p99)} ms, max ${fmt(overall.max)} ms`,
  );
  for (const [n, at] of activatedAt.entries()) {
    // The window: from activation until the new version was serving, plus one second.
    const end = at + servedAfter[n] + 1000;
    const window = summarise(
      samples.filter((s) => s.dueMs >= at && s.dueMs <= end).map((s) => s.latencyMs),
    );
    console.log(
      `swap ${n + 1}: activated ${fmt(at / 1000, 2)} s into the load, serving ` +
        `${fmt(servedAfter[n], 0)} ms later; in that window ` +
        `p50 ${fmt(window.p50)} ms, p99 ${fmt(window.p99)} ms, max ${fmt(window.max)} ms`,
    );
  }
  console.log(
    `event loop delay: p50 ${fmt(loop.percentile(50) / 1e6)} ms, p99 ${fmt(loop.percentile(99) / 1e6)} ms, ` +
      `max ${fmt(loop.max / 1e6)} ms`,
  );
  // Each stall placed after the activation it followed, to tell loading steps apart.
  const placed = stalls.map(({ atMs, ms }) => {
    const swap = activatedAtMs.filter((at) => at <= atMs).length;
    const since =
      swap > 0
        ? `${fmt((atMs - activatedAtMs[swap - 1]) / 1000, 2)} s after swap ${swap}`
        : 'before the first swap';
    return `${fmt(ms, 0)} ms ${since}`;
  });
  console.log(`event loop held over 50 ms: ${placed.length === 0 ? 'never' : placed.join('; ')}`);
  console.log(
    `GC pauses (count / longest / total ms): young ${fmtPauses(gcStats.young)}, old ${fmtPauses(gcStats.old)}`,
  );
  console.log(
    `load generator (its own process): CPU ${fmt(clientCpuShare * 100, 0)}% of a core, ` +
      `event-loop delay p99 ${fmt(clientLoopP99Ms, 1)} ms`,
  );
  console.log(
    `idle event-loop delay before the test (machine noise): p99 ${fmt(idle.p99)} ms, max ${fmt(idle.max)} ms`,
  );
  console.log(`memory (forced GC: ${gc ? 'yes' : 'no'}) with the first version: ${memoryBefore}`);
  for (const [n, text] of memoryAfter.entries())
    console.log(`memory right after swap ${n + 1}: ${text}`);
  console.log(
    `memory serving one version under the load (no GC forced): before the first swap ` +
      steadyMemory[0] +
      steadyMemory
        .slice(1)
        .map((text, n) => `; after swap ${n + 1}, its replaced version freed: ${text}`)
        .join(''),
  );
  console.log(
    `memory after the load test, one version loaded, with the load samples held (forced GC: ${gc ? 'yes' : 'no'}): ${memory()}`,
  );
  await recommender.close();
} finally {
  await db.drop();
  await rm(folder, { recursive: true, force: true });
}
