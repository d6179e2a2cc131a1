/** Feature alignment for cold-start items: GAN losses, exact W1, WGAN, WGAN-GP, WDGRL. */
export { solveAssignment, type Assignment } from './assignment.js';
export {
  alignColdItems,
  ALIGN_COLD_ITEMS_DEFAULTS,
  type AlignColdItemsInput,
  type AlignColdItemsOptions,
  type AlignColdItemsResult,
  type AlignmentDiagnostics,
  type ExportedEncoder,
} from './cold-start.js';
export {
  discriminatorLoss,
  nonSaturatingGeneratorLoss,
  saturatingGeneratorLoss,
} from './gan-losses.js';
export { criticGap, gradientPenalty, interpolate, type CriticFn } from './gradient-penalty.js';
export {
  applyPlainLayers,
  Mlp,
  projectRowsToUnitBall,
  projectToUnitBall,
  type Activation,
  type MlpSpec,
  type PlainDenseLayer,
} from './mlp.js';
export { createRandom, type Random } from './random.js';
export { solveTransport, type TransportPlan } from './transport.js';
export {
  euclideanCosts,
  exactWasserstein1,
  subsampledWasserstein1,
  type Wasserstein1Method,
  type Wasserstein1Options,
  type Wasserstein1Result,
} from './wasserstein.js';
export { wasserstein1d } from './wasserstein-1d.js';
export {
  WdgrlTrainer,
  WDGRL_DEFAULTS,
  type WdgrlOptions,
  type WdgrlParts,
  type WdgrlStepStats,
} from './wdgrl.js';
export {
  WGAN_DEFAULTS,
  WganCritic,
  wganCriticLoss,
  wganGeneratorLoss,
  type WganOptions,
} from './wgan.js';
export {
  WGAN_GP_DEFAULTS,
  WganGpCritic,
  type CriticStepStats,
  type WganGpOptions,
} from './wgan-gp.js';
