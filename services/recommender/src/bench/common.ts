import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { Random } from '@cml-rec/shared/util/random';
import type { LoadRequest, LoadSample } from './load-worker.js';

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

export function runLoad(request: LoadRequest): Promise<LoadSample[]> {
  return startLoad(request).done;
}

/** Starts the load generator; `stop()` ends it early (samples so far are still returned). */
export function startLoad(request: LoadRequest): { done: Promise<LoadSample[]>; stop(): void } {
  const worker = new Worker(new URL('./load-worker.js', import.meta.url), { workerData: request });
  const done = new Promise<LoadSample[]>((resolve, reject) => {
    worker.once('message', (samples: LoadSample[]) => {
      resolve(samples);
      void worker.terminate();
    });
    worker.once('error', reject);
  });
  return { done, stop: () => worker.postMessage('stop') };
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
