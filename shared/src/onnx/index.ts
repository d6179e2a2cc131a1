/**
 * The ONNX domain: writing cml-rec's two model artifacts and loading them in ONNX Runtime.
 *
 * Every model is written with IR version 8 and default-domain opset 17 and loads in
 * onnxruntime-node 1.31. The tfjs reference forward pass (`encoder-reference.ts`) is deliberately
 * not re-exported here, so that importing this module does not load tfjs.
 *
 * @example
 *   import { buildEmbeddingModel, loadEmbeddingModel } from '@cml-rec/shared/onnx/index';
 *   const bytes = buildEmbeddingModel({ users, numUsers, items, numItems, dim,
 *     metadata: { modelVersion } });
 *   const model = await loadEmbeddingModel(bytes);
 *   const vectors = await model.embedUsers([0, 42]); // Float32Array [2 * dim]
 */
export {
  buildEmbeddingModel,
  EMBEDDING_SIGNATURE,
  type EmbeddingTables,
} from './embedding-model.js';
export {
  buildEncoderModel,
  ENCODER_SIGNATURE,
  type DenseLayer,
  type EncoderSpec,
} from './encoder-model.js';
export { OnnxErrorCode } from './errors.js';
export { readModelInfo, type ModelInfo, type ModelMetadata } from './metadata.js';
export { IR_VERSION, OPSET_VERSION } from './proto.js';
export {
  loadEmbeddingModel,
  loadEncoderModel,
  type EmbeddingModel,
  type EncoderModel,
  type LoadOptions,
} from './session.js';
export { verifyEmbeddingModel, type VerificationReport } from './verify.js';
