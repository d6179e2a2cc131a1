import { parentPort, workerData } from 'node:worker_threads';
import { errorMessage } from '../errors.js';
import { CmlEngine } from './engine.js';
import type { WorkerReply, WorkerRequest, WorkerSetup } from './hogwild.js';
import { UserItemSets } from './positives.js';

// One Hogwild worker: rebuilds an engine over the shared buffers it was given, then trains on
// whatever slice of the shared pair order the main thread sends.
const setup = workerData as WorkerSetup;
const { numUsers, numItems, offsets, items } = setup.positives;
const engine = new CmlEngine(
  setup.tables,
  new UserItemSets(numUsers, numItems, offsets, items),
  setup.optimizer,
  setup.itemSquaredNorms,
  setup.hyperparameters,
  setup.seed,
);

parentPort?.on('message', (request: WorkerRequest) => {
  let reply: WorkerReply;
  try {
    const stats = engine.run(setup.pairUsers, items, setup.order, request.start, request.end);
    reply = { kind: 'done', stats };
  } catch (error) {
    reply = { kind: 'failed', message: errorMessage(error) };
  }
  parentPort?.postMessage(reply);
});
