import { parseArgs, type ParseArgsConfig } from 'node:util';
import { z } from 'zod';
import type { ArtifactStore } from '@cml-rec/shared/artifacts/store';
import { UsageError } from '@cml-rec/shared/cli/run';
import { loadEnvConfig } from '@cml-rec/shared/config/env';
import type { Pool } from '@cml-rec/shared/db/pool';
import { AppError, errorMessage } from '@cml-rec/shared/errors';
import type { Logger } from '@cml-rec/shared/logging/logger';
import { readModelVersion } from '@cml-rec/shared/model/version-files';
import {
  activateVersion,
  getActiveVersion,
  getRollbackTarget,
  getVersion,
  rejectVersion,
  RegistryErrorCode,
  rollbackVersion,
  type ModelVersion,
} from '@cml-rec/shared/registry/registry';

/**
 * The promotion gate: a candidate replaces the active version only when none of its validation
 * metrics falls more than a tolerance below the active version's. The first version always
 * passes (there is nothing to compare with).
 */
export interface GateCheck {
  /** Dotted path into the version's `metrics`, e.g. `cml.at.50.recall`. */
  metric: string;
  /** Absolute slack: the candidate passes when `candidate >= active - tolerance`. */
  tolerance: number;
}

export interface GateConfig {
  checks: GateCheck[];
}

export const DEFAULT_GATE_TOLERANCE = 0.01;
export const DEFAULT_GATE_METRICS = ['cml.at.50.recall', 'cml.at.10.ndcg'];
export const defaultGate: GateConfig = {
  checks: DEFAULT_GATE_METRICS.map((metric) => ({ metric, tolerance: DEFAULT_GATE_TOLERANCE })),
};

export interface CheckResult extends GateCheck {
  candidate: number | null;
  active: number | null;
  passed: boolean;
  note: string;
}

export interface GateDecision {
  passed: boolean;
  /** One sentence for the registry's status_reason. */
  reason: string;
  /** The active version compared with; null for the first version. */
  comparedWith: string | null;
  checks: CheckResult[];
}

/**
 * Reads a number at a dotted path in a metrics record. Versions registered before the metrics
 * were stored flat kept them under `metrics.metrics`; that nesting is looked at as a fallback.
 */
export function readMetric(metrics: Record<string, unknown>, path: string): number | null {
  const walk = (root: unknown): unknown =>
    path
      .split('.')
      .reduce<unknown>(
        (node, key) =>
          node !== null && typeof node === 'object'
            ? (node as Record<string, unknown>)[key]
            : undefined,
        root,
      );
  const value = walk(metrics) ?? walk(metrics.metrics);
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/** Compares a candidate's metrics with the active version's. Pure: no database. */
export function evaluateGate(
  candidate: Pick<ModelVersion, 'id' | 'metrics'>,
  active: Pick<ModelVersion, 'id' | 'metrics'> | undefined,
  config: GateConfig,
): GateDecision {
  if (!active) {
    return {
      passed: true,
      reason: 'promotion gate: first version, no active version to compare with',
      comparedWith: null,
      checks: [],
    };
  }
  const checks = config.checks.map((check): CheckResult => {
    const mine = readMetric(candidate.metrics, check.metric);
    const theirs = readMetric(active.metrics, check.metric);
    const base = { ...check, candidate: mine, active: theirs };
    if (mine === null) {
      return { ...base, passed: false, note: `${check.metric}: the candidate has no value` };
    }
    if (theirs === null) {
      return { ...base, passed: true, note: `${check.metric}: the active version has no value` };
    }
    const floor = theirs - check.tolerance;
    const passed = mine >= floor;
    const relation = passed ? '>=' : '<';
    return {
      ...base,
      passed,
      note:
        `${check.metric} ${format(mine)} ${relation} ${format(theirs)} - ${check.tolerance} ` +
        `= ${format(floor)}`,
    };
  });
  const failed = checks.filter((check) => !check.passed);
  const passed = failed.length === 0;
  const reason = passed
    ? `promotion gate passed against ${active.id}: ${checks.map((c) => c.note).join('; ')}`
    : `promotion gate failed against ${active.id}: ${failed.map((c) => c.note).join('; ')}`;
  return { passed, reason, comparedWith: active.id, checks };
}

function format(value: number): string {
  return value.toFixed(4);
}

/**
 * Parses a gate specification: comma-separated `metric[:tolerance]` entries, e.g.
 * `cml.at.50.recall:0.01,cml.at.10.ndcg`; entries without a tolerance get `defaultTolerance`.
 */
export function parseGateSpec(spec: string, defaultTolerance = DEFAULT_GATE_TOLERANCE): GateConfig {
  const checks = spec
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0)
    .map((entry) => {
      const [metric, tolerance, ...rest] = entry.split(':');
      const value = tolerance === undefined ? defaultTolerance : Number(tolerance);
      if (rest.length > 0 || !/^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$/.test(metric)) {
        throw new UsageError(
          `gate entry ${JSON.stringify(entry)} is not metric[:tolerance] (e.g. cml.at.50.recall:0.01)`,
        );
      }
      if (!Number.isFinite(value) || value < 0) {
        throw new UsageError(`gate tolerance in ${JSON.stringify(entry)} must be a number >= 0`);
      }
      return { metric, tolerance: value };
    });
  if (checks.length === 0) throw new UsageError('the gate needs at least one metric');
  return { checks };
}

const gateEnvSchema = z.object({
  /** Gate specification (see parseGateSpec); default: DEFAULT_GATE_METRICS. */
  gate: z.string().optional(),
  /** Tolerance for entries without their own. */
  tolerance: z.coerce.number().min(0).default(DEFAULT_GATE_TOLERANCE),
});

/** Command-line text for the gate options, shared by cml-train, cml-retrain and cml-versions. */
export const gateUsage = `promotion gate (env PROMOTION_GATE, PROMOTION_TOLERANCE):
  --gate SPEC             metric[:tolerance],... (default ${DEFAULT_GATE_METRICS.join(',')})
  --tolerance T           tolerance of entries without one (default ${DEFAULT_GATE_TOLERANCE})`;

/** The gate from `--gate`/`--tolerance`, else PROMOTION_GATE/PROMOTION_TOLERANCE, else default. */
export function loadGateConfig(
  flags: { gate?: string; tolerance?: string },
  env: NodeJS.ProcessEnv = process.env,
): GateConfig {
  const fromEnv = loadEnvConfig(
    gateEnvSchema,
    { gate: 'PROMOTION_GATE', tolerance: 'PROMOTION_TOLERANCE' },
    env,
  );
  let tolerance = fromEnv.tolerance;
  if (flags.tolerance !== undefined) {
    tolerance = Number(flags.tolerance);
    if (!Number.isFinite(tolerance) || tolerance < 0) {
      throw new UsageError(`--tolerance must be a number >= 0, got ${flags.tolerance}`);
    }
  }
  return parseGateSpec(flags.gate ?? fromEnv.gate ?? DEFAULT_GATE_METRICS.join(','), tolerance);
}

type OptionsConfig = NonNullable<ParseArgsConfig['options']>;

/**
 * Takes the given options out of `argv` and returns their values with the rest of `argv`
 * untouched, so a command can add flags to a parser it does not own (cml-train's options).
 */
export function takeOptions(
  argv: string[],
  options: OptionsConfig,
): { values: Record<string, string | boolean | undefined>; rest: string[] } {
  const { values, tokens } = parseArgs({
    args: argv,
    options,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const used = new Set<number>();
  for (const token of tokens) {
    if (token.kind !== 'option' || !(token.name in options)) continue;
    used.add(token.index);
    if (token.value !== undefined && !token.inlineValue) used.add(token.index + 1);
    if (options[token.name].type === 'string' && token.value === undefined) {
      throw new UsageError(`${token.rawName} needs a value`);
    }
    if (options[token.name].type === 'boolean' && token.value !== undefined) {
      throw new UsageError(`${token.rawName} takes no value`);
    }
  }
  const known: Record<string, string | boolean | undefined> = {};
  for (const name of Object.keys(options)) {
    const value = values[name];
    known[name] = Array.isArray(value) ? value.at(-1) : value;
  }
  return { values: known, rest: argv.filter((_, index) => !used.has(index)) };
}

export interface PromoteOptions {
  gate: GateConfig;
  /** Activate even when the gate fails (the failed checks are recorded with the activation). */
  force?: boolean;
  /** Who asks (cml-train, cml-retrain, cml-versions): part of the recorded reason. */
  actor: string;
}

export type PromotionResult =
  | { outcome: 'promoted'; decision: GateDecision; forced: boolean; previousActive: string | null }
  | { outcome: 'rejected'; decision: GateDecision }
  | { outcome: 'already-active' };

/**
 * Verifies the version's artifacts (a truncated or altered file refuses the promotion), runs the
 * gate against the active version and, if it passes or `force` is set, activates the version
 * with the decision recorded; otherwise the version stays a candidate with the reason.
 * The switch only happens if the active version is still the one compared with; when another
 * promotion slipped in between, the decision is taken again (three tries).
 */
export async function promoteVersion(
  pool: Pool,
  store: ArtifactStore,
  id: string,
  options: PromoteOptions,
  logger: Logger,
): Promise<PromotionResult> {
  const version = await getVersion(pool, id);
  if (!version) {
    throw new AppError(RegistryErrorCode.notFound, `model version ${id} is not registered`, {
      status: 404,
    });
  }
  if (version.status === 'active') return { outcome: 'already-active' };
  await verifyArtifacts(store, version);

  for (let attempt = 1; ; attempt++) {
    const active = await getActiveVersion(pool);
    if (active?.id === id) return { outcome: 'already-active' };
    const decision = evaluateGate(version, active, options.gate);
    const forced = !decision.passed && options.force === true;
    if (!decision.passed && !forced) {
      await rejectVersion(pool, id, decision.reason, { gate: decision, actor: options.actor });
      logger.warn({ version: id, reason: decision.reason }, 'promotion gate kept the candidate');
      return { outcome: 'rejected', decision };
    }

    const reason = forced
      ? `forced by ${options.actor} despite: ${decision.reason}`
      : `${decision.reason} (${options.actor})`;
    try {
      const result = await activateVersion(pool, id, reason, {
        expectedActive: active?.id ?? null,
        details: { gate: decision, forced, actor: options.actor },
      });
      logger.info({ version: id, previous: result.previousActive, forced }, 'version promoted');
      return { outcome: 'promoted', decision, forced, previousActive: result.previousActive };
    } catch (error) {
      const raced = error instanceof AppError && error.code === RegistryErrorCode.activeChanged;
      if (!raced || attempt >= 3) throw error;
      logger.warn({ version: id, attempt }, 'active version changed during promotion; retrying');
    }
  }
}

/**
 * Re-activates the version that was active before the current one, after checking that its
 * artifacts still load.
 */
export async function rollbackActive(
  pool: Pool,
  store: ArtifactStore,
  reason: string,
  logger: Logger,
): Promise<{ from: string; to: string }> {
  const { active, target } = await getRollbackTarget(pool);
  await verifyArtifacts(store, target);
  const result = await rollbackVersion(pool, reason, { expectedActive: active.id });
  logger.info({ ...result, reason }, 'rolled back');
  return result;
}

/** Loads every artifact of the version (checksums, ONNX sessions), then frees them. */
export async function verifyArtifacts(
  store: ArtifactStore,
  version: Pick<ModelVersion, 'id' | 'checksum'>,
): Promise<void> {
  try {
    const loaded = await readModelVersion(store, version.id, version.checksum);
    await loaded.release();
  } catch (error) {
    throw new AppError(
      error instanceof AppError ? error.code : 'ARTIFACT_UNREADABLE',
      `version ${version.id} cannot be activated: its artifacts do not load: ${errorMessage(error)}`,
      { status: 500, retriable: false, cause: error },
    );
  }
}
