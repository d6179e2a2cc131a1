import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { stopProcess } from './processes.js';

export interface LocalKafka {
  brokers: string;
  stop(): Promise<void>;
}

/**
 * librdkafka's mock cluster, a real Kafka wire-protocol broker on 127.0.0.1, started through
 * kcat (Debian package `kcat`). kcat prints the cluster's bootstrap address in its debug
 * output; topics are created automatically on first use. For local stacks and smoke tests
 * only: it keeps nothing on disk.
 */
export async function startMockKafka(brokers = 3): Promise<LocalKafka> {
  const child = spawn(
    'kcat',
    [
      '-X',
      `test.mock.num.brokers=${brokers}`,
      '-d',
      'mock',
      '-C',
      '-t',
      'cml.interactions',
      '-b',
      '127.0.0.1:1',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const address = await new Promise<string>((resolve, reject) => {
    child.once('error', (error) =>
      reject(
        new Error(
          `cannot start kcat (${error.message}): install it (apt-get install kcat) or set KAFKA_BROKERS`,
        ),
      ),
    );
    child.once('exit', (code) =>
      reject(new Error(`kcat exited with code ${code} before the mock cluster started`)),
    );
    const lines = createInterface({ input: child.stderr });
    lines.on('line', (line) => {
      const match = /bootstrap\.servers=(127\.0\.0\.1:\d+)/.exec(line);
      if (match) resolve(match[1]);
    });
  });
  child.stderr.resume();
  return { brokers: address, stop: () => stopProcess(child) };
}
