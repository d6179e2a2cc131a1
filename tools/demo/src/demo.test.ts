import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { freePort, prepareToolRun, type ToolRun } from './testing.js';

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
  let toolRun: ToolRun | undefined;
  after(async () => {
    await toolRun?.cleanUp();
  });

  it('imports synthetic data, trains, serves, and beats popularity on the planted clusters', async () => {
    toolRun = await prepareToolRun('e2e');
    const summaryFile = path.join(toolRun.folder, 'summary.json');
    const port = await freePort();
    const { code, output } = await toolRun.run('demo.js', [
      '--exit', '--epochs', '5', '--port', String(port), '--summary', summaryFile,
    ]); // prettier-ignore
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
