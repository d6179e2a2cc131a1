import os from 'node:os';
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

/**
 * The build gets the CPU the serving thread leaves over. A graph build keeps a core busy for
 * minutes (12 at a million items); at the same priority on a 2-core machine it took the core
 * the event loop needed whenever anything else ran, and requests queued for seconds during a
 * swap. On Linux a nice value belongs to the thread that sets it (see setpriority(2); only this
 * thread shows nice 19 in /proc/<pid>/task), so this lowers the builder, not the server.
 */
function yieldCpuToServing(): void {
  try {
    os.setPriority(os.constants.priority.PRIORITY_LOW);
  } catch {
    // Not permitted in some sandboxes: the build then runs at the normal priority.
  }
}

if (parentPort) {
  const port = parentPort;
  yieldCpuToServing();
  void build(workerData as BuildRequest).then((response) => port.postMessage(response));
}
