/**
 * Thin, typed helpers over the `onnx-proto` message classes (ONNX v1.10.2 `onnx.proto`, encoded
 * by protobufjs 6). Everything cml-rec writes targets one fixed pair of versions:
 *
 * - IR version 8 (`onnx.Version.IR_VERSION`, the newest the bundled proto knows), and
 * - the default-domain opset 17 (ONNX 1.12), which onnxruntime-node 1.31 loads.
 *
 * Opset 17 is chosen over 18 because `ReduceL2` still takes `axes` as an attribute there; every op
 * used (Gather-13, Gemm-13, Relu-14, ReduceL2-13, Max-13, Div-14) is defined at or below it.
 */
import { endianness } from 'node:os';
// onnx-proto is CommonJS: its namespace arrives as the default export under ESM.
import onnxProto from 'onnx-proto';
import type { onnx as O } from 'onnx-proto';

export const { onnx } = onnxProto;
/** The message interfaces (`O.IModelProto`, ...) for the other files of this folder. */
export type { O };

/** ONNX IR version written into every model. */
export const IR_VERSION = 8;
/** Default-domain (`ai.onnx`) opset written into every model. */
export const OPSET_VERSION = 17;
/** `producer_name` of every model cml-rec writes. */
export const PRODUCER_NAME = 'cml-rec';
/** Bumped when the layout of the graphs or of the metadata keys changes incompatibly. */
export const FORMAT_VERSION = '1';

export const FLOAT = onnx.TensorProto.DataType.FLOAT;
export const INT64 = onnx.TensorProto.DataType.INT64;

const LITTLE_ENDIAN = endianness() === 'LE';

/**
 * The bytes of a Float32Array as ONNX `raw_data` (little-endian). On a little-endian host this is
 * a view over the same memory: protobufjs copies it once, with `Uint8Array#set`, when the message
 * is finished, so a 100,000 x 64 table is never walked element by element.
 */
export function float32RawData(values: Float32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);

  const bytes = new Uint8Array(values.byteLength);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i += 1) view.setFloat32(i * 4, values[i], true);
  return bytes;
}

/** A float32 initializer of the given shape whose data is `values` (row-major). */
export function floatTensor(
  name: string,
  dims: readonly number[],
  values: Float32Array,
): O.ITensorProto {
  return { name, dataType: FLOAT, dims: [...dims], rawData: float32RawData(values) };
}

/**
 * A graph input or output declaration. A string dimension is symbolic (`dim_param`), a number is
 * fixed (`dim_value`).
 */
export function tensorValueInfo(
  name: string,
  elemType: number,
  dims: readonly (number | string)[],
): O.IValueInfoProto {
  const dim = dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d }));
  return { name, type: { tensorType: { elemType, shape: { dim } } } };
}

/**
 * A node of the default domain, named after its first output. Every op cml-rec writes takes only
 * integer attributes (INT) or integer lists (INTS); anything else is refused here rather than
 * written with a silently different type.
 */
export function node(
  opType: string,
  inputs: readonly string[],
  outputs: readonly string[],
  attributes: Readonly<Record<string, number | readonly number[]>> = {},
): O.INodeProto {
  const Type = onnx.AttributeProto.AttributeType;
  const attribute = Object.entries(attributes).map(([name, value]): O.IAttributeProto => {
    const ints = typeof value === 'number' ? [value] : value;
    if (!ints.every(Number.isSafeInteger)) {
      throw new TypeError(`${opType} attribute ${name} must be integral, got ${String(value)}`);
    }
    return typeof value === 'number'
      ? { name, type: Type.INT, i: value }
      : { name, type: Type.INTS, ints: [...value] };
  });
  return { opType, input: [...inputs], output: [...outputs], name: outputs[0], attribute };
}

/** Wraps a graph into a model with cml-rec's IR version, opset and string metadata. */
export function encodeModel(
  graph: O.IGraphProto,
  metadata: Readonly<Record<string, string>>,
  docString: string,
): Uint8Array {
  const model: O.IModelProto = {
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: OPSET_VERSION }],
    producerName: PRODUCER_NAME,
    producerVersion: FORMAT_VERSION,
    docString,
    graph,
    metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
  };
  return onnx.ModelProto.encode(model).finish();
}
