import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FileArtifactStore } from '@cml-rec/shared/artifacts/store';
import { initTables } from '@cml-rec/shared/cml/tables';
import { createTestDatabase, type TestDatabase } from '@cml-rec/shared/db/testing';
import { AppError } from '@cml-rec/shared/errors';
import { silentLogger } from '@cml-rec/shared/logging/logger';
import { EMBEDDINGS, writeModelVersion } from '@cml-rec/shared/model/version-files';
import {
  getActiveVersion,
  getVersion,
  listVersionEvents,
  registerVersion,
} from '@cml-rec/shared/registry/registry';
import {
  defaultGate,
  evaluateGate,
  loadGateConfig,
  parseGateSpec,
  promoteVersion,
  readMetric,
  rollbackActive,
  takeOptions,
} from './gate.js';

function metrics(recall50: number, ndcg10: number) {
  return { cml: { users: 10, at: { 10: { ndcg: ndcg10 }, 50: { recall: recall50 } } } };
}

describe('trainer > gate > decision', () => {
  it('passes the first version, with nothing to compare', () => {
    const decision = evaluateGate({ id: 'b', metrics: metrics(0, 0) }, undefined, defaultGate);
    assert.equal(decision.passed, true);
    assert.equal(decision.comparedWith, null);
    assert.match(decision.reason, /first version/);
  });

  it('passes a candidate within the tolerance below the active version', () => {
    const active = { id: 'a', metrics: metrics(0.3, 0.2) };
    const decision = evaluateGate({ id: 'b', metrics: metrics(0.295, 0.25) }, active, defaultGate);
    assert.equal(decision.passed, true);
    assert.deepEqual(
      decision.checks.map((check) => check.passed),
      [true, true],
    );
  });

  it('fails a candidate more than the tolerance below, naming the metric and the values', () => {
    const active = { id: 'a', metrics: metrics(0.3, 0.2) };
    const decision = evaluateGate({ id: 'b', metrics: metrics(0.25, 0.2) }, active, defaultGate);
    assert.equal(decision.passed, false);
    assert.equal(
      decision.reason,
      'promotion gate failed against a: cml.at.50.recall 0.2500 < 0.3000 - 0.01 = 0.2900',
    );
  });

  it('fails a candidate without the metric and passes when only the active one lacks it', () => {
    const config = parseGateSpec('validation.at.50.recall');
    const without = { id: 'x', metrics: metrics(0.3, 0.2) };
    const withIt = { id: 'y', metrics: { validation: { at: { 50: { recall: 0.1 } } } } };
    assert.equal(evaluateGate(without, withIt, config).passed, false);
    assert.equal(evaluateGate(withIt, without, config).passed, true);
  });

  it('reads metrics stored flat and, for older versions, nested under metrics', () => {
    assert.equal(readMetric(metrics(0.4, 0.1), 'cml.at.50.recall'), 0.4);
    assert.equal(readMetric({ metrics: metrics(0.4, 0.1) }, 'cml.at.10.ndcg'), 0.1);
    assert.equal(readMetric(metrics(0.4, 0.1), 'cml.at.20.recall'), null);
  });
});

describe('trainer > gate > configuration', () => {
  it('parses metric[:tolerance] lists with a default tolerance', () => {
    assert.deepEqual(parseGateSpec('a.b:0.05, c', 0.002).checks, [
      { metric: 'a.b', tolerance: 0.05 },
      { metric: 'c', tolerance: 0.002 },
    ]);
    assert.throws(() => parseGateSpec('a.b:-1'), /tolerance/);
    assert.throws(() => parseGateSpec('a b'), /metric\[:tolerance\]/);
    assert.throws(() => parseGateSpec(' , '), /at least one metric/);
  });

  it('takes flags over environment over defaults', () => {
    assert.deepEqual(loadGateConfig({}, {}), defaultGate);
    const env = { PROMOTION_GATE: 'x.y', PROMOTION_TOLERANCE: '0.2' };
    assert.deepEqual(loadGateConfig({}, env).checks, [{ metric: 'x.y', tolerance: 0.2 }]);
    assert.deepEqual(loadGateConfig({ gate: 'z:0', tolerance: '0.3' }, env).checks, [
      { metric: 'z', tolerance: 0 },
    ]);
  });

  it('takes its own options out of argv and leaves the rest in order', () => {
    const { values, rest } = takeOptions(
      ['--dim', '8', '--gate=a.b', '--force-activate', '--epochs', '2', '--tolerance', '0.1'],
      {
        gate: { type: 'string' },
        tolerance: { type: 'string' },
        'force-activate': { type: 'boolean' },
      },
    );
    assert.deepEqual(values, { gate: 'a.b', tolerance: '0.1', 'force-activate': true });
    assert.deepEqual(rest, ['--dim', '8', '--epochs', '2']);
  });
});

describe('trainer > gate > promotion', () => {
  let db: TestDatabase;
  let folder: string;
  let store: FileArtifactStore;
  before(async () => {
    db = await createTestDatabase('gate');
    folder = await mkdtemp(path.join(tmpdir(), 'cml-gate-'));
    store = new FileArtifactStore(folder);
  });
  after(async () => {
    await db.drop();
    await rm(folder, { recursive: true, force: true });
  });

  async function register(id: string, recall: number, ndcg: number) {
    const tables = initTables(6, 5, 4, { seed: id.length });
    const ids = { users: ['u1', 'u2', 'u3', 'u4', 'u5', 'u6'], items: ['a', 'b', 'c', 'd', 'e'] };
    const written = await writeModelVersion(store, id, tables, ids);
    await registerVersion(db.pool, {
      id,
      dataSnapshot: {
        interactionCount: 1,
        latestTimestamp: null,
        maxInteractionId: 1,
        users: 6,
        items: 5,
        positives: 1,
      },
      hyperparameters: {},
      metrics: metrics(recall, ndcg),
      artifactUri: written.artifactUri,
      checksum: written.checksum,
    });
  }
  const promote = (id: string, force = false) =>
    promoteVersion(db.pool, store, id, { gate: defaultGate, force, actor: 'test' }, silentLogger);

  it('promotes the first version and a candidate that is as good', async () => {
    await register('v1', 0.3, 0.2);
    assert.equal((await promote('v1')).outcome, 'promoted');
    await register('v2', 0.3, 0.2);
    const result = await promote('v2');
    assert.equal(result.outcome, 'promoted');
    assert.equal((await getVersion(db.pool, 'v2'))?.previousActive, 'v1');
    assert.equal((await promote('v2')).outcome, 'already-active');
  });

  it('keeps a worse candidate with the reason, and activates it only when forced', async () => {
    await register('v3', 0.1, 0.2);
    const result = await promote('v3');
    assert.equal(result.outcome, 'rejected');
    const v3 = await getVersion(db.pool, 'v3');
    assert.equal(v3?.status, 'candidate');
    assert.match(v3?.statusReason ?? '', /^promotion gate failed against v2: cml\.at\.50\.recall/);
    assert.equal((await getActiveVersion(db.pool))?.id, 'v2');
    assert.equal((await listVersionEvents(db.pool, 'v3')).at(-1)?.event, 'rejected');

    const forced = await promote('v3', true);
    assert.equal(forced.outcome, 'promoted');
    assert.match((await getVersion(db.pool, 'v3'))?.statusReason ?? '', /^forced by test despite/);
  });

  it('refuses to promote or roll back to a version whose artifacts are truncated', async () => {
    await register('v4', 0.5, 0.5);
    const file = path.join(folder, 'v4', EMBEDDINGS);
    await truncate(file, (await readFile(file)).length - 100);
    await assert.rejects(promote('v4', true), (error: unknown) => {
      assert.ok(error instanceof AppError);
      assert.equal(error.code, 'ARTIFACT_CORRUPT');
      assert.match(error.message, /version v4 cannot be activated: .*does not match its recorded/);
      return true;
    });
    assert.equal((await getActiveVersion(db.pool))?.id, 'v3');

    // v3's rollback target is v2; damage it and the rollback is refused, v3 keeps serving.
    const v2 = path.join(folder, 'v2', EMBEDDINGS);
    const original = await readFile(v2);
    await truncate(v2, 10);
    await assert.rejects(
      rollbackActive(db.pool, store, 'test', silentLogger),
      /version v2 cannot be activated/,
    );
    assert.equal((await getActiveVersion(db.pool))?.id, 'v3');
    await (await import('node:fs/promises')).writeFile(v2, original);
    assert.deepEqual(await rollbackActive(db.pool, store, 'test', silentLogger), {
      from: 'v3',
      to: 'v2',
    });
  });
});
