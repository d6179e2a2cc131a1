import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AppError } from '../errors.js';
import { createTestDatabase, type TestDatabase } from '../db/testing.js';
import {
  ACTIVATION_CHANNEL,
  activateVersion,
  getActiveVersion,
  getLatestVersion,
  getRollbackTarget,
  getVersion,
  listVersionEvents,
  registerVersion,
  rejectVersion,
  rollbackVersion,
  type NewModelVersion,
} from './registry.js';

function version(id: string): NewModelVersion {
  return {
    id,
    dataSnapshot: {
      interactionCount: 10,
      latestTimestamp: null,
      maxInteractionId: 10,
      users: 2,
      items: 3,
      positives: 4,
    },
    hyperparameters: { dim: 8 },
    metrics: { cml: { at: { 50: { recall: 0.5 } } } },
    artifactUri: `/artifacts/${id}`,
    checksum: 'ab'.repeat(32),
  };
}

function hasCode(code: string) {
  return (error: unknown) => {
    assert.ok(error instanceof AppError, `expected an AppError, got ${String(error)}`);
    assert.equal(error.code, code);
    return true;
  };
}

describe('registry > versions', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase('registry');
  });
  after(async () => {
    await db.drop();
  });

  it('registers a candidate with a registered event and no promotion', async () => {
    const registered = await registerVersion(db.pool, version('a'));
    assert.equal(registered.status, 'candidate');
    assert.equal(registered.promotedAt, null);
    assert.equal(registered.previousActive, null);
    assert.deepEqual(
      (await listVersionEvents(db.pool, 'a')).map((event) => event.event),
      ['registered'],
    );
    assert.equal((await getLatestVersion(db.pool))?.id, 'a');
  });

  it('activates in turn, retiring the previous version and remembering it', async () => {
    const first = await activateVersion(db.pool, 'a', 'first');
    assert.deepEqual(first, { changed: true, previousActive: null });
    await registerVersion(db.pool, version('b'));
    const second = await activateVersion(db.pool, 'b', 'better', { expectedActive: 'a' });
    assert.deepEqual(second, { changed: true, previousActive: 'a' });

    const a = await getVersion(db.pool, 'a');
    const b = await getVersion(db.pool, 'b');
    assert.equal(a?.status, 'retired');
    assert.equal(a?.statusReason, 'replaced by b');
    assert.equal(b?.status, 'active');
    assert.equal(b?.previousActive, 'a');
    assert.ok(b?.promotedAt instanceof Date);
    assert.deepEqual(
      (await listVersionEvents(db.pool, 'a')).map((event) => event.event),
      ['registered', 'activated', 'retired'],
    );
    assert.deepEqual(await activateVersion(db.pool, 'b', 'again'), {
      changed: false,
      previousActive: null,
    });
  });

  it('refuses to switch when the active version is not the one the caller expected', async () => {
    await registerVersion(db.pool, version('c'));
    await assert.rejects(
      activateVersion(db.pool, 'c', 'stale decision', { expectedActive: 'a' }),
      hasCode('ACTIVE_VERSION_CHANGED'),
    );
    assert.equal((await getActiveVersion(db.pool))?.id, 'b');
    assert.equal((await getVersion(db.pool, 'c'))?.status, 'candidate');
  });

  it('keeps a rejected version a candidate with the reason and the details', async () => {
    await rejectVersion(db.pool, 'c', 'promotion gate: recall too low', { checks: [1] });
    const c = await getVersion(db.pool, 'c');
    assert.equal(c?.status, 'candidate');
    assert.equal(c?.statusReason, 'promotion gate: recall too low');
    const events = await listVersionEvents(db.pool, 'c');
    assert.equal(events.at(-1)?.event, 'rejected');
    assert.deepEqual(events.at(-1)?.details, { checks: [1] });
    await assert.rejects(rejectVersion(db.pool, 'nope', 'x'), hasCode('VERSION_NOT_FOUND'));
  });

  it('serializes concurrent activations so exactly one version ends up active', async () => {
    await registerVersion(db.pool, version('d'));
    await Promise.all([
      activateVersion(db.pool, 'c', 'race c'),
      activateVersion(db.pool, 'd', 'race d'),
    ]);
    const { rows } = await db.pool.query<{ id: string }>(
      "SELECT id FROM model_versions WHERE status = 'active'",
    );
    assert.equal(rows.length, 1);
  });

  it('rolls back step by step through the promotion history and announces each switch', async () => {
    // History so far: a -> b -> (c, d in some order). Make it deterministic: activate e after.
    await registerVersion(db.pool, version('e'));
    const before = (await getActiveVersion(db.pool))?.id;
    await activateVersion(db.pool, 'e', 'newest');

    const listener = await db.pool.connect();
    const notified: string[] = [];
    listener.on('notification', (message) => notified.push(message.payload ?? ''));
    await listener.query(`LISTEN ${ACTIVATION_CHANNEL}`);
    try {
      const target = await getRollbackTarget(db.pool);
      assert.equal(target.active.id, 'e');
      assert.equal(target.target.id, before);

      assert.deepEqual(await rollbackVersion(db.pool, 'bad clicks', { expectedActive: 'e' }), {
        from: 'e',
        to: before,
      });
      const e = await getVersion(db.pool, 'e');
      assert.equal(e?.status, 'retired');
      assert.equal(e?.statusReason, `rolled back to ${before}: bad clicks`);
      assert.equal((await listVersionEvents(db.pool, 'e')).at(-1)?.event, 'rolled_back');

      // The next rollback goes further back, not back to e.
      const next = await rollbackVersion(db.pool, 'still bad');
      assert.notEqual(next.to, 'e');
      assert.equal(next.from, before);
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.deepEqual(notified, [before, next.to]);
    } finally {
      listener.release();
    }
  });

  it('refuses a rollback when there is nothing to return to', async () => {
    let guard = 0;
    for (;;) {
      const active = await getActiveVersion(db.pool);
      if (!active?.previousActive) break;
      await rollbackVersion(db.pool, 'unwind');
      assert.ok(++guard < 10, 'rollback chain does not end');
    }
    await assert.rejects(rollbackVersion(db.pool, 'one too many'), hasCode('NO_ROLLBACK_TARGET'));
    await assert.rejects(getRollbackTarget(db.pool), hasCode('NO_ROLLBACK_TARGET'));
    assert.equal((await getActiveVersion(db.pool))?.id, 'a');
  });
});
