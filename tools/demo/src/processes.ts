import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, from tools/demo/dist. */
export const repositoryRoot = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../..',
);

/**
 * The glibc malloc settings the recommender's image carries (see services/recommender/Dockerfile):
 * freed memory goes back to the system instead of staying in per-thread arenas after a model
 * version is swapped out. glibc reads them at process start, so they are given to the child.
 */
export const allocatorEnv = {
  MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2',
  MALLOC_TRIM_THRESHOLD_: process.env.MALLOC_TRIM_THRESHOLD_ ?? '1048576',
};

/** Starts one of the repository's compiled scripts with this Node.js. */
export function startScript(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  captureOutput = false,
): ChildProcess {
  return spawn(process.execPath, [path.join(repositoryRoot, script), ...args], {
    env,
    stdio: ['ignore', captureOutput ? 'pipe' : 'inherit', 'inherit'],
  });
}

/** Runs a script to completion; resolves with its stdout (when captured) and exit code. */
export function runScript(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  options: { captureOutput?: boolean; allowedCodes?: number[] } = {},
): Promise<{ output: string; code: number }> {
  const allowed = options.allowedCodes ?? [0];
  return new Promise((resolve, reject) => {
    const child = startScript(script, args, env, options.captureOutput);
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) =>
      code !== null && allowed.includes(code)
        ? resolve({ output, code })
        : reject(new Error(`${script} ${args.join(' ')} exited with code ${code}`)),
    );
  });
}

/** Polls `url` until it answers 2xx, the process exits, or `timeoutMs` passes. */
export async function waitForHttp(
  url: string,
  process: ChildProcess,
  timeoutMs = 120_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (process.exitCode !== null)
      throw new Error(`${url}: the process exited with code ${process.exitCode}`);
    const response = await fetch(url).catch(() => undefined);
    if (response?.ok) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`${url} did not answer within ${timeoutMs / 1000} s`);
}

/** Sends SIGTERM and waits (bounded) for the process to exit. */
export async function stopProcess(child: ChildProcess, timeoutMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
}
