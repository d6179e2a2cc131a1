import type { PassStats } from './engine.js';
import { evaluateRanking } from './evaluation.js';
import { HogwildCmlTrainer } from './hogwild.js';
import type { UserItemSets } from './positives.js';
import { DistanceRanker } from './rankers.js';
import { SerialCmlTrainer, type CmlHyperparameters, type CmlState } from './train.js';

export interface FitOptions {
  /** 1 = the deterministic serial trainer; more = Hogwild workers (state must be shared). */
  threads: number;
  /** Held-out positives for early stopping; without them every epoch runs. */
  validation?: UserItemSets;
  /** Evaluate on the validation set every this many epochs. */
  evalEvery: number;
  /** Stop after this many evaluations without a better validation recall. */
  patience: number;
  /** The k of the validation Recall@k that early stopping watches. */
  recallK: number;
  /** Called after every epoch, with the validation recall when it was evaluated. */
  onEpoch?: (report: EpochReport) => void;
  /** Called after every epoch before evaluation, e.g. for the item-feature loss. */
  afterEpoch?: (state: CmlState, epoch: number) => void | Promise<void>;
}

export interface EpochReport extends PassStats {
  epoch: number;
  epochs: number;
  /** Training wall time so far, evaluation excluded. */
  trainSeconds: number;
  validationRecall?: number;
}

export interface FitResult {
  history: EpochReport[];
  /** The epoch whose tables were kept (the best validation recall, else the last). */
  bestEpoch: number;
  bestValidationRecall?: number;
  stoppedEarly: boolean;
  trainSeconds: number;
}

/**
 * Runs training epochs with evaluation every `evalEvery` epochs on the validation positives,
 * keeps a copy of the best tables, stops after `patience` evaluations without improvement,
 * and restores the best copy at the end. A NaN or Infinity in the tables stops training with a
 * DivergenceError (thrown by the trainers), before anything is exported.
 */
export async function fitCml(
  state: CmlState,
  train: UserItemSets,
  hp: CmlHyperparameters,
  options: FitOptions,
): Promise<FitResult> {
  const trainer =
    options.threads > 1
      ? new HogwildCmlTrainer(state, train, hp, options.threads)
      : new SerialCmlTrainer(state, train, hp);
  const history: EpochReport[] = [];
  const best = {
    epoch: 0,
    recall: -Infinity,
    users: undefined as Float32Array | undefined,
    items: undefined as Float32Array | undefined,
  };
  let trainSeconds = 0;
  let evaluationsWithoutGain = 0;
  let stoppedEarly = false;

  try {
    for (let epoch = 1; epoch <= hp.epochs; epoch++) {
      const started = performance.now();
      const stats = await trainer.runEpoch();
      await options.afterEpoch?.(state, epoch);
      trainSeconds += (performance.now() - started) / 1000;
      const report: EpochReport = { ...stats, epoch, epochs: hp.epochs, trainSeconds };

      if (options.validation && (epoch % options.evalEvery === 0 || epoch === hp.epochs)) {
        const recall = validationRecall(state, train, options.validation, options.recallK);
        report.validationRecall = recall;
        if (recall > best.recall) {
          best.epoch = epoch;
          best.recall = recall;
          best.users = Float32Array.from(state.tables.users);
          best.items = Float32Array.from(state.tables.items);
          evaluationsWithoutGain = 0;
        } else if (++evaluationsWithoutGain >= options.patience) {
          stoppedEarly = true;
        }
      }
      history.push(report);
      options.onEpoch?.(report);
      if (stoppedEarly) break;
    }
  } finally {
    if (trainer instanceof HogwildCmlTrainer) await trainer.close();
  }

  if (best.users && best.items) {
    state.tables.users.set(best.users);
    state.tables.items.set(best.items);
  }
  return {
    history,
    bestEpoch: best.users ? best.epoch : history.length,
    bestValidationRecall: best.users ? best.recall : undefined,
    stoppedEarly,
    trainSeconds,
  };
}

function validationRecall(
  state: CmlState,
  train: UserItemSets,
  validation: UserItemSets,
  k: number,
): number {
  return evaluateRanking(new DistanceRanker(state.tables), train, validation, { ks: [k] }).at[k]
    .recall;
}
