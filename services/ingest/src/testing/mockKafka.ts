import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/**
 * A real Kafka wire-protocol broker for tests: librdkafka's mock cluster, run as a child
 * process by a small C program (src/testing/mock-cluster.c) compiled on first use with the
 * system's `cc` against librdkafka-dev. Nothing listens beyond 127.0.0.1.
 *
 * kcat starts the same mock cluster (`kcat -X test.mock.num.brokers=3 -C -t t -b x`), but
 * its auto-created topics have 4 partitions and it cannot inject errors; the C helper calls
 * rd_kafka_mock_topic_create and rd_kafka_mock_push_request_errors for both.
 */
export interface MockKafka {
  /** Bootstrap addresses, host:port. */
  brokers: string[];
  /** Creates a topic (3 partitions unless told), replicated on every broker. */
  createTopic(name: string, partitions?: number): Promise<void>;
  /**
   * Makes the next `count` requests of a protocol API (e.g. 0 = Produce) fail with a Kafka
   * error code (e.g. 6 = NOT_LEADER_FOR_PARTITION); every broker shares the queue.
   */
  failRequests(apiKey: number, count: number, errorCode: number): Promise<void>;
  /** Drops the injected errors not consumed yet for a protocol API. */
  clearRequestErrors(apiKey: number): Promise<void>;
  /**
   * Produces messages with librdkafka inside the helper (acks=all, at most `perBatch`
   * messages per partition per request) and resolves once all are acknowledged: a load
   * generator that leaves the CPU to the service under test. See `writeProduceFile`.
   */
  produceFile(topic: string, file: string, perBatch: number): Promise<void>;
  stop(): Promise<void>;
}

/** Kafka protocol API keys used by the tests. */
export const ApiKey = { Produce: 0, Fetch: 1, OffsetCommit: 8 } as const;

const execFileAsync = promisify(execFile);
const sourcePath = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../src/testing/mock-cluster.c',
);

/** Starts a mock cluster with `brokers` brokers; call `stop()` when done. */
export async function startMockKafka(options: { brokers?: number } = {}): Promise<MockKafka> {
  const binary = await compileHelper();
  const child = spawn(binary, [String(options.brokers ?? 3)], { stdio: 'pipe' });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));

  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const exited = new Promise<never>((_resolve, reject) =>
    child.once('exit', (code) => reject(new Error(`mock cluster exited (${code}): ${stderr}`))),
  );
  exited.catch(() => undefined);

  const next = async (): Promise<string> => {
    const line = await Promise.race([lines.next(), exited]);
    if (line.done) throw new Error(`mock cluster closed its output: ${stderr}`);
    return line.value;
  };

  const first = await next();
  const match = /^bootstrap (\S+)$/.exec(first);
  if (!match) {
    child.kill('SIGKILL');
    throw new Error(`mock cluster printed ${JSON.stringify(first)} instead of its bootstrap`);
  }

  // Commands are answered in order; serialise them so answers match their commands.
  let queue = Promise.resolve();
  const command = (text: string): Promise<void> => {
    const run = queue.then(async () => {
      child.stdin.write(`${text}\n`);
      const answer = await next();
      if (answer !== 'ok') throw new Error(`mock cluster: ${text}: ${answer}`);
    });
    queue = run.catch(() => undefined);
    return run;
  };

  return {
    brokers: match[1].split(','),
    createTopic: (name, partitions = 3) => {
      if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new Error(`invalid topic name ${name}`);
      return command(`topic ${name} ${partitions}`);
    },
    failRequests: (apiKey, count, errorCode) => command(`error ${apiKey} ${count} ${errorCode}`),
    clearRequestErrors: (apiKey) => command(`clear ${apiKey}`),
    produceFile: (topic, file, perBatch) => {
      if (!/^[A-Za-z0-9._-]+$/.test(topic)) throw new Error(`invalid topic name ${topic}`);
      if (/\s/.test(file)) throw new Error(`the file path must not contain spaces: ${file}`);
      return command(`produce ${topic} ${perBatch} ${file}`);
    },
    stop: () => stopChild(child),
  };
}

async function stopChild(child: ChildProcessWithoutNullStreams): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // Closing stdin asks the helper to destroy the cluster; SIGKILL if it does not.
  child.stdin.end();
  const timer = setTimeout(() => child.kill('SIGKILL'), 2_000);
  await exited;
  clearTimeout(timer);
}

/** Compiles the helper once per source version into the temp directory. */
async function compileHelper(): Promise<string> {
  const source = readFileSync(sourcePath);
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 12);
  const binary = path.join(os.tmpdir(), `cml-ingest-mock-cluster-${hash}`);
  if (existsSync(binary)) return binary;

  const partial = `${binary}.${process.pid}.tmp`;
  try {
    await execFileAsync('cc', ['-O1', '-o', partial, sourcePath, '-lrdkafka']);
  } catch (error) {
    throw new Error(
      'cannot compile the Kafka mock cluster helper: install a C compiler and librdkafka-dev ' +
        `(apt-get install -y build-essential librdkafka-dev): ${(error as Error).message}`,
    );
  }
  // Rename is atomic: test files compiling in parallel never run a half-written binary.
  renameSync(partial, binary);
  return binary;
}
