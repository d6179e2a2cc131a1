import http from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';

/** What the benchmark asks the load generator for. */
export interface LoadRequest {
  /** Full URLs, requested round-robin. */
  urls: string[];
  headers: Record<string, string>;
  ratePerSecond: number;
  /** Stop after this long, or earlier when the parent posts 'stop'. */
  durationMs: number;
}

/** One request: when it was due (ms since the run started), its latency and status. */
export interface LoadSample {
  dueMs: number;
  latencyMs: number;
  status: number;
  modelVersion: string;
}

/**
 * An open-loop load generator in its own thread: requests are due at a fixed rate whatever
 * the server's speed, and latency counts from when a request was due, so queueing behind a
 * slow response shows up (closed-loop clients hide it, "coordinated omission").
 */
async function run(request: LoadRequest): Promise<LoadSample[]> {
  const samples: LoadSample[] = [];
  const started = performance.now();
  const interval = 1000 / request.ratePerSecond;
  const total = Math.floor((request.durationMs / 1000) * request.ratePerSecond);
  const inFlight: Promise<void>[] = [];
  // node:http with keep-alive costs the generator far less CPU per request than fetch.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

  let stopped = false;
  parentPort?.once('message', () => (stopped = true));
  for (let n = 0; n < total && !stopped; n++) {
    const dueMs = n * interval;
    const wait = started + dueMs - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    const url = request.urls[n % request.urls.length];
    inFlight.push(
      get(agent, url, request.headers).then(
        ({ status, body }) => {
          const parsed = status === 200 ? (JSON.parse(body) as { modelVersion?: string }) : {};
          samples.push({
            dueMs,
            latencyMs: performance.now() - started - dueMs,
            status,
            modelVersion: parsed.modelVersion ?? '',
          });
        },
        () => {
          samples.push({
            dueMs,
            latencyMs: performance.now() - started - dueMs,
            status: 0,
            modelVersion: '',
          });
        },
      ),
    );
  }
  await Promise.all(inFlight);
  agent.destroy();
  return samples;
}

function get(
  agent: http.Agent,
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent, headers }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      response.on('error', reject);
    });
    request.on('error', reject);
  });
}

if (parentPort) {
  const port = parentPort;
  void run(workerData as LoadRequest).then((samples) => port.postMessage(samples));
}
