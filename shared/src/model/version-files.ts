import { AppError } from '../errors.js';
import type { ArtifactStore } from '../artifacts/store.js';
import type { EmbeddingTables } from '../cml/tables.js';
import {
  buildEmbeddingModel,
  buildEncoderModel,
  loadEmbeddingModel,
  loadEncoderModel,
  verifyEmbeddingModel,
  type EmbeddingModel,
  type EncoderModel,
  type EncoderSpec,
  type VerificationReport,
} from '../onnx/index.js';
import { onnxError, OnnxErrorCode } from '../onnx/errors.js';
import { Random } from '../util/random.js';

/**
 * The files of one model version. The manifest lists every other file with its sha256; the
 * registry row records the manifest's own sha256, so one checksum pins the whole version.
 *
 * A version may also carry the item-feature encoder (`encoder.onnx`) with its feature
 * vocabulary (`features.json`: the feature tokens in input-column order, e.g. `genre:Action`),
 * which embeds items that have features but no interactions yet.
 */
export const MANIFEST = 'manifest.json';
export const EMBEDDINGS = 'embeddings.onnx';
export const USER_IDS = 'user-ids.json';
export const ITEM_IDS = 'item-ids.json';
export const ENCODER = 'encoder.onnx';
export const FEATURES = 'features.json';

const FORMAT_VERSION = 1;

/** Largest difference accepted between ONNX Runtime's encoder output and the tfjs forward pass. */
export const ENCODER_TOLERANCE = 1e-5;

/** Rows per verification batch of the encoder: bounds memory to `rows * F * 4` bytes. */
const ENCODER_VERIFY_ROWS = 1024;
/** At most this many coverage rows (see verificationBatches). */
const COVERAGE_ROWS = 128;
/** Seeded random multi-hot rows verified besides the coverage rows. */
const RANDOM_ROWS = 32;

export interface Manifest {
  formatVersion: number;
  versionId: string;
  dim: number;
  numUsers: number;
  numItems: number;
  /** Present when the version carries an item-feature encoder. */
  encoder?: { inputSize: number; dim: number; numLayers: number };
  /** File name → sha256 (hex). */
  files: Record<string, string>;
}

/** The item-feature encoder a version may carry. */
export interface VersionEncoder {
  /** The trained MLP; its `metadata.modelVersion` is replaced by the version id. */
  spec: EncoderSpec;
  /** Feature tokens in input-column order: `featureVocabulary.length` = the encoder's input size. */
  featureVocabulary: string[];
  /**
   * Extra rows to verify (row-major float32 `[N, F]`), e.g. a sample of the catalogue's feature
   * rows (each costs about F x hidden multiply-adds in tfjs). Rows that set every input column,
   * the zero row and seeded random rows are always verified.
   */
  features?: Float32Array;
}

export interface WriteOptions {
  encoder?: VersionEncoder;
}

export interface WrittenVersion {
  artifactUri: string;
  /** sha256 of the manifest. */
  checksum: string;
  manifest: Manifest;
  /**
   * ONNX Runtime's output against the trainer's tables, for every user and item; and, with an
   * encoder, against the tfjs forward pass of the same weights.
   */
  verification: {
    users: VerificationReport;
    items: VerificationReport;
    encoder?: VerificationReport;
  };
}

/**
 * Exports the tables (and the encoder, when given) to ONNX, checks that ONNX Runtime returns
 * every user and item vector exactly and that the encoder agrees with tfjs within
 * ENCODER_TOLERANCE, then writes the models, the id maps, the vocabulary and the manifest (each
 * atomically). Nothing is written when a check fails.
 */
export async function writeModelVersion(
  store: ArtifactStore,
  versionId: string,
  tables: EmbeddingTables,
  ids: { users: string[]; items: string[] },
  options: WriteOptions = {},
): Promise<WrittenVersion> {
  const model = buildEmbeddingModel({ ...tables, metadata: { modelVersion: versionId } });
  const session = await loadEmbeddingModel(model);
  let verification: WrittenVersion['verification'];
  try {
    verification = await verifyEmbeddingModel(session, {
      ...tables,
      metadata: { modelVersion: versionId },
    });
  } finally {
    await session.release();
  }

  let encoder: { bytes: Uint8Array; spec: EncoderSpec; vocabulary: string[] } | undefined;
  if (options.encoder) {
    const built = await exportEncoder(versionId, tables.dim, options.encoder);
    verification = { ...verification, encoder: built.report };
    encoder = {
      bytes: built.bytes,
      spec: built.spec,
      vocabulary: options.encoder.featureVocabulary,
    };
  }

  const files: Record<string, string> = {};
  files[EMBEDDINGS] = await store.put(versionId, EMBEDDINGS, model);
  files[USER_IDS] = await store.put(versionId, USER_IDS, jsonBytes(ids.users));
  files[ITEM_IDS] = await store.put(versionId, ITEM_IDS, jsonBytes(ids.items));
  if (encoder) {
    files[ENCODER] = await store.put(versionId, ENCODER, encoder.bytes);
    files[FEATURES] = await store.put(versionId, FEATURES, jsonBytes(encoder.vocabulary));
  }

  const { dim, numUsers, numItems } = tables;
  const manifest: Manifest = {
    formatVersion: FORMAT_VERSION,
    versionId,
    dim,
    numUsers,
    numItems,
    ...(encoder && {
      encoder: {
        inputSize: encoder.spec.layers[0].inputSize,
        dim: encoder.spec.layers[encoder.spec.layers.length - 1].outputSize,
        numLayers: encoder.spec.layers.length,
      },
    }),
    files,
  };
  const manifestBytes = jsonBytes(manifest);
  const checksum = await store.put(versionId, MANIFEST, manifestBytes);
  return { artifactUri: store.locate(versionId), checksum, manifest, verification };
}

/**
 * A version's files as read from the store, each checked against the manifest's checksum, with
 * no ONNX Runtime session opened yet: a caller may open the embedding model wherever it likes
 * (the recommender does it in a worker thread; see `openModelVersion` for the plain way).
 */
export interface VersionFiles {
  manifest: Manifest;
  /** embeddings.onnx. */
  embeddings: Buffer;
  userIds: string[];
  itemIds: string[];
  /** encoder.onnx with its feature tokens, when the version carries an encoder. */
  encoder?: { model: Buffer; featureVocabulary: string[] };
}

export interface LoadedVersion {
  manifest: Manifest;
  model: EmbeddingModel;
  userIds: string[];
  itemIds: string[];
  /** The item-feature encoder, when the version carries one. */
  encoder?: EncoderModel;
  /** The encoder's feature tokens in input-column order, when the version carries one. */
  featureVocabulary?: string[];
  /** Frees every ONNX Runtime session of the version (the embedding model and the encoder). */
  release(): Promise<void>;
}

/**
 * Reads a version back, refusing any file whose checksum differs from the one recorded (a
 * truncated or altered artifact never loads), and opens its ONNX models.
 */
export async function readModelVersion(
  store: ArtifactStore,
  versionId: string,
  manifestChecksum: string,
): Promise<LoadedVersion> {
  return openModelVersion(await readVersionFiles(store, versionId, manifestChecksum));
}

/** Reads and verifies a version's files without opening any model (see VersionFiles). */
export async function readVersionFiles(
  store: ArtifactStore,
  versionId: string,
  manifestChecksum: string,
): Promise<VersionFiles> {
  const manifest = JSON.parse(
    (await store.get(versionId, MANIFEST, manifestChecksum)).toString('utf8'),
  ) as Manifest;
  if (manifest.formatVersion !== FORMAT_VERSION || manifest.versionId !== versionId) {
    throw new AppError(
      'ARTIFACT_FORMAT',
      `version ${versionId}: manifest format ${manifest.formatVersion} for ${manifest.versionId} is not ` +
        `format ${FORMAT_VERSION} for ${versionId}`,
    );
  }

  const read = (name: string) => {
    const expected = manifest.files[name];
    if (!expected)
      throw new AppError('ARTIFACT_FORMAT', `version ${versionId}: manifest lacks ${name}`);
    return store.get(versionId, name, expected);
  };
  const hasEncoder = ENCODER in manifest.files || FEATURES in manifest.files;
  const userIds = await parseStrings(versionId, USER_IDS, await read(USER_IDS));
  const itemIds = await parseStrings(versionId, ITEM_IDS, await read(ITEM_IDS));
  const encoder = hasEncoder
    ? {
        model: await read(ENCODER),
        featureVocabulary: await parseStrings(versionId, FEATURES, await read(FEATURES)),
      }
    : undefined;
  const embeddings = await read(EMBEDDINGS);
  return { manifest, embeddings, userIds, itemIds, ...(encoder && { encoder }) };
}

/** Opens the embedding model and the encoder of files read by `readVersionFiles`. */
export async function openModelVersion(files: VersionFiles): Promise<LoadedVersion> {
  const model = await loadEmbeddingModel(files.embeddings);
  let encoder: EncoderModel | undefined;
  try {
    const ids = { users: files.userIds.length, items: files.itemIds.length };
    checkModelShape(files.manifest, ids, model);
    encoder = await openVersionEncoder(files, model.dim);
  } catch (error) {
    await model.release();
    throw error;
  }

  return {
    manifest: files.manifest,
    model,
    userIds: files.userIds,
    itemIds: files.itemIds,
    ...(encoder && { encoder, featureVocabulary: files.encoder?.featureVocabulary }),
    async release() {
      await model.release();
      await encoder?.release();
    },
  };
}

/**
 * Largest embedding dimension a version may have: far above any CML model's, and a bound on
 * what a crafted model can make a loader allocate per row.
 */
export const MAX_DIM = 4096;

/**
 * Refuses an embedding model that does not match its version: one row per id in the id maps,
 * the dimension and counts the manifest records, and a dimension of at most MAX_DIM.
 */
export function checkModelShape(
  manifest: Pick<Manifest, 'versionId' | 'dim' | 'numUsers' | 'numItems'>,
  ids: { users: number; items: number },
  model: { dim: number; numUsers: number; numItems: number },
): void {
  const problems: string[] = [];
  if (ids.users !== model.numUsers || ids.items !== model.numItems) {
    problems.push(
      `id maps (${ids.users} users, ${ids.items} items) do not match the model ` +
        `(${model.numUsers} users, ${model.numItems} items)`,
    );
  }
  const { dim, numUsers, numItems } = manifest;
  if (dim !== model.dim || numUsers !== model.numUsers || numItems !== model.numItems) {
    problems.push(
      `the manifest records dim ${dim}, ${numUsers} users and ${numItems} items, the model ` +
        `has dim ${model.dim}, ${model.numUsers} users and ${model.numItems} items`,
    );
  }
  if (model.dim > MAX_DIM) problems.push(`dim ${model.dim} is above the limit of ${MAX_DIM}`);
  if (problems.length > 0) {
    throw new AppError('ARTIFACT_FORMAT', `version ${manifest.versionId}: ${problems.join('; ')}`);
  }
}

/**
 * Opens the version's encoder, when it has one, and refuses it unless it takes one input per
 * feature token and returns vectors of the embeddings' dimension.
 */
export async function openVersionEncoder(
  files: Pick<VersionFiles, 'manifest' | 'encoder'>,
  dim: number,
): Promise<EncoderModel | undefined> {
  if (!files.encoder) return undefined;
  const { model: bytes, featureVocabulary } = files.encoder;
  const encoder = await loadEncoderModel(bytes);
  if (featureVocabulary.length !== encoder.inputSize || encoder.dim !== dim) {
    await encoder.release();
    throw new AppError(
      'ARTIFACT_FORMAT',
      `version ${files.manifest.versionId}: the encoder takes ${encoder.inputSize} features and ` +
        `returns ${encoder.dim} dimensions, but ${FEATURES} lists ${featureVocabulary.length} ` +
        `features and the embeddings have ${dim} dimensions`,
    );
  }
  return encoder;
}

/**
 * Builds the encoder's ONNX model and compares ONNX Runtime with the tfjs forward pass on every
 * one-hot row, the zero row, seeded random multi-hot rows and the caller's rows. tfjs is imported
 * here only, so reading a version never loads it.
 */
async function exportEncoder(
  versionId: string,
  dim: number,
  encoder: VersionEncoder,
): Promise<{ bytes: Uint8Array; spec: EncoderSpec; report: VerificationReport }> {
  const spec: EncoderSpec = {
    ...encoder.spec,
    metadata: { ...encoder.spec.metadata, modelVersion: versionId },
  };
  const bytes = buildEncoderModel(spec);
  const inputSize = spec.layers[0].inputSize;
  const outputSize = spec.layers[spec.layers.length - 1].outputSize;
  const problems = checkVocabulary(encoder.featureVocabulary, inputSize);
  if (outputSize !== dim) {
    problems.push(`the encoder returns ${outputSize} dimensions but the embeddings have ${dim}`);
  }
  if (encoder.features && encoder.features.length % inputSize !== 0) {
    problems.push(`features has ${encoder.features.length} values, not a multiple of ${inputSize}`);
  }
  if (problems.length > 0) {
    throw onnxError(
      OnnxErrorCode.exportInvalid,
      `cannot export the encoder of version ${versionId}: ${problems.join('; ')}`,
      { details: { problems } },
    );
  }

  const { verifyEncoderModel } = await import('../onnx/encoder-reference.js');
  const model = await loadEncoderModel(bytes);
  let rows = 0;
  let maxAbsDiff = 0;
  try {
    for (const batch of verificationBatches(inputSize, encoder.features)) {
      const report = await verifyEncoderModel(model, spec, batch, ENCODER_TOLERANCE);
      rows += report.rows;
      maxAbsDiff = Math.max(maxAbsDiff, report.maxAbsDiff);
    }
  } finally {
    await model.release();
  }
  return { bytes, spec, report: { rows, maxAbsDiff, tolerance: ENCODER_TOLERANCE } };
}

/**
 * The rows the encoder is verified on, as row-major `[n, inputSize]` batches of at most
 * ENCODER_VERIFY_ROWS rows:
 *
 * - coverage rows: the columns dealt round-robin into min(F, COVERAGE_ROWS) rows, so every input
 *   column is set in exactly one row (one-hot rows when F <= COVERAGE_ROWS) and every input weight
 *   reaches the output;
 * - the zero row (an item without known features);
 * - RANDOM_ROWS seeded multi-hot rows, half sparse and half dense (the dense ones make the
 *   unit-ball projection shrink them);
 * - the caller's rows.
 *
 * tfjs's pure-JS matmul does about 1e8 multiply-adds a second here, so the coverage rows are
 * capped: exhaustive one-hot rows would cost F x F x hidden (11 s for F = 2000, hidden 256).
 */
function* verificationBatches(
  inputSize: number,
  extra: Float32Array | undefined,
): Generator<Float32Array> {
  const coverage = Math.min(inputSize, COVERAGE_ROWS);
  const rows = coverage + 1 + RANDOM_ROWS;
  const batch = new Float32Array(rows * inputSize);
  for (let column = 0; column < inputSize; column++) {
    batch[(column % coverage) * inputSize + column] = 1;
  }
  const random = new Random(inputSize);
  for (let n = 0; n < RANDOM_ROWS; n++) {
    const row = coverage + 1 + n;
    const density = n < RANDOM_ROWS / 2 ? 0.1 : 0.9;
    for (let column = 0; column < inputSize; column++) {
      if (random.float() < density) batch[row * inputSize + column] = 1;
    }
  }
  const step = ENCODER_VERIFY_ROWS * inputSize;
  for (let start = 0; start < batch.length; start += step)
    yield batch.subarray(start, start + step);
  if (!extra) return;
  for (let start = 0; start < extra.length; start += step)
    yield extra.subarray(start, start + step);
}

function checkVocabulary(vocabulary: unknown, inputSize: number): string[] {
  if (!Array.isArray(vocabulary)) return ['featureVocabulary must be an array of strings'];
  const problems: string[] = [];
  if (vocabulary.length !== inputSize) {
    problems.push(
      `featureVocabulary has ${vocabulary.length} tokens but the encoder takes ${inputSize} features`,
    );
  }
  const bad = vocabulary.findIndex((token) => typeof token !== 'string' || token.length === 0);
  if (bad >= 0) problems.push(`featureVocabulary[${bad}] is not a non-empty string`);
  if (new Set(vocabulary).size !== vocabulary.length) {
    problems.push('featureVocabulary repeats a token');
  }
  return problems;
}

/** Array elements parsed per step: about 5 ms of scanning and JSON.parse each. */
const STRINGS_PER_STEP = 20_000;

/**
 * A JSON array of strings, parsed in slices of elements with a yield to the event loop between
 * them: one JSON.parse of a million ids held a serving process's event loop for about 160 ms
 * while it loaded a new version, and decoding or scanning the whole 10 MB in one go for 30 to
 * 100 ms more. So the bytes are scanned for the next slice's end, decoded and parsed one slice
 * per step (the characters that delimit elements are ASCII, which never occurs inside a
 * multi-byte UTF-8 sequence, so the scan can work on bytes).
 */
export async function parseStrings(
  versionId: string,
  name: string,
  bytes: Buffer,
  perStep = STRINGS_PER_STEP,
): Promise<string[]> {
  const notStrings = () =>
    new AppError('ARTIFACT_FORMAT', `version ${versionId}: ${name} is not a list of strings`);
  const open = bytes.indexOf(OPEN_BRACKET);
  const close = bytes.lastIndexOf(CLOSE_BRACKET);
  // Only JSON's own whitespace may surround the array (String.trim would also pass a BOM).
  const blank = (from: number, to: number) => bytes.subarray(from, to).every(isJsonWhitespace);
  if (open === -1 || close < open || !blank(0, open) || !blank(close + 1, bytes.length)) {
    throw notStrings();
  }

  const values: string[] = [];
  for (const { start, end, first, cut } of topLevelSlices(bytes, open + 1, close, perStep)) {
    const elements = bytes.toString('utf8', start, end);
    // An empty slice beside a cut is a stray comma, which JSON.parse would refuse.
    if ((cut || !first) && elements.trim() === '') throw notStrings();

    let slice: unknown;
    try {
      slice = JSON.parse(`[${elements}]`);
    } catch {
      throw notStrings();
    }
    if (!Array.isArray(slice) || !slice.every((entry) => typeof entry === 'string')) {
      throw notStrings();
    }
    for (const value of slice as string[]) values.push(value);
    await new Promise((resolve) => setImmediate(resolve));
  }
  return values;
}

/**
 * Splits the inside of a JSON array, bytes[from..to), into ranges of up to `perSlice`
 * elements, cutting only at commas outside strings and nested brackets; scans lazily, one
 * range per step. `cut` says the range ended at a comma (another range follows).
 */
function* topLevelSlices(
  bytes: Uint8Array,
  from: number,
  to: number,
  perSlice: number,
): Generator<{ start: number; end: number; first: boolean; cut: boolean }> {
  let sliceStart = from;
  let first = true;
  let elements = 0;
  let depth = 0;
  let inString = false;
  for (let n = from; n < to; n++) {
    const byte = bytes[n];
    if (inString) {
      if (byte === BACKSLASH) n++;
      else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) inString = true;
    else if (byte === OPEN_BRACKET || byte === OPEN_BRACE) depth++;
    else if (byte === CLOSE_BRACKET || byte === CLOSE_BRACE) depth--;
    else if (byte === COMMA && depth === 0 && ++elements === perSlice) {
      yield { start: sliceStart, end: n, first, cut: true };
      sliceStart = n + 1;
      first = false;
      elements = 0;
    }
  }
  yield { start: sliceStart, end: to, first, cut: false };
}

const [QUOTE, BACKSLASH, COMMA] = ['"', '\\', ','].map((char) => char.charCodeAt(0));
const [OPEN_BRACKET, CLOSE_BRACKET, OPEN_BRACE, CLOSE_BRACE] = ['[', ']', '{', '}'].map((char) =>
  char.charCodeAt(0),
);

function isJsonWhitespace(byte: number): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d;
}

function jsonBytes(value: unknown): Uint8Array {
  return Buffer.from(JSON.stringify(value));
}
