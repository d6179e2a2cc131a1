import { AppError, InputError, type AppErrorOptions } from '../errors.js';

/**
 * Stable codes of every error the ONNX domain throws. A model artifact that cannot be used is a
 * server-side problem (status 500, not retriable: the same bytes fail the same way); bad indices
 * or features passed to a loaded model are the caller's (status 400).
 */
export const OnnxErrorCode = {
  /** The tables or encoder given to an exporter are inconsistent or not finite. */
  exportInvalid: 'ONNX_EXPORT_INVALID',
  /** The bytes are not a decodable ONNX model (truncated, corrupt, empty, or refused by ORT). */
  modelUnreadable: 'ONNX_MODEL_UNREADABLE',
  /** The model's inputs or outputs differ from what cml-rec expects (names, types, ranks). */
  signatureMismatch: 'ONNX_MODEL_SIGNATURE_MISMATCH',
  /** The model's metadata_props are missing, of another kind, or not parseable. */
  metadataInvalid: 'ONNX_MODEL_METADATA_INVALID',
  /** Indices or features passed to a loaded model are out of range or of the wrong size. */
  inputInvalid: 'ONNX_INPUT_INVALID',
  /** ONNX Runtime's output differs from the reference by more than the tolerance. */
  verificationFailed: 'ONNX_VERIFICATION_FAILED',
} as const;

export type OnnxErrorCode = (typeof OnnxErrorCode)[keyof typeof OnnxErrorCode];

export function onnxError(
  code: Exclude<OnnxErrorCode, typeof OnnxErrorCode.inputInvalid>,
  message: string,
  options: AppErrorOptions = {},
): AppError {
  return new AppError(code, message, { status: 500, retriable: false, ...options });
}

export function onnxInputError(message: string, options: AppErrorOptions = {}): InputError {
  return new InputError(OnnxErrorCode.inputInvalid, message, options);
}
