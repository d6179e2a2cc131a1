import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyDatabaseError } from './errors.js';

const withCode = (code: string) => Object.assign(new Error(`sqlstate ${code}`), { code });

describe('ingest > classifyDatabaseError', () => {
  it('blames the data for cardinality, data and constraint errors', () => {
    // 21000: ON CONFLICT DO UPDATE would touch one row twice (two ids stored as one).
    for (const code of ['21000', '22001', '22P02', '22009', '23505']) {
      assert.equal(classifyDatabaseError(withCode(code)), 'data', code);
    }
  });

  it('blames the data for a value that cannot become a parameter', () => {
    assert.equal(classifyDatabaseError(new RangeError('Invalid time value')), 'data');
  });

  it('retries connection, concurrency and resource errors, and errors without a SQLSTATE', () => {
    for (const code of ['08006', '40001', '40P01', '53300', '57P01']) {
      assert.equal(classifyDatabaseError(withCode(code)), 'retriable', code);
    }
    assert.equal(
      classifyDatabaseError(new Error('Connection terminated unexpectedly')),
      'retriable',
    );
  });

  it('treats other SQLSTATEs (a missing table, say) as fatal', () => {
    assert.equal(classifyDatabaseError(withCode('42P01')), 'fatal');
  });
});
