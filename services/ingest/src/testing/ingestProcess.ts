import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const mainPath = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../main.js');

/** One pino log line of the child. */
export type LogLine = Record<string, unknown> & { msg?: string; level?: number };

/** The compiled ingest service (dist/main.js) running as a child process. */
export interface IngestProcess {
  child: ChildProcess;
  /** The HTTP port it listens on. */
  port: number;
  logs: LogLine[];
  waitForLog(predicate: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** Sends a signal and resolves with the exit code and signal once the process is gone. */
  kill(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts dist/main.js with `env` on top of this process's environment and waits for its
 * "ingest ready" log line (HTTP listening, consumer subscribed).
 */
export async function spawnIngest(
  env: Record<string, string>,
  options: { readyTimeoutMs?: number; echo?: boolean; nodeArgs?: string[] } = {},
): Promise<IngestProcess> {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), mainPath], {
    env: { ...process.env, LOG_LEVEL: 'info', PORT: '0', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const logs: LogLine[] = [];
  const waiters = new Set<(line: LogLine) => void>();
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );

  // INGEST_TEST_LOG_DIR keeps each child's log in <dir>/ingest-<pid>.log for a post-mortem.
  const logFile = process.env.INGEST_TEST_LOG_DIR
    ? createWriteStream(path.join(process.env.INGEST_TEST_LOG_DIR, `ingest-${child.pid}.log`))
    : undefined;
  createInterface({ input: child.stderr! }).on('line', (text) => {
    if (options.echo) process.stderr.write(`${text}\n`);
    logFile?.write(`${text}\n`);
    let line: LogLine;
    try {
      line = JSON.parse(text) as LogLine;
    } catch {
      line = { msg: text };
    }
    logs.push(line);
    for (const waiter of waiters) waiter(line);
  });

  const waitForLog = (predicate: (line: LogLine) => boolean, timeoutMs = 30_000) => {
    const seen = logs.find(predicate);
    if (seen) return Promise.resolve(seen);
    return new Promise<LogLine>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`no matching log line within ${timeoutMs} ms; last: ${tail(logs)}`));
      }, timeoutMs);
      const check = (line: LogLine) => {
        if (!predicate(line)) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve(line);
      };
      waiters.add(check);
      void exit.then(({ code, signal }) => {
        if (!waiters.has(check)) return;
        clearTimeout(timer);
        waiters.delete(check);
        reject(new Error(`ingest exited (${code ?? signal}) before the log line; ${tail(logs)}`));
      });
    });
  };

  const ready = await waitForLog((line) => line.msg === 'ingest ready', options.readyTimeoutMs);
  return {
    child,
    port: Number(ready.port),
    logs,
    waitForLog,
    async kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exit;
    },
  };
}

function tail(logs: LogLine[]): string {
  return logs
    .slice(-5)
    .map((line) => JSON.stringify(line))
    .join('\n');
}
