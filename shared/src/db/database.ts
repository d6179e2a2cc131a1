import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { loadEnvConfig } from '../config/env.js';
import { redactUrl, type Logger } from '../logging/logger.js';
import { migrate } from './migrate.js';
import { createPool, type Pool } from './pool.js';

/** Where local state (the embedded cluster, model artifacts) lives unless configured. */
export const defaultDataRoot = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../.data',
);

const databaseConfigSchema = z.object({
  /** Server to use; when unset, the embedded PostgreSQL is started. */
  databaseUrl: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  /** Schema that holds the tables (default public). */
  databaseSchema: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'letters, digits and _ only')
    .optional(),
  /** Folder for local state: the embedded cluster's data and model artifacts. */
  dataDir: z.string().default(defaultDataRoot),
  /** TCP port of the embedded server on 127.0.0.1. */
  embeddedPort: z.coerce.number().int().min(1024).max(65535).default(54329),
});

export type DatabaseConfig = z.infer<typeof databaseConfigSchema>;

export function loadDatabaseConfig(env: NodeJS.ProcessEnv = process.env): DatabaseConfig {
  return loadEnvConfig(
    databaseConfigSchema,
    {
      databaseUrl: 'DATABASE_URL',
      databaseSchema: 'DATABASE_SCHEMA',
      dataDir: 'CMLREC_DATA_DIR',
      embeddedPort: 'EMBEDDED_PG_PORT',
    },
    env,
  );
}

export interface Database {
  pool: Pool;
  /** True when this process started the embedded server (and stops it on close). */
  embedded: boolean;
  connectionString: string;
  schema?: string;
  close(): Promise<void>;
}

/**
 * Connects to `DATABASE_URL`, or starts the embedded PostgreSQL when it is unset, and applies
 * pending migrations.
 */
export async function openDatabase(config: DatabaseConfig, logger: Logger): Promise<Database> {
  let connectionString = config.databaseUrl;
  let stopServer: (() => Promise<void>) | undefined;

  if (!connectionString) {
    // Imported only when needed: the embedded server's platform binaries are an optional
    // dependency that production images leave out.
    const { startEmbeddedPostgres } = await import('./embedded.js');
    const server = await startEmbeddedPostgres({
      dataDir: path.join(config.dataDir, 'postgres'),
      port: config.embeddedPort,
      database: 'cmlrec',
      logger,
    });
    connectionString = server.connectionString;
    stopServer = server.stop;
  }

  const pool = createPool({ connectionString, schema: config.databaseSchema });
  try {
    const applied = await migrate(pool, { schema: config.databaseSchema, logger });
    logger.info(
      { database: redactUrl(connectionString), schema: config.databaseSchema, applied },
      'database ready',
    );
  } catch (error) {
    await pool.end();
    await stopServer?.();
    throw error;
  }

  return {
    pool,
    embedded: stopServer !== undefined,
    connectionString,
    schema: config.databaseSchema,
    async close() {
      await pool.end();
      await stopServer?.();
    },
  };
}
