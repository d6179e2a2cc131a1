import { parentPort, workerData } from 'node:worker_threads';
import { buildHnsw, whileNativeTaskRuns } from './item-index.js';
import { failedTask, yieldCpuToServing, type TaskResponse } from './worker-task.js';

/** What `ItemIndex.build` sends: the vectors live in a SharedArrayBuffer. */
export interface BuildRequest {
  vectors: Float32Array;
  dim: number;
  m: number;
  efConstruction: number;
  /** Where to write the finished graph (hnswlib's own format). */
  file: string;
}

async function build(request: BuildRequest): Promise<TaskResponse<null>> {
  try {
    const hnsw = buildHnsw(request.vectors, request.dim, request.m, request.efConstruction);
    await whileNativeTaskRuns(hnsw, hnsw.writeIndex(request.file));
    return { ok: true, result: null };
  } catch (error) {
    return failedTask(error);
  }
}

if (parentPort) {
  const port = parentPort;
  yieldCpuToServing();
  void build(workerData as BuildRequest).then((response) => port.postMessage(response));
}
