import { parentPort, workerData } from 'node:worker_threads';
import { errorMessage } from '@cml-rec/shared/errors';
import { buildHnsw } from './item-index.js';

/** What `ItemIndex.build` sends: the vectors live in a SharedArrayBuffer. */
export interface BuildRequest {
  vectors: Float32Array;
  dim: number;
  m: number;
  efConstruction: number;
  /** Where to write the finished graph (hnswlib's own format). */
  file: string;
}

export type BuildResponse = { ok: true } | { ok: false; error: string };

async function build(request: BuildRequest): Promise<BuildResponse> {
  try {
    const hnsw = buildHnsw(request.vectors, request.dim, request.m, request.efConstruction);
    await hnsw.writeIndex(request.file);
    return { ok: true };
  } catch (error) {
    return { ok: false, error: errorMessage(error) };
  }
}

if (parentPort) {
  const port = parentPort;
  void build(workerData as BuildRequest).then((response) => port.postMessage(response));
}
