import { buildHnsw, whileNativeTaskRuns } from './item-index.js';
import { serveWorkerTask } from './worker-task.js';

/** What `ItemIndex.build` sends: the vectors live in a SharedArrayBuffer. */
export interface BuildRequest {
  vectors: Float32Array;
  dim: number;
  m: number;
  efConstruction: number;
  /** Where to write the finished graph (hnswlib's own format). */
  file: string;
}

async function build(request: BuildRequest): Promise<null> {
  const hnsw = buildHnsw(request.vectors, request.dim, request.m, request.efConstruction);
  await whileNativeTaskRuns(hnsw, hnsw.writeIndex(request.file));
  return null;
}

serveWorkerTask(build);
