import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppError } from '@cml-rec/shared/errors';
import { runWorkerTask } from './worker-task.js';

const script = (code: string) => new URL(`data:text/javascript,${encodeURIComponent(code)}`);
const options = { failureCode: 'TASK_FAILED', label: 'test task' };

function failsWith(code: string, message: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof AppError, String(error));
    assert.equal(error.code, code);
    assert.match(error.message, message);
    return true;
  };
}

describe('recommender > worker task', () => {
  const answer = `import { parentPort, workerData } from 'node:worker_threads';`;

  it('resolves with what the worker posts, and keeps the code of a failure', async () => {
    const doubled = await runWorkerTask<number>(
      script(`${answer} parentPort.postMessage({ ok: true, result: workerData * 2 });`),
      21,
      options,
    );
    assert.equal(doubled, 42);
    await assert.rejects(
      runWorkerTask(
        script(
          `${answer} parentPort.postMessage({ ok: false, code: 'ARTIFACT_FORMAT', error: 'bad' });`,
        ),
        null,
        options,
      ),
      failsWith('ARTIFACT_FORMAT', /^test task: bad$/),
    );
  });

  it('refuses a worker that throws, exits or never answers', async () => {
    await assert.rejects(
      runWorkerTask(script('throw new Error("boom")'), null, options),
      failsWith('TASK_FAILED', /the worker crashed/),
    );
    await assert.rejects(
      runWorkerTask(script('process.exit(3)'), null, options),
      failsWith('TASK_FAILED', /the worker exited with 3/),
    );
    await assert.rejects(
      runWorkerTask(script('setInterval(() => {}, 1000)'), null, { ...options, timeoutMs: 200 }),
      failsWith('TASK_FAILED', /no result after 200 ms/),
    );
  });
});
