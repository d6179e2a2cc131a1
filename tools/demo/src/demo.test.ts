import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { createPool, quoteIdentifier } from '@cml-rec/shared/db/pool';
import { testDatabaseUrl } from '@cml-rec/shared/db/testing';
import { freePort } from './testing.js';

const demoScript = path.join(path.dirname(fileURLToPath(import.meta.url)), 'demo.js');

interface Summary {
  training: {
    version: string;
    metrics: {
      cml: { at: Record<string, { recall: number }> };
      popularity: { at: Record<string, { recall: number }> };
    };
  };
  latency: { medianMs: number; requests: number };
}

describe('demo > end to end', () => {
  const schema = `e2e_${process.pid}_${randomBytes(3).toString('hex')}`;
  let folder: string | undefined;
  after(async () => {
    const pool = createPool({ connectionString: testDatabaseUrl });
    await pool.query(`DROP SCHEMA IF EXISTS ${quoteIdentifier(schema)} CASCADE`);
    await pool.end();
    if (folder) await rm(folder, { recursive: true, force: true });
  });

  it('imports synthetic data, trains, serves, and beats popularity on the planted clusters', async () => {
    folder = await mkdtemp(path.join(tmpdir(), 'cml-demo-'));
    const summaryFile = path.join(folder, 'summary.json');
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [demoScript, '--exit', '--epochs', '5', '--port', String(port), '--summary', summaryFile],
      {
        env: {
          ...process.env,
          DATABASE_URL: testDatabaseUrl,
          DATABASE_SCHEMA: schema,
          CMLREC_DATA_DIR: folder,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(code, 0, `demo failed:\n${output}`);

    const summary = JSON.parse(await readFile(summaryFile, 'utf8')) as Summary;
    const cml = summary.training.metrics.cml.at['50'].recall;
    const popularity = summary.training.metrics.popularity.at['50'].recall;
    assert.ok(
      cml > 2 * popularity,
      `CML recall@50 ${cml} is not far above popularity's ${popularity}`,
    );
    assert.equal(summary.latency.requests, 200);
    assert.match(output, /Recall@50/);
    assert.match(output, new RegExp(`"modelVersion": "${summary.training.version}"`));
  });
});
