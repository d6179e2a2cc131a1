import { parentPort, workerData } from 'node:worker_threads';
import { errorMessage } from '../errors.js';
import { addPassStats, CmlEngine, emptyPassStats, type PassStats } from './engine.js';
import { PositiveMembership } from './membership.js';
import type { WorkerReply, WorkerRequest, WorkerSetup } from './hogwild.js';
import { UserItemSets } from './positives.js';

// One Hogwild worker: rebuilds an engine over the shared buffers it was given, then, for each
// epoch the main thread starts, trains on chunks of the shared pair order it claims.
const setup = workerData as WorkerSetup;
const { numUsers, numItems, offsets, items } = setup.positives;
const positives = new UserItemSets(numUsers, numItems, offsets, items);
const engine = new CmlEngine(
  setup.tables,
  positives,
  setup.optimizer,
  setup.itemSquaredNorms,
  setup.hyperparameters,
  setup.seed,
  new PositiveMembership(positives, setup.positiveBits),
);

parentPort?.on('message', (request: WorkerRequest) => {
  let reply: WorkerReply;
  try {
    reply = { kind: 'done', stats: runClaimedChunks(request) };
  } catch (error) {
    reply = { kind: 'failed', message: errorMessage(error) };
  }
  parentPort?.postMessage(reply);
});

/** Claims `chunkSize` positions of the order at a time from the shared cursor until `end`. */
function runClaimedChunks({ end, chunkSize }: WorkerRequest): PassStats {
  let total = emptyPassStats();
  for (;;) {
    const start = Atomics.add(setup.cursor, 0, chunkSize);
    if (start >= end) return total;

    const chunkEnd = Math.min(end, start + chunkSize);
    total = addPassStats(total, engine.run(setup.pairUsers, items, setup.order, start, chunkEnd));
  }
}
