import { onnxError, OnnxErrorCode } from './errors.js';
import { FORMAT_VERSION, onnx, type O } from './proto.js';

/** What the caller of an exporter says about the model; the exporter adds sizes itself. */
export interface ModelMetadata {
  /** The registry's version id (any non-empty string), written as `model_version`. */
  modelVersion: string;
  /** Extra string properties; keys may not reuse the reserved ones listed in `RESERVED_KEYS`. */
  props?: Readonly<Record<string, string>>;
}

export type ModelKind = 'embedding' | 'encoder';

/** metadata_props keys the exporters write themselves. */
export const RESERVED_KEYS = [
  'kind',
  'format_version',
  'model_version',
  'dim',
  'num_users',
  'num_items',
  'input_size',
  'num_layers',
] as const;

/** What `readModelInfo` finds in a model's header, without running it. */
export interface ModelInfo {
  irVersion: number;
  /** Default-domain opset version, or undefined when the model imports none. */
  opsetVersion: number | undefined;
  producerName: string;
  /** All metadata_props, reserved keys included. */
  metadata: Readonly<Record<string, string>>;
}

/** Merges the caller's metadata with the exporter's own keys; throws on a reserved-key clash. */
export function modelMetadataProps(
  kind: ModelKind,
  metadata: ModelMetadata,
  sizes: Readonly<Record<string, number>>,
): Record<string, string> {
  if (typeof metadata?.modelVersion !== 'string' || metadata.modelVersion.length === 0) {
    throw onnxError(
      OnnxErrorCode.exportInvalid,
      'metadata.modelVersion must be a non-empty string',
    );
  }
  const props = metadata.props ?? {};
  const reserved: readonly string[] = RESERVED_KEYS;
  const clashes = Object.keys(props).filter((key) => reserved.includes(key));
  if (clashes.length > 0) {
    throw onnxError(
      OnnxErrorCode.exportInvalid,
      `metadata.props may not set reserved keys: ${clashes.join(', ')}`,
    );
  }

  const own: Record<string, string> = {
    kind,
    format_version: FORMAT_VERSION,
    model_version: metadata.modelVersion,
  };
  for (const [key, value] of Object.entries(sizes)) own[key] = String(value);
  return { ...props, ...own };
}

/**
 * Decodes a serialized ModelProto far enough to read its versions and metadata. Initializer data
 * is not copied (protobufjs returns views into `bytes`), so this is cheap even for large tables.
 * Throws ONNX_MODEL_UNREADABLE when the bytes are empty, truncated or not a model.
 */
export function readModelInfo(bytes: Uint8Array): ModelInfo {
  if (!(bytes instanceof Uint8Array) || bytes.byteLength === 0) {
    throw onnxError(OnnxErrorCode.modelUnreadable, 'cannot read ONNX model: the buffer is empty');
  }

  let model: O.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (error) {
    throw onnxError(
      OnnxErrorCode.modelUnreadable,
      `cannot read ONNX model: protobuf decoding failed after ${bytes.byteLength} bytes ` +
        `(the buffer is truncated or not an ONNX model)`,
      { cause: error, details: { byteLength: bytes.byteLength } },
    );
  }
  if (model.graph == null || Number(model.irVersion) === 0) {
    throw onnxError(
      OnnxErrorCode.modelUnreadable,
      `cannot read ONNX model: ${bytes.byteLength} bytes decode to no graph or no IR version ` +
        `(the buffer is truncated or not an ONNX model)`,
      { details: { byteLength: bytes.byteLength } },
    );
  }

  const opset = model.opsetImport.find((entry) => (entry.domain ?? '') === '');
  const metadata: Record<string, string> = {};
  for (const entry of model.metadataProps) metadata[entry.key ?? ''] = entry.value ?? '';
  return {
    irVersion: Number(model.irVersion),
    opsetVersion: opset == null ? undefined : Number(opset.version),
    producerName: model.producerName,
    metadata,
  };
}

/**
 * Checks that a model's metadata says it is a cml-rec model of `kind` in this format, and parses
 * the positive integers named by `sizeKeys`. Throws ONNX_MODEL_METADATA_INVALID listing every
 * problem.
 */
export function parseModelMetadata<K extends string>(
  info: ModelInfo,
  kind: ModelKind,
  sizeKeys: readonly K[],
): { modelVersion: string; sizes: Record<K, number> } {
  const { metadata } = info;
  const problems: string[] = [];
  if (metadata.kind !== kind) {
    problems.push(`kind: expected "${kind}", found ${quoted(metadata.kind)}`);
  }
  if (metadata.format_version !== FORMAT_VERSION) {
    problems.push(
      `format_version: expected "${FORMAT_VERSION}", found ${quoted(metadata.format_version)}`,
    );
  }
  const modelVersion = metadata.model_version ?? '';
  if (modelVersion.length === 0) problems.push('model_version: expected a non-empty string');

  const sizes = {} as Record<K, number>;
  for (const key of sizeKeys) {
    const raw = metadata[key];
    const value = raw !== undefined && /^[0-9]+$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isSafeInteger(value) || value < 1) {
      problems.push(`${key}: expected a positive integer, found ${quoted(raw)}`);
    }
    sizes[key] = value;
  }

  if (problems.length > 0) {
    throw onnxError(
      OnnxErrorCode.metadataInvalid,
      `ONNX ${kind} model metadata is invalid: ${problems.join('; ')}`,
      { details: { problems } },
    );
  }
  return { modelVersion, sizes };
}

function quoted(value: string | undefined): string {
  return value === undefined ? 'nothing' : JSON.stringify(value);
}
