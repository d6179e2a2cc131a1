import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createTestDatabase, type TestDatabase } from '@cml-rec/shared/db/testing';
import { importInteractions, type Rejection } from './import-interactions.js';
import { importItemFeatures } from './import-items.js';

describe('ingest > import', () => {
  let db: TestDatabase;
  let folder: string;
  before(async () => {
    db = await createTestDatabase('import');
    folder = await mkdtemp(path.join(tmpdir(), 'cml-import-'));
  });
  after(async () => {
    await db.drop();
    await rm(folder, { recursive: true, force: true });
  });

  it('imports good lines, reports every bad one by number and reason, and is idempotent', async () => {
    const file = path.join(folder, 'u.data');
    await writeFile(
      file,
      [
        '1\t10\t5\t881250949',
        '1\t11\t3\t881250950',
        'oops',
        '2\t10\t4\t881250951',
        '2\t10\t4\t881250951', // the same event twice in one file
        '3\tx\t4\t881250952',
        '3\t12\t7\t881250953',
        '',
      ].join('\n'),
    );
    const rejections: Rejection[] = [];
    const options = {
      file,
      format: 'movielens' as const,
      ratingRange: [1, 5] as [number, number],
      batchSize: 2,
      onRejected: (rejection: Rejection) => rejections.push(rejection),
    };

    const first = await importInteractions(db.pool, options);
    assert.deepEqual(
      {
        lines: first.lines,
        imported: first.imported,
        duplicates: first.duplicates,
        rejected: first.rejected,
      },
      { lines: 7, imported: 3, duplicates: 1, rejected: 3 },
    );
    assert.deepEqual(
      rejections.map(({ lineNumber, reason }) => [lineNumber, reason]),
      [
        [3, 'expected 4 fields (user, item, rating, timestamp), found 1'],
        [6, 'item id "x" is not a positive integer'],
        [7, 'rating 7 is outside [1, 5]'],
      ],
    );

    const second = await importInteractions(db.pool, { ...options, onRejected: () => undefined });
    assert.equal(second.imported, 0);
    assert.equal(second.duplicates, 4);
    const { rows } = await db.pool.query('SELECT count(*)::int AS count FROM interactions');
    assert.equal(rows[0].count, 3);
  });

  it('merges genres and tags into item features and counts a re-import as unchanged', async () => {
    const itemsFile = path.join(folder, 'u.item');
    const flags = (on: number[]) =>
      Array.from({ length: 19 }, (_, n) => (on.includes(n) ? 1 : 0)).join('|');
    await writeFile(
      itemsFile,
      [
        `10|Toy Story (1995)|01-Jan-1995||http://x|${flags([3, 4, 5])}`,
        `11|Bad|01-Jan-1995||x|2|0`,
      ].join('\n'),
    );
    const tagsFile = path.join(folder, 'tags.csv');
    await writeFile(tagsFile, ['item,tag', '10,Pixar', '10,toys|fun', '12,'].join('\n'));

    const rejections: Rejection[] = [];
    const onRejected = (rejection: Rejection) => rejections.push(rejection);
    const genres = await importItemFeatures(db.pool, {
      file: itemsFile,
      format: 'movielens-items',
      onRejected,
    });
    const tags = await importItemFeatures(db.pool, {
      file: tagsFile,
      format: 'tags-csv',
      onRejected,
    });
    assert.equal(genres.rejected, 1);
    assert.equal(tags.rejected, 1);
    assert.deepEqual(
      rejections.map((r) => r.lineNumber),
      [2, 4],
    );

    const { rows } = await db.pool.query("SELECT features FROM items WHERE external_id = '10'");
    assert.deepEqual(rows[0].features, {
      title: 'Toy Story (1995)',
      genres: ['Animation', "Children's", 'Comedy'],
      tags: ['fun', 'pixar', 'toys'],
    });

    const again = await importItemFeatures(db.pool, {
      file: tagsFile,
      format: 'tags-csv',
      onRejected,
    });
    assert.deepEqual(
      { inserted: again.inserted, updated: again.updated, unchanged: again.unchanged },
      {
        inserted: 0,
        updated: 0,
        unchanged: 1,
      },
    );
  });
});
