/**
 * The TensorFlow.js namespace every dense net in cml-rec uses. When the optional
 * `@tensorflow/tfjs-node` is installed, importing it registers its native backend with the
 * same engine (and tfjs picks it over the pure-JS CPU backend by priority); otherwise the
 * pure-JS backend runs. tfjs-node downloads libtensorflow when it installs, which fails
 * without network access, so it is optional and this module works either way.
 */
// A variable module name keeps TypeScript from requiring tfjs-node to be installed.
const nativeModule = '@tensorflow/tfjs-node';
try {
  await import(nativeModule);
} catch {
  // Not installed (the usual case offline): the pure-JS backend serves.
}

export * as tf from '@tensorflow/tfjs';
