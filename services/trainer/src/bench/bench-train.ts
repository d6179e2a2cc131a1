#!/usr/bin/env node
/**
 * Training benchmark: throughput at 1 and 2 threads, time per epoch, and Recall@50 and loss
 * against training time for CML and the baselines on one split. Prints JSON and writes it,
 * with an SVG chart, to --out.
 *
 *   npm run bench:train -- ../shared/data/movielens-100k/u.data [--out bench-results/train]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { BprModel, defaultBprOptions } from '@cml-rec/shared/baselines/bpr';
import { evaluateRanking } from '@cml-rec/shared/cml/evaluation';
import { HogwildCmlTrainer } from '@cml-rec/shared/cml/hogwild';
import type { UserItemSets } from '@cml-rec/shared/cml/positives';
import { DistanceRanker, PopularityRanker } from '@cml-rec/shared/cml/rankers';
import { splitPerUser } from '@cml-rec/shared/cml/split';
import {
  createCmlState,
  defaultHyperparameters,
  SerialCmlTrainer,
  type CmlHyperparameters,
} from '@cml-rec/shared/cml/train';
import { readFileDataset } from '../file-dataset.js';
import { renderLineCharts } from './svg-chart.js';

interface CurvePoint {
  epoch: number;
  seconds: number;
  loss: number;
  recall50: number;
}

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      out: { type: 'string', default: 'bench-results/train' },
      'throughput-epochs': { type: 'string', default: '20' },
      'throughput-rounds': { type: 'string', default: '5' },
      epochs: { type: 'string', default: '20' },
      'curve-negatives': { type: 'string', default: '10' },
      'curve-threads': { type: 'string', default: '2' },
    },
  });
  const file = positionals[0];
  if (!file) throw new Error('usage: bench-train <ratings file> [--out DIR] [--epochs N]');

  const { dataset } = await readFileDataset(file, undefined, 4, () => undefined);
  const { train, test } = splitPerUser(dataset.positives, { testFraction: 0.2, seed: 1 });
  const base: CmlHyperparameters = { ...defaultHyperparameters, dim: 64, numNegatives: 20 };
  const throughputEpochs = Number(values['throughput-epochs']);

  // Rounds alternate 1 and 2 threads, so that a disturbance of the machine hits both, and
  // the medians are reported: one run of a few hundred milliseconds is too noisy to trust.
  const throughput: Awaited<ReturnType<typeof measureThroughput>>[] = [];
  for (let round = 0; round < Number(values['throughput-rounds']); round++) {
    for (const threads of [1, 2])
      throughput.push(await measureThroughput(train, base, threads, throughputEpochs));
  }
  const medianPairsPerSecond = (threads: number) =>
    median(throughput.filter((run) => run.threads === threads).map((run) => run.pairsPerSecond));
  const oneThread = medianPairsPerSecond(1);
  const twoThreads = medianPairsPerSecond(2);

  const epochs = Number(values.epochs);
  const curveHp = { ...base, numNegatives: Number(values['curve-negatives']), epochs };
  const cml = await cmlCurve(train, test, curveHp, Number(values['curve-threads']));
  const bpr = bprCurve(train, test, epochs * 2);
  const popularity = evaluateRanking(new PopularityRanker(train.itemCounts()), train, test, {
    ks: [50],
  }).at[50].recall;

  const report = {
    file,
    machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
    split: {
      trainPairs: train.numPairs,
      testPairs: test.numPairs,
      users: train.numUsers,
      items: train.numItems,
    },
    throughput: {
      settings: { dim: 64, numNegatives: 20, covarianceWeight: base.covarianceWeight },
      runs: throughput,
      medianPairsPerSecond: { oneThread, twoThreads },
      twoThreadSpeedup: twoThreads / oneThread,
    },
    curves: {
      cml: { hyperparameters: curveHp, threads: Number(values['curve-threads']), points: cml },
      bpr,
      popularityRecall50: popularity,
    },
  };
  const out = values.out as string;
  mkdirSync(out, { recursive: true });
  writeFileSync(path.join(out, 'bench-train.json'), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(path.join(out, 'bench-train.svg'), chart(cml, bpr, popularity));
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

async function measureThroughput(
  train: UserItemSets,
  hp: CmlHyperparameters,
  threads: number,
  epochs: number,
) {
  const state = createCmlState(train.numUsers, train.numItems, hp, threads > 1);
  const trainer =
    threads > 1
      ? new HogwildCmlTrainer(state, train, hp, threads)
      : new SerialCmlTrainer(state, train, hp);
  try {
    await trainer.runEpoch(); // warm-up: JIT compilation and worker start-up
    const started = performance.now();
    let pairs = 0;
    for (let epoch = 0; epoch < epochs; epoch++) pairs += (await trainer.runEpoch()).pairs;
    const seconds = (performance.now() - started) / 1000;
    return {
      threads,
      epochs,
      pairs,
      seconds,
      pairsPerSecond: pairs / seconds,
      secondsPerEpoch: seconds / epochs,
    };
  } finally {
    if (trainer instanceof HogwildCmlTrainer) await trainer.close();
  }
}

async function cmlCurve(
  train: UserItemSets,
  test: UserItemSets,
  hp: CmlHyperparameters,
  threads: number,
): Promise<CurvePoint[]> {
  const state = createCmlState(train.numUsers, train.numItems, hp, threads > 1);
  const trainer =
    threads > 1
      ? new HogwildCmlTrainer(state, train, hp, threads)
      : new SerialCmlTrainer(state, train, hp);
  const points: CurvePoint[] = [];
  let seconds = 0;
  try {
    for (let epoch = 1; epoch <= hp.epochs; epoch++) {
      const started = performance.now();
      const stats = await trainer.runEpoch();
      seconds += (performance.now() - started) / 1000;
      const recall50 = evaluateRanking(new DistanceRanker(state.tables), train, test, { ks: [50] })
        .at[50].recall;
      points.push({ epoch, seconds, loss: stats.metricLoss / stats.pairs, recall50 });
    }
  } finally {
    if (trainer instanceof HogwildCmlTrainer) await trainer.close();
  }
  return points;
}

function bprCurve(train: UserItemSets, test: UserItemSets, epochs: number): CurvePoint[] {
  const model = new BprModel(train, { ...defaultBprOptions, epochs });
  const points: CurvePoint[] = [];
  let seconds = 0;
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const started = performance.now();
    const loss = model.runEpoch();
    seconds += (performance.now() - started) / 1000;
    const recall50 = evaluateRanking(model, train, test, { ks: [50] }).at[50].recall;
    points.push({ epoch, seconds, loss, recall50 });
  }
  return points;
}

function chart(cml: CurvePoint[], bpr: CurvePoint[], popularity: number): string {
  const maxSeconds = Math.max(...cml.map((p) => p.seconds), ...bpr.map((p) => p.seconds));
  return renderLineCharts([
    {
      title: 'Recall@50 on the test split',
      xLabel: 'training time (s)',
      yLabel: 'Recall@50',
      series: [
        {
          name: 'CML',
          color: '#1f77b4',
          points: cml.map((p) => ({ x: p.seconds, y: p.recall50 })),
        },
        {
          name: 'BPR-MF',
          color: '#d62728',
          points: bpr.map((p) => ({ x: p.seconds, y: p.recall50 })),
        },
        {
          name: 'popularity',
          color: '#7f7f7f',
          points: [
            { x: 0, y: popularity },
            { x: maxSeconds, y: popularity },
          ],
        },
      ],
    },
    {
      title: 'Training loss per pair',
      xLabel: 'training time (s)',
      yLabel: 'mean loss',
      series: [
        {
          name: 'CML (weighted hinge)',
          color: '#1f77b4',
          points: cml.map((p) => ({ x: p.seconds, y: p.loss })),
        },
        {
          name: 'BPR-MF (−ln σ)',
          color: '#d62728',
          points: bpr.map((p) => ({ x: p.seconds, y: p.loss })),
        },
      ],
    },
  ]);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
