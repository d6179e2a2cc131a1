import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { freePort, prepareToolRun, type ToolRun } from './testing.js';

describe('stack > smoke', () => {
  let toolRun: ToolRun | undefined;
  after(async () => {
    await toolRun?.cleanUp();
  });

  it('posts events through Kafka into PostgreSQL, retrains, promotes and serves the new version', async () => {
    toolRun = await prepareToolRun('stack');
    const [apiPort, ingestPort] = [await freePort(), await freePort()];
    const { code, output } = await toolRun.run(
      'stack.js',
      ['--smoke', '--api-port', String(apiPort), '--ingest-port', String(ingestPort)],
      { KAFKA_BROKERS: '', API_KEYS: '' },
    );

    assert.equal(code, 0, `stack smoke test failed:\n${output}`);
    assert.match(output, /smoke test passed/);
    assert.match(output, /served by v\d{8}-/);
  });
});
