import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FileArtifactStore } from '../artifacts/store.js';
import { AppError } from '../errors.js';
import { encodeWithTfjs } from '../onnx/encoder-reference.js';
import { randomEncoder, randomFloats, seededRandom } from '../onnx/testing.js';
import { compareArrays } from '../onnx/verify.js';
import {
  EMBEDDINGS,
  ENCODER,
  FEATURES,
  MANIFEST,
  readModelVersion,
  writeModelVersion,
  type VersionEncoder,
  parseStrings,
} from './version-files.js';

const DIM = 8;
const FEATURE_COUNT = 12;

function fixture(seed: number) {
  const random = seededRandom(seed);
  const numUsers = 30;
  const numItems = 20;
  const tables = {
    dim: DIM,
    numUsers,
    numItems,
    users: randomFloats(random, numUsers * DIM, 0.3),
    items: randomFloats(random, numItems * DIM, 0.3),
  };
  const ids = {
    users: Array.from({ length: numUsers }, (_, n) => `u${n}`),
    items: Array.from({ length: numItems }, (_, n) => `i${n}`),
  };
  const encoder: VersionEncoder = {
    spec: randomEncoder(random, [FEATURE_COUNT, 16, DIM]),
    featureVocabulary: Array.from({ length: FEATURE_COUNT }, (_, n) => `tag:t${n}`),
    features: randomFloats(random, 5 * FEATURE_COUNT, 1),
  };
  return { random, tables, ids, encoder };
}

function hasCode(code: string, message?: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof AppError, `expected an AppError, got ${String(error)}`);
    assert.equal(error.code, code);
    if (message) assert.match(error.message, message);
    return true;
  };
}

describe('model > version files', () => {
  let folder: string;
  let store: FileArtifactStore;
  before(async () => {
    folder = await mkdtemp(path.join(tmpdir(), 'cml-version-files-'));
    store = new FileArtifactStore(folder);
  });
  after(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  describe('model > version files > encoder', () => {
    it('writes the encoder and vocabulary, lists them in the manifest and reads them back', async () => {
      const { random, tables, ids, encoder } = fixture(3);
      const written = await writeModelVersion(store, 'v-enc', tables, ids, { encoder });
      assert.ok(written.manifest.files[ENCODER] && written.manifest.files[FEATURES]);
      assert.deepEqual(written.manifest.encoder, {
        inputSize: FEATURE_COUNT,
        dim: DIM,
        numLayers: 2,
      });
      // One-hot rows (12 features: fewer than the coverage cap), the zero row, 32 random rows and
      // the 5 given rows.
      assert.equal(written.verification.encoder?.rows, FEATURE_COUNT + 1 + 32 + 5);
      assert.ok((written.verification.encoder?.maxAbsDiff ?? 1) <= 1e-5);

      const loaded = await readModelVersion(store, 'v-enc', written.checksum);
      try {
        assert.deepEqual(loaded.featureVocabulary, encoder.featureVocabulary);
        assert.ok(loaded.encoder);
        assert.equal(loaded.encoder.modelVersion, 'v-enc');
        const features = randomFloats(random, 40 * FEATURE_COUNT, 2);
        const onnx = await loaded.encoder.encodeFeatures(features);
        const tfjs = encodeWithTfjs(encoder.spec, features);
        assert.equal(compareArrays(onnx, tfjs, 1e-5).firstBad, -1);
      } finally {
        await loaded.release();
      }
    });

    it('leaves the encoder out of versions written without one', async () => {
      const { tables, ids } = fixture(4);
      const written = await writeModelVersion(store, 'v-plain', tables, ids);
      assert.equal(written.manifest.encoder, undefined);
      assert.equal(written.manifest.files[ENCODER], undefined);
      const loaded = await readModelVersion(store, 'v-plain', written.checksum);
      try {
        assert.equal(loaded.encoder, undefined);
        assert.equal(loaded.featureVocabulary, undefined);
      } finally {
        await loaded.release();
      }
    });

    it('refuses a vocabulary that does not match the encoder and writes nothing', async () => {
      const { tables, ids, encoder } = fixture(5);
      const short = { ...encoder, featureVocabulary: encoder.featureVocabulary.slice(1) };
      await assert.rejects(
        writeModelVersion(store, 'v-short', tables, ids, { encoder: short }),
        hasCode('ONNX_EXPORT_INVALID', /featureVocabulary has 11 tokens but the encoder takes 12/),
      );
      const repeated = {
        ...encoder,
        featureVocabulary: encoder.featureVocabulary.map((token, n) =>
          n === 3 ? 'tag:t0' : token,
        ),
      };
      await assert.rejects(
        writeModelVersion(store, 'v-repeated', tables, ids, { encoder: repeated }),
        hasCode('ONNX_EXPORT_INVALID', /repeats a token/),
      );
      await assert.rejects(readFile(path.join(folder, 'v-short', MANIFEST)), { code: 'ENOENT' });
    });

    it('refuses an encoder whose output size is not the embedding dimension', async () => {
      const { random, tables, ids, encoder } = fixture(6);
      const wide = { ...encoder, spec: randomEncoder(random, [FEATURE_COUNT, DIM + 1]) };
      await assert.rejects(
        writeModelVersion(store, 'v-wide', tables, ids, { encoder: wide }),
        hasCode('ONNX_EXPORT_INVALID', /returns 9 dimensions but the embeddings have 8/),
      );
    });
  });

  describe('model > version files > integrity', () => {
    it('refuses a truncated embedding model with a clear error', async () => {
      const { tables, ids } = fixture(7);
      const written = await writeModelVersion(store, 'v-trunc', tables, ids);
      const file = path.join(folder, 'v-trunc', EMBEDDINGS);
      const size = (await readFile(file)).length;
      await truncate(file, Math.floor(size / 2));
      await assert.rejects(
        readModelVersion(store, 'v-trunc', written.checksum),
        hasCode('ARTIFACT_CORRUPT', /embeddings\.onnx does not match its recorded checksum/),
      );
    });

    it('refuses an altered encoder and an altered vocabulary', async () => {
      const { tables, ids, encoder } = fixture(8);
      const written = await writeModelVersion(store, 'v-alter', tables, ids, { encoder });
      const encoderFile = path.join(folder, 'v-alter', ENCODER);
      const original = await readFile(encoderFile);
      const flipped = Buffer.from(original);
      flipped[flipped.length - 10] ^= 0x01;
      await writeFile(encoderFile, flipped);
      await assert.rejects(
        readModelVersion(store, 'v-alter', written.checksum),
        hasCode('ARTIFACT_CORRUPT', /encoder\.onnx does not match/),
      );

      await writeFile(encoderFile, original);
      const vocabulary = [...encoder.featureVocabulary].reverse();
      await writeFile(path.join(folder, 'v-alter', FEATURES), JSON.stringify(vocabulary));
      await assert.rejects(
        readModelVersion(store, 'v-alter', written.checksum),
        hasCode('ARTIFACT_CORRUPT', /features\.json does not match/),
      );
    });

    it('refuses a manifest that does not match the registry checksum', async () => {
      const { tables, ids } = fixture(9);
      const written = await writeModelVersion(store, 'v-manifest', tables, ids);
      const file = path.join(folder, 'v-manifest', MANIFEST);
      const manifest = JSON.parse(await readFile(file, 'utf8')) as { numUsers: number };
      await writeFile(file, JSON.stringify({ ...manifest, numUsers: manifest.numUsers + 1 }));
      await assert.rejects(
        readModelVersion(store, 'v-manifest', written.checksum),
        hasCode('ARTIFACT_CORRUPT', /manifest\.json does not match/),
      );
    });
  });
});

describe('model > version files > id lists', () => {
  it('parses a list of strings in slices exactly as one JSON.parse does', async () => {
    const tricky = ['a,b', '"quoted"', 'back\\slash\\', '[bracket]', '{brace}', 'é😀', '', ' '];
    const ids = Array.from({ length: 1_003 }, (_, n) => `${tricky[n % tricky.length]}${n}`);
    for (const indent of [0, 1]) {
      const bytes = Buffer.from(JSON.stringify(ids, null, indent));
      for (const perStep of [1, 7, 1_000, 50_000]) {
        assert.deepEqual(await parseStrings('v', 'ids', bytes, perStep), ids, `${perStep}`);
      }
    }
    assert.deepEqual(await parseStrings('v', 'ids', Buffer.from(' [ ] ')), []);
  });

  it('refuses anything but a list of strings', async () => {
    for (const text of [
      '{"a":1}',
      '["a", 1]',
      '["a", ["b"]]',
      '["a",]',
      '[,"a"]',
      '[ , ]',
      '["a",,"b"]',
      '\uFEFF["a"]',
      '["a"]\u00A0',
      '\f["a"]',
      '["a"',
      'null',
      '["a"] x',
    ]) {
      await assert.rejects(
        parseStrings('v', 'ids', Buffer.from(text), 1),
        /not a list of strings/,
        text,
      );
    }
  });
});
