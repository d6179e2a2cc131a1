/**
 * Export benchmark: builds the ONNX embedding model for random tables, loads it in ONNX Runtime
 * and verifies every row, then prints one JSON object with the time of each phase and the peak RSS.
 *
 *   node shared/dist/onnx/bench-export.js [--users 100000] [--items 100000] [--dim 64]
 *     [--batch 8192] [--threads 0] [--seed 1]
 *
 * `--threads 0` lets ONNX Runtime choose its intra-op thread count.
 */
import { parseArgs } from 'node:util';
import { buildEmbeddingModel } from './embedding-model.js';
import { loadEmbeddingModel } from './session.js';
import { randomFloats, seededRandom } from './testing.js';
import { verifyEmbeddingModel } from './verify.js';

const MIB = 1024 * 1024;

const { values } = parseArgs({
  options: {
    users: { type: 'string', default: '100000' },
    items: { type: 'string', default: '100000' },
    dim: { type: 'string', default: '64' },
    batch: { type: 'string', default: '8192' },
    threads: { type: 'string', default: '0' },
    seed: { type: 'string', default: '1' },
  },
});
const numUsers = Number(values.users);
const numItems = Number(values.items);
const dim = Number(values.dim);
const threads = Number(values.threads);

/** Runs `work` and returns its result with the wall time in milliseconds. */
async function timed<T>(work: () => T | Promise<T>): Promise<[T, number]> {
  const start = process.hrtime.bigint();
  const result = await work();
  return [result, Number(process.hrtime.bigint() - start) / 1e6];
}

const rssMiB = () => Math.round((process.memoryUsage().rss / MIB) * 10) / 10;
// resourceUsage().maxRSS is in KiB on every platform Node supports.
const peakRssMiB = () => Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10;
const round = (ms: number) => Math.round(ms * 10) / 10;

const random = seededRandom(Number(values.seed));
const tables = {
  users: randomFloats(random, numUsers * dim),
  numUsers,
  items: randomFloats(random, numItems * dim),
  numItems,
  dim,
  metadata: { modelVersion: 'bench' },
};
const rssAfterTables = rssMiB();
const peakBeforeExport = peakRssMiB();

const [bytes, exportMs] = await timed(() => buildEmbeddingModel(tables));
const peakAfterExport = peakRssMiB();
const sessionOptions = threads > 0 ? { intraOpNumThreads: threads } : {};
const [model, loadMs] = await timed(() => loadEmbeddingModel(bytes, { sessionOptions }));
const [report, verifyMs] = await timed(() =>
  verifyEmbeddingModel(model, tables, { batchSize: Number(values.batch) }),
);
await model.release();

console.log(
  JSON.stringify(
    {
      numUsers,
      numItems,
      dim,
      modelBytes: bytes.byteLength,
      tableBytes: tables.users.byteLength + tables.items.byteLength,
      exportMs: round(exportMs),
      loadMs: round(loadMs),
      verifyMs: round(verifyMs),
      totalMs: round(exportMs + loadMs + verifyMs),
      maxAbsDiff: Math.max(report.users.maxAbsDiff, report.items.maxAbsDiff),
      rowsVerified: report.users.rows + report.items.rows,
      rssAfterTablesMiB: rssAfterTables,
      peakRssBeforeExportMiB: peakBeforeExport,
      peakRssAfterExportMiB: peakAfterExport,
      peakRssMiB: peakRssMiB(),
      node: process.version,
    },
    null,
    2,
  ),
);
