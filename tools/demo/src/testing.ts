import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPool, quoteIdentifier } from '@cml-rec/shared/db/pool';
import { testDatabaseUrl } from '@cml-rec/shared/db/testing';

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/**
 * A place for one end-to-end run: a private schema on the test server and a temporary data
 * folder, passed to the tool through its environment, both removed by `cleanUp`.
 */
export interface ToolRun {
  folder: string;
  run(
    script: string,
    args: string[],
    env?: NodeJS.ProcessEnv,
  ): Promise<{ code: number | null; output: string }>;
  cleanUp(): Promise<void>;
}

export async function prepareToolRun(prefix: string): Promise<ToolRun> {
  const schema = `${prefix}_${process.pid}_${randomBytes(3).toString('hex')}`;
  const folder = await mkdtemp(path.join(tmpdir(), `cml-${prefix}-`));
  const directory = path.dirname(fileURLToPath(import.meta.url));

  return {
    folder,
    run(script, args, env = {}) {
      const child = spawn(process.execPath, [path.join(directory, script), ...args], {
        env: {
          ...process.env,
          DATABASE_URL: testDatabaseUrl,
          DATABASE_SCHEMA: schema,
          CMLREC_DATA_DIR: folder,
          ...env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      return new Promise((resolve) => child.once('exit', (code) => resolve({ code, output })));
    },
    async cleanUp() {
      const pool = createPool({ connectionString: testDatabaseUrl });
      await pool.query(`DROP SCHEMA IF EXISTS ${quoteIdentifier(schema)} CASCADE`);
      await pool.end();
      await rm(folder, { recursive: true, force: true });
    },
  };
}
