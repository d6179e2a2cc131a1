import { fork } from 'node:child_process';
import { constants, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { Random } from '@cml-rec/shared/util/random';
import type { LoadMessage, LoadRequest, LoadResult } from './load-client.js';

/** How benchmark vectors are spread around their cluster centres. */
export interface ClusterShape {
  clusters: number;
  /**
   * Dimensions of each cluster's own random subspace that the spread lies in; `dim` gives
   * isotropic clusters (the hardest case for any graph index: 64-d Gaussian blobs).
   */
  intrinsicDim: number;
  /** Scale of the spread inside the subspace. */
  spread: number;
  /** Isotropic noise added on top, in every dimension. */
  noise: number;
}

export const clusterShapes: Record<string, ClusterShape> = {
  /** Learned embeddings lie near low-dimensional structure: 8-d spread per cluster. */
  subspace: { clusters: 100, intrinsicDim: 8, spread: 0.15, noise: 0.01 },
  isotropic: { clusters: 100, intrinsicDim: 64, spread: 0.08, noise: 0 },
};

/**
 * `count` points in `dim` dimensions, all inside the unit ball like CML vectors. The clusters
 * (centres uniform in a ball of radius 0.7, each with its own random subspace) depend only on
 * `worldSeed`, so items and users (queries) drawn with different `seed`s share them.
 */
export function clusteredVectors(
  count: number,
  dim: number,
  seed: number,
  shape: ClusterShape = clusterShapes.subspace,
  worldSeed = 1,
): Float32Array {
  const world = new Random(worldSeed);
  const { clusters, spread, noise } = shape;
  const intrinsic = Math.min(dim, shape.intrinsicDim);
  const centres = new Float32Array(clusters * dim);
  const bases = new Float32Array(clusters * intrinsic * dim);
  for (let c = 0; c < clusters; c++) {
    let norm = 0;
    for (let d = 0; d < dim; d++) {
      centres[c * dim + d] = world.normal();
      norm += centres[c * dim + d] ** 2;
    }
    const radius = 0.7 * world.float() ** (1 / dim);
    for (let d = 0; d < dim; d++) centres[c * dim + d] *= radius / Math.sqrt(norm);
    // Random directions of expected length 1 (unused when isotropic: the spread is z itself).
    if (intrinsic < dim) {
      for (let b = 0; b < intrinsic * dim; b++)
        bases[c * intrinsic * dim + b] = world.normal() / Math.sqrt(dim);
    }
  }

  const random = new Random(seed);
  const vectors = new Float32Array(count * dim);
  const z = new Float32Array(intrinsic);
  for (let n = 0; n < count; n++) {
    const c = random.int(clusters);
    for (let i = 0; i < intrinsic; i++) z[i] = spread * random.normal();
    let norm = 0;
    for (let d = 0; d < dim; d++) {
      let value = centres[c * dim + d] + (noise > 0 ? noise * random.normal() : 0);
      if (intrinsic === dim) value += z[d];
      else for (let i = 0; i < intrinsic; i++) value += z[i] * bases[(c * intrinsic + i) * dim + d];
      vectors[n * dim + d] = value;
      norm += value * value;
    }
    if (norm > 1) for (let d = 0; d < dim; d++) vectors[n * dim + d] /= Math.sqrt(norm);
  }
  return vectors;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export function runLoad(request: LoadRequest): Promise<LoadResult> {
  return startLoad(request).done;
}

/**
 * Starts the load generator in a process of its own (see load-client.ts); `stop()` ends it
 * early (the samples so far are still returned).
 */
export function startLoad(request: LoadRequest): { done: Promise<LoadResult>; stop(): void } {
  const child = fork(new URL('./load-client.js', import.meta.url), [], {
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const send = (message: LoadMessage) => child.connected && child.send(message);
  const done = new Promise<LoadResult>((resolve, reject) => {
    child.once('message', (result: LoadResult) => resolve(result));
    child.once('error', reject);
    child.once('exit', (code) =>
      reject(new Error(`the load generator exited with code ${code} before reporting`)),
    );
  });
  send({ start: request });
  return { done, stop: () => send('stop') };
}

export function summarise(latencies: number[]): { p50: number; p99: number; max: number } {
  const sorted = [...latencies].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) ?? NaN };
}

export function fmt(value: number, digits = 2): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '-';
}

/**
 * The event loop's delay while this process does nothing for `ms`: on a shared machine the
 * operating system alone delays timers, and this is the floor under every other measurement.
 */
export async function idleLoopDelay(ms = 3000): Promise<{ p99: number; max: number }> {
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  await new Promise((resolve) => setTimeout(resolve, ms));
  loop.disable();
  return { p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 };
}

/** "none", or the failed requests by status (0: the request itself failed, e.g. a reset). */
export function failures(samples: { status: number }[]): string {
  const counts = new Map<number, number>();
  for (const { status } of samples) {
    if (status < 200 || status >= 300) counts.set(status, (counts.get(status) ?? 0) + 1);
  }
  if (counts.size === 0) return '0';
  return [...counts.entries()].map(([status, count]) => `${count} (status ${status})`).join(', ');
}

/** Garbage-collection pauses of one kind: how many, the longest and their total (ms). */
export interface PauseStats {
  count: number;
  maxMs: number;
  totalMs: number;
}

/**
 * Records this thread's garbage-collection pauses until `stop()`, young-generation
 * (scavenges) and old-generation (mark-compact, incremental marking steps) apart: each pause
 * holds the event loop, so every request waiting meanwhile pays for it.
 */
export function gcPauses(): { stop(): { young: PauseStats; old: PauseStats } } {
  const young: PauseStats = { count: 0, maxMs: 0, totalMs: 0 };
  const old: PauseStats = { count: 0, maxMs: 0, totalMs: 0 };
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const { detail } = entry as unknown as { detail?: { kind?: number } };
      const kind = detail?.kind;
      const stats = kind === constants.NODE_PERFORMANCE_GC_MINOR ? young : old;
      stats.count++;
      stats.maxMs = Math.max(stats.maxMs, entry.duration);
      stats.totalMs += entry.duration;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  return {
    stop() {
      observer.disconnect();
      return { young, old };
    },
  };
}

/** "count / longest / total" of some pauses, in ms. */
export function fmtPauses(stats: PauseStats): string {
  return `${stats.count} / ${fmt(stats.maxMs, 1)} / ${fmt(stats.totalMs, 0)}`;
}

/** One time the event loop was held: when it began (wall-clock ms) and for how long. */
export interface Stall {
  atMs: number;
  ms: number;
}

/**
 * Records every time this thread's event loop was held longer than `thresholdMs`, with when it
 * happened, so that a benchmark can say which step of its run held it (the delay histogram
 * says how much, not when).
 */
export function eventLoopStalls(thresholdMs = 50): { stop(): Stall[] } {
  const stalls: Stall[] = [];
  const wallClock = () => performance.timeOrigin + performance.now();
  let last = wallClock();
  const timer = setInterval(() => {
    const now = wallClock();
    const held = now - last - TICK_MS;
    if (held > thresholdMs) stalls.push({ atMs: last, ms: held });
    last = now;
  }, TICK_MS);
  return {
    stop() {
      clearInterval(timer);
      return stalls;
    },
  };
}

const TICK_MS = 5;
