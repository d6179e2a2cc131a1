import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '@cml-rec/shared/errors';
import { apiKeyGuard } from '@cml-rec/shared/http/auth';
import { loadRecommenderConfig } from './config.js';

describe('recommender > config', () => {
  it('reads API keys as a comma list and keeps auth on unless AUTH_DISABLED is exactly true', () => {
    const config = loadRecommenderConfig({ API_KEYS: ' a , b,, ' });
    assert.deepEqual(config.apiKeys, ['a', 'b']);
    assert.equal(config.authDisabled, false);
    assert.equal(loadRecommenderConfig({ AUTH_DISABLED: 'true' }).authDisabled, true);
    for (const value of ['1', 'yes', 'TRUE', 'on']) {
      assert.throws(() => loadRecommenderConfig({ AUTH_DISABLED: value }), ConfigError, value);
    }
  });

  it('refuses to build the API-key guard with no keys unless auth is disabled', () => {
    const config = loadRecommenderConfig({});
    assert.throws(
      () => apiKeyGuard({ keys: config.apiKeys, disabled: config.authDisabled }),
      /API_KEYS: at least one key is required unless AUTH_DISABLED=true/,
    );
  });

  it('lists every invalid variable at once', () => {
    assert.throws(
      () => loadRecommenderConfig({ MAX_K: '0', HNSW_M: 'many', BODY_LIMIT: '' }),
      (error: ConfigError) =>
        error.problems.length === 2 &&
        error.problems.some((p) => p.startsWith('MAX_K')) &&
        error.problems.some((p) => p.startsWith('HNSW_M')),
    );
  });

  it('accepts a body limit only as a size, which the JSON parser would otherwise ignore', () => {
    assert.equal(loadRecommenderConfig({ BODY_LIMIT: '2mb' }).bodyLimit, '2mb');
    for (const value of ['lots', '2 megabytes', '-1']) {
      assert.throws(
        () => loadRecommenderConfig({ BODY_LIMIT: value }),
        (error: ConfigError) =>
          error.problems.length === 1 &&
          /^BODY_LIMIT.*such as 65536, 64kb or 1mb/.test(error.problems[0]),
        value,
      );
    }
  });
});
