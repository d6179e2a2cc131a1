import pg from 'pg';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

export interface PoolOptions {
  /** Connection URL, e.g. postgres://user@127.0.0.1:5432/cmlrec */
  connectionString: string;
  /**
   * PostgreSQL schema that holds cml-rec's tables (default `public`). Tests give every run
   * its own schema so that they never see each other's rows.
   */
  schema?: string;
  /** Upper bound on open connections. */
  max?: number;
}

/** A pg pool whose connections all use the configured schema. */
export function createPool({ connectionString, schema, max = 10 }: PoolOptions): Pool {
  const options = schema ? `-c search_path=${quoteIdentifier(schema)}` : undefined;
  const pool = new pg.Pool({ connectionString, options, max });

  // An idle client whose server connection dies (restart, pg_terminate_backend) emits an
  // error on the pool; without a listener that would crash the process. The next query
  // gets a fresh connection, so there is nothing more to do here.
  pool.on('error', () => undefined);
  // pg-pool removes its own listener when it hands a client out, and an error arriving in the
  // same network read as the previous query's end can reach the client before its user
  // attaches one: every client keeps a permanent listener. The failed query still rejects,
  // and withTransaction drops the broken client on release.
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
  });
  return pool;
}

/**
 * Runs `work` inside one transaction on one connection, rolling back when it throws. A
 * connection that died meanwhile (pg_terminate_backend, a server restart) is destroyed on
 * release instead of going back to the pool.
 */
export async function withTransaction<T>(
  pool: Pool,
  work: (client: PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const onError = (error: Error) => {
    broken = error;
  };
  client.on('error', onError);
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch((rollbackError: Error) => {
      broken ??= rollbackError;
    });
    throw error;
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}

export function quoteIdentifier(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(name)) {
    throw new Error(`invalid SQL identifier ${JSON.stringify(name)}: use letters, digits and _`);
  }
  return `"${name}"`;
}
