import { tf } from '../util/tensorflow.js';
import { Mlp, projectToUnitBall, type PlainDenseLayer } from '../alignment/mlp.js';
import type { ItemFeatures } from '../data/item-formats.js';
import { createOptimizer, type OptimizerState, type RowOptimizer } from './optimizer.js';
import type { EmbeddingTables } from './tables.js';

/**
 * The input columns of the item-feature encoder, derived from whatever keys the catalogue
 * uses: a list of strings gives one column per `key:value` (`genres:Drama`, `tags:pixar`), a
 * single string gives `key:value` (and `title` gives `word:<w>` per word), `true` gives `key`,
 * a number gives a dense column `key`, and a list of numbers `key:<index>` columns. Sparse
 * tokens become a multi-hot row; the column order is fixed when the vocabulary is built and
 * travels with the model.
 */
export class FeatureVocabulary {
  private readonly columns: Map<string, number>;

  constructor(readonly tokens: string[]) {
    this.columns = new Map(tokens.map((token, column) => [token, column]));
  }

  /** Columns seen in at least `minCount` items, sorted, so the vocabulary is reproducible. */
  static build(features: Iterable<ItemFeatures | undefined>, minCount = 1): FeatureVocabulary {
    const counts = new Map<string, number>();
    for (const item of features) {
      for (const [column] of new Map(itemColumns(item))) {
        counts.set(column, (counts.get(column) ?? 0) + 1);
      }
    }
    const tokens = [...counts].filter(([, count]) => count >= minCount).map(([token]) => token);
    return new FeatureVocabulary(tokens.sort());
  }

  get size(): number {
    return this.tokens.length;
  }

  /** Row-major [items × size] inputs; an item without features is a zero row. */
  encode(items: (ItemFeatures | undefined)[]): Float32Array {
    const matrix = new Float32Array(items.length * this.size);
    items.forEach((item, row) => {
      for (const [token, value] of itemColumns(item)) {
        const column = this.columns.get(token);
        if (column !== undefined) matrix[row * this.size + column] = value;
      }
    });
    return matrix;
  }
}

/** (column, value) pairs of one item's features; see FeatureVocabulary for the rules. */
function itemColumns(item: ItemFeatures | undefined): [string, number][] {
  if (!item) return [];
  const columns: [string, number][] = [];
  for (const [key, value] of Object.entries(item as Record<string, unknown>)) {
    if (key === 'title' && typeof value === 'string') {
      for (const word of titleWords(value)) columns.push([`word:${word}`, 1]);
    } else if (typeof value === 'string') {
      columns.push([`${key}:${value}`, 1]);
    } else if (value === true) {
      columns.push([key, 1]);
    } else if (typeof value === 'number' && Number.isFinite(value)) {
      columns.push([key, value]);
    } else if (Array.isArray(value)) {
      value.forEach((entry: unknown, index) => {
        if (typeof entry === 'string') columns.push([`${key}:${entry}`, 1]);
        else if (typeof entry === 'number' && Number.isFinite(entry))
          columns.push([`${key}:${index}`, entry]);
      });
    }
  }
  return columns;
}

function titleWords(title: string): string[] {
  return title
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((word) => word.length > 2 && !/^\d+$/.test(word));
}

export interface FeatureLossOptions {
  /** λ_f: weight of Σ_j ‖f(x_j) − v_j‖² against the metric loss. */
  weight: number;
  hiddenSizes: number[];
  dropoutRate: number;
  /** Adam learning rate of the encoder's parameters θ. */
  learningRate: number;
  batchSize: number;
  /** Mini-batches of the feature loss after each epoch of the metric loss. */
  stepsPerEpoch: number;
  seed: number;
}

export const defaultFeatureLossOptions: FeatureLossOptions = {
  weight: 0.1,
  hiddenSizes: [64],
  dropoutRate: 0.2,
  learningRate: 0.003,
  batchSize: 256,
  // tfjs's pure-JS backend needs about 50-100 ms per step here: a few steps per epoch keep
  // the feature loss to a fraction of the metric loss's time.
  stepsPerEpoch: 5,
  seed: 17,
};

/**
 * The item-feature loss of CML-NOTES section 6, `λ_f Σ_j ‖f(x_j; θ) − v_j‖²`, with f an MLP
 * (dropout between hidden layers, output projected into the unit ball like every item vector).
 *
 * Each step draws a batch of items that have features; θ moves by Adam on tfjs's gradient,
 * and each v_j moves by the exact gradient 2λ_f (v_j − f(x_j)) through the same sparse row
 * optimizer the metric loss uses, so both sides are pulled together. The steps run between
 * epochs of the metric loss on the main thread (tfjs serves this small dense net well; the
 * embedding tables stay in the sparse engine).
 */
export class FeatureLoss {
  readonly encoder: Mlp;
  private readonly optimizer: tf.Optimizer;
  private readonly featuredItems: Int32Array;
  /** Featured items the loss trains on: those whose vectors the metric loss has learned. */
  private readonly trainingItems: Int32Array;
  private readonly itemRowOptimizer: RowOptimizer;
  private readonly rowGradient: Float64Array;
  private cursor = 0;

  constructor(
    private readonly inputs: Float32Array,
    readonly inputSize: number,
    private readonly tables: EmbeddingTables,
    itemOptimizerState: OptimizerState,
    private readonly options: FeatureLossOptions,
    isTrainable: (item: number) => boolean = () => true,
  ) {
    this.encoder = new Mlp({
      inputSize,
      hiddenSizes: options.hiddenSizes,
      outputSize: tables.dim,
      seed: options.seed,
    });
    this.optimizer = tf.train.adam(options.learningRate);
    this.itemRowOptimizer = createOptimizer(itemOptimizerState);
    this.rowGradient = new Float64Array(tables.dim);
    const featured: number[] = [];
    for (let item = 0; item < tables.numItems; item++) {
      if (inputs.subarray(item * inputSize, (item + 1) * inputSize).some((value) => value !== 0)) {
        featured.push(item);
      }
    }
    this.featuredItems = Int32Array.from(featured);
    // An item without training positives has a vector the metric loss never learned: pulling
    // the encoder towards it would teach f noise.
    this.trainingItems = Int32Array.from(featured.filter(isTrainable));
  }

  get numFeaturedItems(): number {
    return this.featuredItems.length;
  }

  /** Runs `stepsPerEpoch` batches; returns the mean λ_f ‖f(x) − v‖² per item. */
  runSteps(itemSquaredNorms?: Float32Array): number {
    if (this.trainingItems.length === 0 || this.options.weight === 0) return 0;
    let total = 0;
    let count = 0;
    for (let step = 0; step < this.options.stepsPerEpoch; step++) {
      const batch = this.nextBatch();
      total += this.step(batch, itemSquaredNorms);
      count += batch.length;
    }
    return total / count;
  }

  /** One step on the given items; returns Σ λ_f ‖f(x_j) − v_j‖² over them. */
  step(batch: Int32Array, itemSquaredNorms?: Float32Array): number {
    const { dim, items } = this.tables;
    const { weight, dropoutRate } = this.options;
    const x = tf.tensor2d(this.gatherInputs(batch), [batch.length, this.inputSize]);
    const v = tf.tensor2d(gatherRows(items, batch, dim), [batch.length, dim]);

    let encoded: Float32Array = new Float32Array(0);
    const { value, grads } = tf.variableGrads(() => {
      const output = projectToUnitBall(this.encoder.apply(x, dropoutRate));
      encoded = output.dataSync() as Float32Array;
      return tf.mul(weight, tf.sum(tf.square(tf.sub(output, v)))) as tf.Scalar;
    }, this.encoder.variables);
    this.optimizer.applyGradients(grads);
    const loss = value.dataSync()[0];
    tf.dispose([x, v, value, ...Object.values(grads)]);

    batch.forEach((item, n) => {
      let squares = 0;
      for (let d = 0; d < dim; d++) {
        const gradient = 2 * weight * (items[item * dim + d] - encoded[n * dim + d]);
        this.rowGradient[d] = gradient;
        squares += gradient * gradient;
      }
      const norm = this.itemRowOptimizer.step(items, item, this.rowGradient, squares);
      if (itemSquaredNorms) itemSquaredNorms[item] = norm;
    });
    return loss;
  }

  /** f(x_j) for the given items, without dropout: the vectors of items with no history. */
  encode(itemIndexes: ArrayLike<number>): Float32Array {
    const batch = Int32Array.from(itemIndexes);
    return tf.tidy(() => {
      const x = tf.tensor2d(this.gatherInputs(batch), [batch.length, this.inputSize]);
      return projectToUnitBall(this.encoder.apply(x)).dataSync() as Float32Array;
    });
  }

  /** Sets v_j = f(x_j) for every item with features that `isCold` selects; returns them. */
  placeColdItems(isCold: (item: number) => boolean): number[] {
    const cold = Array.from(this.featuredItems).filter(isCold);
    if (cold.length === 0) return cold;
    const vectors = this.encode(cold);
    const { dim, items } = this.tables;
    cold.forEach((item, n) => items.set(vectors.subarray(n * dim, (n + 1) * dim), item * dim));
    return cold;
  }

  /** The encoder as plain layers (weights row-major [in × out]) for export to ONNX. */
  exportLayers(): PlainDenseLayer[] {
    return this.encoder.toPlainLayers();
  }

  dispose(): void {
    this.encoder.dispose();
    this.optimizer.dispose();
  }

  private nextBatch(): Int32Array {
    const size = Math.min(this.options.batchSize, this.trainingItems.length);
    const batch = new Int32Array(size);
    for (let n = 0; n < size; n++) {
      batch[n] = this.trainingItems[this.cursor];
      this.cursor = (this.cursor + 1) % this.trainingItems.length;
    }
    return batch;
  }

  private gatherInputs(batch: Int32Array): Float32Array {
    return gatherRows(this.inputs, batch, this.inputSize);
  }
}

function gatherRows(table: Float32Array, rows: Int32Array, width: number): Float32Array {
  const out = new Float32Array(rows.length * width);
  rows.forEach((row, n) => out.set(table.subarray(row * width, (row + 1) * width), n * width));
  return out;
}
