/**
 * The benchmarks' open-loop HTTP load generator. `startLoad` (common.ts) runs this file as a
 * process of its own, as an external client would be: the server under test shares neither
 * its event loop, its heap nor its garbage collector with the generator.
 *
 * Open loop: request n is due at n / rate seconds whatever the server's speed, and its latency
 * counts from that moment, so queueing behind a slow response shows in the figures (a
 * closed-loop client, which sends when the previous answer arrives, hides it: "coordinated
 * omission").
 *
 * The client is kept cheap so that it steals as little CPU as possible from the server on a
 * 2-core machine: a pool of keep-alive connections opened before the clock starts (a new TCP
 * connection in the middle of a stall would add its handshake to the tail), Nagle off, each
 * request's bytes built once, and responses read by a small HTTP/1.1 parser that only looks
 * at the status, the body's length and the model version.
 */
import net from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';

/** What a benchmark asks the load generator for. */
export interface LoadRequest {
  /** Full URLs on one origin (http, loopback), requested round-robin. */
  urls: string[];
  headers: Record<string, string>;
  ratePerSecond: number;
  /** Stop after this long, or earlier when `stop()` is called. */
  durationMs: number;
  /** Keep-alive connections in the pool (default 64); a request due while all are busy waits. */
  connections?: number;
}

/** One request: when it was due (ms since the run started), its latency and status. */
export interface LoadSample {
  dueMs: number;
  latencyMs: number;
  /** The HTTP status, or 0 when the request itself failed (a reset connection). */
  status: number;
  /** The body's `modelVersion`, when it has one. */
  modelVersion: string;
}

/** The samples and what the generator itself cost: a busy generator distorts the figures. */
export interface LoadResult {
  samples: LoadSample[];
  /**
   * When request 0 was due, in ms since the epoch (`performance.timeOrigin` based, sub-ms):
   * the clock another process can place its own events on, since `dueMs` counts from here.
   */
  startedAtMs: number;
  /** CPU time of the generator's process while it ran, as a share of one core. */
  clientCpuShare: number;
  /** The generator's own event-loop delay (ms): its timers firing late delays requests. */
  clientLoopP99Ms: number;
  clientLoopMaxMs: number;
}

export type LoadMessage = { start: LoadRequest } | 'stop';

interface Pending {
  dueMs: number;
  /** When the request was written (ms since the run started). */
  sentMs: number;
  bytes: Buffer;
}

const HEADER_END = Buffer.from('\r\n\r\n');

/**
 * One keep-alive connection carrying one request at a time. `onDone` is called with each
 * response's status and model version, or status 0 when the connection failed mid-request.
 */
class Connection {
  private readonly socket: net.Socket;
  private buffered: Buffer = Buffer.alloc(0);
  private bodyLength = -1;
  private status = 0;
  private chunked = false;
  private current: Pending | undefined;

  constructor(
    host: string,
    port: number,
    private readonly onDone: (pending: Pending, status: number, body: string) => void,
    onClose: (connection: Connection) => void,
  ) {
    this.socket = net.connect({ host, port, noDelay: true, keepAlive: true });
    this.socket.on('data', (chunk: Buffer) => this.read(chunk));
    this.socket.on('error', () => undefined);
    this.socket.on('close', () => {
      const failed = this.current;
      this.current = undefined;
      if (failed) this.onDone(failed, 0, '');
      onClose(this);
    });
  }

  connected(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.once('connect', resolve);
      this.socket.once('error', reject);
    });
  }

  send(pending: Pending, sentMs: number): void {
    pending.sentMs = sentMs;
    this.current = pending;
    this.socket.write(pending.bytes);
  }

  close(): void {
    this.socket.destroy();
  }

  private read(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    for (;;) {
      if (this.bodyLength < 0 && !this.readHead()) return;
      const body = this.chunked ? this.readChunkedBody() : this.readSizedBody();
      if (body === undefined) return;
      const done = this.current;
      this.current = undefined;
      this.bodyLength = -1;
      if (done) this.onDone(done, this.status, body);
      if (this.buffered.length === 0) return;
    }
  }

  /** Parses the status line and headers once they are complete; false while they are not. */
  private readHead(): boolean {
    const end = this.buffered.indexOf(HEADER_END);
    if (end < 0) return false;
    const head = this.buffered.toString('latin1', 0, end);
    this.buffered = this.buffered.subarray(end + HEADER_END.length);
    this.status = Number(head.slice(9, 12));
    this.chunked = /\r\ntransfer-encoding:[^\r]*chunked/i.test(head);
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    this.bodyLength = this.chunked ? 0 : Number(length?.[1] ?? 0);
    return true;
  }

  private readSizedBody(): string | undefined {
    if (this.buffered.length < this.bodyLength) return undefined;
    const body = this.buffered.toString('utf8', 0, this.bodyLength);
    this.buffered = this.buffered.subarray(this.bodyLength);
    return body;
  }

  /** A chunked body once its last (zero-length) chunk has arrived. */
  private readChunkedBody(): string | undefined {
    const parts: Buffer[] = [];
    let offset = 0;
    for (;;) {
      const lineEnd = this.buffered.indexOf('\r\n', offset);
      if (lineEnd < 0) return undefined;
      const size = parseInt(this.buffered.toString('latin1', offset, lineEnd), 16);
      const dataStart = lineEnd + 2;
      if (size === 0) {
        const trailerEnd = this.buffered.indexOf('\r\n', dataStart);
        if (trailerEnd < 0) return undefined;
        this.buffered = this.buffered.subarray(trailerEnd + 2);
        return Buffer.concat(parts).toString('utf8');
      }
      if (this.buffered.length < dataStart + size + 2) return undefined;
      parts.push(this.buffered.subarray(dataStart, dataStart + size));
      offset = dataStart + size + 2;
    }
  }
}

const MODEL_VERSION = /"modelVersion":"([^"]*)"/;

async function run(request: LoadRequest, stopped: () => boolean): Promise<LoadResult> {
  const origin = new URL(request.urls[0]);
  const host = origin.hostname;
  const port = Number(origin.port || 80);
  const headerLines = Object.entries(request.headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  const requests = request.urls.map((url) => {
    const { pathname, search } = new URL(url);
    return Buffer.from(
      `GET ${pathname}${search} HTTP/1.1\r\nHost: ${host}:${port}\r\n${headerLines}\r\n`,
      'latin1',
    );
  });

  const samples: LoadSample[] = [];
  const idle: Connection[] = [];
  const waiting: Pending[] = [];
  let started = 0;
  let outstanding = 0;
  let allSent = false;
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (finish = resolve));

  const dispatch = (connection: Connection) => {
    const next = waiting.shift();
    if (next) connection.send(next, now());
    else idle.push(connection);
  };
  const now = () => performance.now() - started;
  const onDone = (pending: Pending, status: number, body: string) => {
    samples.push({
      dueMs: pending.dueMs,
      // From when it was due, or from when it was sent if that was earlier: timers fire at
      // millisecond granularity, so a request can leave up to a millisecond early.
      latencyMs: now() - Math.min(pending.dueMs, pending.sentMs),
      status,
      modelVersion: status === 200 ? (MODEL_VERSION.exec(body)?.[1] ?? '') : '',
    });
    outstanding--;
    if (allSent && outstanding === 0) finish();
  };
  const connections = new Set<Connection>();
  const open = (): Connection => {
    const connection: Connection = new Connection(
      host,
      port,
      (pending, status, body) => {
        onDone(pending, status, body);
        if (status !== 0) dispatch(connection);
      },
      (closed) => {
        // The server closed a connection: forget it and open a replacement.
        connections.delete(closed);
        const position = idle.indexOf(closed);
        if (position >= 0) idle.splice(position, 1);
        if (!allSent) {
          const replacement = open();
          void replacement.connected().then(
            () => dispatch(replacement),
            () => undefined,
          );
        }
      },
    );
    connections.add(connection);
    return connection;
  };

  const pool = Array.from({ length: request.connections ?? 64 }, open);
  await Promise.all(pool.map((connection) => connection.connected()));
  idle.push(...pool);

  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const cpuBefore = process.cpuUsage();
  started = performance.now();
  const interval = 1000 / request.ratePerSecond;
  const total = Math.floor((request.durationMs / 1000) * request.ratePerSecond);
  for (let n = 0; n < total && !stopped(); n++) {
    const dueMs = n * interval;
    const wait = started + dueMs - performance.now();
    if (wait >= 1) await new Promise((resolve) => setTimeout(resolve, wait));
    outstanding++;
    const pending = { dueMs, sentMs: dueMs, bytes: requests[n % requests.length] };
    const connection = idle.pop();
    if (connection) connection.send(pending, now());
    else waiting.push(pending);
  }
  allSent = true;
  if (outstanding > 0) await finished;
  const elapsedMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  loop.disable();
  for (const connection of connections) connection.close();

  return {
    samples,
    startedAtMs: performance.timeOrigin + started,
    clientCpuShare: (cpu.user + cpu.system) / 1000 / elapsedMs,
    clientLoopP99Ms: loop.percentile(99) / 1e6,
    clientLoopMaxMs: loop.max / 1e6,
  };
}

// Forked by startLoad: the request arrives as a message, the result goes back the same way.
if (process.send) {
  let stopped = false;
  process.once('disconnect', () => process.exit(1));
  process.on('message', (message: LoadMessage) => {
    if (message === 'stop') {
      stopped = true;
      return;
    }
    void run(message.start, () => stopped).then((result) => {
      process.send?.(result, () => process.exit(0));
    });
  });
}
