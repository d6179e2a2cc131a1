import { checkTable, firstNonFinite, isPositiveInteger } from './embedding-model.js';
import { onnxError, OnnxErrorCode } from './errors.js';
import { modelMetadataProps, type ModelMetadata } from './metadata.js';
import { encodeModel, FLOAT, floatTensor, node, tensorValueInfo, type O } from './proto.js';

/** Graph input and output names of the encoder model. */
export const ENCODER_SIGNATURE = { features: 'features', embedding: 'embedding' } as const;

/**
 * One fully connected layer `y = activation(x W + b)`.
 *
 * `weight` is row-major `[inputSize, outputSize]` (entry `(r, c)` at `weight[r * outputSize + c]`,
 * the layout of a tfjs Dense kernel), `bias` has `outputSize` values; both float32.
 */
export interface DenseLayer {
  weight: Float32Array;
  bias: Float32Array;
  inputSize: number;
  outputSize: number;
  activation: 'relu' | 'linear';
}

/**
 * The item-feature MLP `f(x, θ)` at inference time (dropout is an identity there): the dense
 * layers in order, then the projection into the unit ball `y ← y · min(1, 1 / ||y||_2)` per row.
 */
export interface EncoderSpec {
  layers: readonly DenseLayer[];
  metadata: ModelMetadata;
}

/**
 * Serializes the encoder as an ONNX model (IR 8, opset 17):
 *
 * - input `features`: float32 `[N, F]`, `F = layers[0].inputSize`
 * - output `embedding`: float32 `[N, dim]`, `dim = layers[last].outputSize`
 *
 * Each layer is a `Gemm` (plus `Relu` when asked). The projection is
 * `y / Max(ReduceL2(y, axis 1), 1)`, which equals `y · min(1, 1/||y||)` and never divides by
 * anything below 1, so an all-zero row stays zero instead of becoming NaN.
 * metadata_props: `kind=encoder`, `format_version`, `model_version`, `input_size`, `dim`,
 * `num_layers`, plus `metadata.props`.
 *
 * Throws ONNX_EXPORT_INVALID when there are no layers, the sizes do not chain, an array has the
 * wrong length, or a weight is NaN or infinite.
 */
export function buildEncoderModel(encoder: EncoderSpec): Uint8Array {
  const layers = encoder?.layers ?? [];
  const problems = checkLayers(layers);
  if (problems.length > 0) {
    throw onnxError(
      OnnxErrorCode.exportInvalid,
      `cannot export encoder model: ${problems.join('; ')}`,
      { details: { problems } },
    );
  }
  const inputSize = layers[0].inputSize;
  const dim = layers[layers.length - 1].outputSize;
  const metadata = modelMetadataProps('encoder', encoder.metadata, {
    input_size: inputSize,
    dim,
    num_layers: layers.length,
  });

  const initializer: O.ITensorProto[] = [];
  const nodes: O.INodeProto[] = [];
  let current: string = ENCODER_SIGNATURE.features;
  layers.forEach((layer, index) => {
    const weight = `dense_${index}_weight`;
    const bias = `dense_${index}_bias`;
    initializer.push(floatTensor(weight, [layer.inputSize, layer.outputSize], layer.weight));
    initializer.push(floatTensor(bias, [layer.outputSize], layer.bias));

    const linear = `dense_${index}_linear`;
    nodes.push(node('Gemm', [current, weight, bias], [linear]));
    current = linear;
    if (layer.activation === 'relu') {
      nodes.push(node('Relu', [linear], [`dense_${index}_relu`]));
      current = `dense_${index}_relu`;
    }
  });

  // Unit-ball projection: embedding = y / max(||y||_2, 1), row by row.
  initializer.push(floatTensor('one', [], new Float32Array([1])));
  nodes.push(node('ReduceL2', [current], ['row_norm'], { axes: [1], keepdims: 1 }));
  nodes.push(node('Max', ['row_norm', 'one'], ['row_scale']));
  nodes.push(node('Div', [current, 'row_scale'], [ENCODER_SIGNATURE.embedding]));

  const graph: O.IGraphProto = {
    name: 'cml_item_encoder',
    initializer,
    node: nodes,
    input: [tensorValueInfo(ENCODER_SIGNATURE.features, FLOAT, ['N', inputSize])],
    output: [tensorValueInfo(ENCODER_SIGNATURE.embedding, FLOAT, ['N', dim])],
  };
  return encodeModel(
    graph,
    metadata,
    'cml-rec item-feature encoder: dense layers, then projection into the unit ball',
  );
}

function checkLayers(layers: readonly DenseLayer[]): string[] {
  if (!Array.isArray(layers) || layers.length === 0) return ['layers must hold at least one layer'];

  const problems: string[] = [];
  layers.forEach((layer, index) => {
    const at = `layers[${index}]`;
    if (!isPositiveInteger(layer.inputSize) || !isPositiveInteger(layer.outputSize)) {
      problems.push(
        `${at}: inputSize and outputSize must be positive integers, ` +
          `got ${layer.inputSize} and ${layer.outputSize}`,
      );
      return;
    }
    if (index > 0 && layer.inputSize !== layers[index - 1].outputSize) {
      problems.push(
        `${at}.inputSize is ${layer.inputSize} but layers[${index - 1}].outputSize is ` +
          `${layers[index - 1].outputSize}`,
      );
    }
    if (layer.activation !== 'relu' && layer.activation !== 'linear') {
      problems.push(`${at}.activation must be 'relu' or 'linear', got ${String(layer.activation)}`);
    }
    problems.push(
      ...checkTable(
        `${at}.weight`,
        layer.weight,
        layer.inputSize,
        'inputSize',
        layer.outputSize,
        'outputSize',
      ),
    );
    if (!(layer.bias instanceof Float32Array) || layer.bias.length !== layer.outputSize) {
      problems.push(`${at}.bias must be a Float32Array of outputSize = ${layer.outputSize} values`);
    } else if (firstNonFinite(layer.bias) >= 0) {
      problems.push(`${at}.bias[${firstNonFinite(layer.bias)}] is not finite`);
    }
  });
  return problems;
}
