/**
 * The ingest acceptance run: 100,000 events of which 1 % are malformed, consumed by the real
 * service (dist/main.js) which is SIGKILLed once (at 30 % of the rows) and whose database
 * connections are terminated once (pg_terminate_backend, at 60 %). Expects exactly the valid
 * events as rows, every malformed one as a reject with a reason, no duplicate and no gap.
 *
 *   node services/ingest/dist/bench/acceptance.js [events=100000] [batch size=5000]
 *
 * Exits 1 if any figure is off. Needs the test PostgreSQL (TEST_DATABASE_URL) and cc with
 * librdkafka-dev for the mock Kafka cluster, like the tests.
 */
import { createTestDatabase } from '@cml-rec/shared/db/testing';
import { startMockKafka } from '../testing/mockKafka.js';
import { runFaultScenario } from '../testing/scenario.js';

const events = Number(process.argv[2] ?? 100_000);
const batchSize = Number(process.argv[3] ?? 5_000);

const mock = await startMockKafka();
const db = await createTestDatabase('ingest_accept');
let failed = false;
try {
  const result = await runFaultScenario(mock, db, {
    events,
    malformedEvery: 100,
    batchSize,
    timeoutMs: 600_000,
    progress: (message) => console.error(message),
  });
  const { audit } = result;
  const checks: [string, boolean][] = [
    ['interaction rows = valid events', audit.rows === result.expectedRows],
    ['no valid event missing (no gap)', audit.missing === 0],
    ['no unexpected row', audit.unexpected === 0],
    ['no duplicate row', audit.duplicates === 0],
    ['rejects = malformed events', audit.rejects === result.expectedRejects],
    ['every reject has a reason', audit.rejectsWithoutReason === 0],
    ['no duplicate reject', audit.duplicateRejects === 0],
    ['consumer was SIGKILLed mid-stream', result.killedBy === 'SIGKILL'],
    ['connections were terminated', result.terminatedConnections > 0],
    ['SIGTERM exit code 0', result.sigtermExitCode === 0],
  ];
  console.log(
    JSON.stringify(
      {
        events,
        batchSize,
        expectedRows: result.expectedRows,
        expectedRejects: result.expectedRejects,
        ...audit,
        rowsAtKill: result.rowsAtKill,
        rowsAtTerminate: result.rowsAtTerminate,
        terminatedConnections: result.terminatedConnections,
        duplicatesSkippedAfterRestart: result.duplicatesSkipped,
        produceMs: Math.round(result.produceMs),
        consumeMs: Math.round(result.consumeMs),
        consumeEventsPerSecond: Math.round(events / (result.consumeMs / 1000)),
        logStartOffsets: result.logStartOffsets,
      },
      null,
      2,
    ),
  );
  for (const [name, ok] of checks) {
    console.log(`${ok ? 'PASS' : 'FAIL'} ${name}`);
    failed ||= !ok;
  }
} finally {
  await db.drop();
  await mock.stop();
}
process.exitCode = failed ? 1 : 0;
