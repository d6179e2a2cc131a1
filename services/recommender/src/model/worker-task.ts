import os from 'node:os';
import { parentPort, Worker, workerData, type TransferListItem } from 'node:worker_threads';
import { AppError, errorMessage } from '@cml-rec/shared/errors';

/**
 * What a task worker posts back: its result, or an error reduced to what survives a message
 * (the code of an AppError, so a refused artifact stays ARTIFACT_FORMAT on this side too).
 */
export type TaskResponse<T> = { ok: true; result: T } | { ok: false; code?: string; error: string };

export interface WorkerTaskOptions {
  /** The code of the AppError when the worker ends without a result or times out. */
  failureCode: string;
  /** Prefixes every error message: what was being done. */
  label: string;
  transfer?: TransferListItem[];
  /** The worker is terminated and the task refused after this long (ms); default: no limit. */
  timeoutMs?: number;
}

/**
 * Runs one task in a fresh worker thread that posts a single TaskResponse and is then
 * terminated. Every way the worker can end without a result (an exception outside the task,
 * a crash, an exit, the time limit) rejects with an AppError carrying `failureCode`.
 */
export function runWorkerTask<T>(
  script: URL,
  request: unknown,
  options: WorkerTaskOptions,
): Promise<T> {
  const { failureCode, label } = options;
  return new Promise((resolve, reject) => {
    const worker = new Worker(script, { workerData: request, transferList: options.transfer });
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      outcome();
    };
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            settle(() =>
              reject(
                new AppError(failureCode, `${label}: no result after ${options.timeoutMs} ms`),
              ),
            );
            void worker.terminate();
          }, options.timeoutMs);
    worker.once('message', (response: TaskResponse<T>) => {
      settle(() =>
        response.ok
          ? resolve(response.result)
          : reject(new AppError(response.code ?? failureCode, `${label}: ${response.error}`)),
      );
      void worker.terminate();
    });
    worker.once('error', (error) => {
      settle(() =>
        reject(new AppError(failureCode, `${label}: the worker crashed`, { cause: error })),
      );
    });
    worker.once('exit', (code) => {
      settle(() => reject(new AppError(failureCode, `${label}: the worker exited with ${code}`)));
    });
  });
}

/**
 * The worker side of runWorkerTask: when this module runs as a worker thread, lowers its
 * priority (see yieldCpuToServing), runs `task` on the workerData and posts its result, or
 * what it threw reduced to a code and a message.
 */
export function serveWorkerTask<Request, T>(task: (request: Request) => Promise<T>): void {
  if (!parentPort) return;
  const port = parentPort;
  yieldCpuToServing();
  void task(workerData as Request)
    .then(
      (result): TaskResponse<T> => ({ ok: true, result }),
      (error: unknown): TaskResponse<T> => ({
        ok: false,
        ...(error instanceof AppError && { code: error.code }),
        error: errorMessage(error),
      }),
    )
    .then((response) => port.postMessage(response));
}

/**
 * Loading work gets the CPU the serving thread leaves over. A graph build keeps a core busy
 * for minutes (12 at a million items); at the same priority on a 2-core machine it took the
 * core the event loop needed whenever anything else ran, and requests queued for seconds
 * during a swap. On Linux a nice value belongs to the thread that sets it (see setpriority(2);
 * only that thread shows nice 19 in /proc/<pid>/task) and threads it starts afterwards inherit
 * it, so this lowers the worker and its helpers, not the server.
 */
function yieldCpuToServing(): void {
  try {
    os.setPriority(os.constants.priority.PRIORITY_LOW);
  } catch {
    // Not permitted in some sandboxes: the work then runs at the normal priority.
  }
}
