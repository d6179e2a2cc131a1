import { InputError } from '@cml-rec/shared/errors';
import { z } from 'zod';
import { MAX_ID_LENGTH } from '@cml-rec/shared/domain/interaction';
import { isStorableText } from '@cml-rec/shared/domain/text';

/** k from the query string: an integer in [1, maxK]; absent means `fallback`. */
export function parseK(raw: unknown, maxK: number, fallback = 10): number {
  if (raw === undefined) return fallback;
  const text = typeof raw === 'string' ? raw.trim() : '';
  const value = /^[+-]?\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value) || value < 1 || value > maxK) {
    throw new InputError(
      'INVALID_K',
      `k must be an integer from 1 to ${maxK}, got ${JSON.stringify(raw)}`,
      { details: { min: 1, max: maxK } },
    );
  }
  return value;
}

const STORABLE_TEXT_RULE = 'must not contain control characters or unpaired surrogates';

/** A client string that reaches PostgreSQL: `min` to `max` characters of storable text. */
export function storableTextSchema(min: number, max: number) {
  return z.string().min(min).max(max).refine(isStorableText, STORABLE_TEXT_RULE);
}

/**
 * An external id from the path: 1 to MAX_ID_LENGTH characters of storable text. An id that can
 * never exist answers INVALID_ID on every route, with or without fallback=popular.
 */
export function parseId(raw: unknown, name: string): string {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > MAX_ID_LENGTH) {
    throw new InputError(
      'INVALID_ID',
      `${name} must be 1 to ${MAX_ID_LENGTH} characters, got ${JSON.stringify(raw)}`,
    );
  }
  if (!isStorableText(raw)) {
    throw new InputError('INVALID_ID', `${name} ${STORABLE_TEXT_RULE}, got ${JSON.stringify(raw)}`);
  }
  return raw;
}

/** A boolean flag from the query string: true/false/1/0. */
export function parseFlag(raw: unknown, name: string, fallback: boolean): boolean {
  if (raw === undefined) return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new InputError('INVALID_FLAG', `${name} must be true or false, got ${JSON.stringify(raw)}`);
}

const MAX_FILTER_TOKENS = 20;
const MAX_TOKEN_LENGTH = 100;

/**
 * Filter tokens from the query string: repeated (`genre=a&genre=b`) and/or comma-separated
 * (`genre=a,b`); at most 20 tokens of at most 100 characters.
 */
export function parseTokens(raw: unknown, name: string): string[] {
  if (raw === undefined) return [];
  const values = Array.isArray(raw) ? raw : [raw];
  const tokens: string[] = [];
  for (const value of values) {
    if (typeof value !== 'string') throw invalidTokens(name, raw);
    for (const token of value.split(',')) {
      const trimmed = token.trim();
      if (trimmed.length > 0) tokens.push(trimmed);
    }
  }
  const tooLong = (token: string) => token.length > MAX_TOKEN_LENGTH;
  if (tokens.length > MAX_FILTER_TOKENS || tokens.some((t) => tooLong(t) || !isStorableText(t))) {
    throw invalidTokens(name, raw);
  }
  return tokens;
}

function invalidTokens(name: string, raw: unknown): InputError {
  return new InputError(
    'INVALID_FILTER',
    `${name} must be up to ${MAX_FILTER_TOKENS} comma-separated or repeated values of 1 to ${MAX_TOKEN_LENGTH} characters without control characters, got ${JSON.stringify(raw)}`,
  );
}

/** The unknown-user fallback: absent, or `popular`. */
export function parseFallback(raw: unknown): 'popular' | undefined {
  if (raw === undefined) return undefined;
  if (raw === 'popular') return 'popular';
  throw new InputError(
    'INVALID_FALLBACK',
    `fallback must be "popular" (or absent), got ${JSON.stringify(raw)}`,
  );
}

/** Parses a JSON body with `schema`; every problem is listed in one INVALID_BODY error. */
export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map(
    (issue) => `${issue.path.length > 0 ? issue.path.join('.') : 'body'}: ${issue.message}`,
  );
  throw new InputError('INVALID_BODY', `invalid request body: ${problems.join('; ')}`, {
    details: { problems },
  });
}

/** An external id inside a JSON body. */
export const idSchema = storableTextSchema(1, MAX_ID_LENGTH);

/** k from a JSON body: absent means `fallback`; otherwise the same rule and error as the query. */
export function parseBodyK(raw: unknown, maxK: number, fallback = 10): number {
  if (raw === undefined) return fallback;
  if (typeof raw !== 'number' || !Number.isSafeInteger(raw) || raw < 1 || raw > maxK) {
    throw new InputError(
      'INVALID_K',
      `k must be an integer from 1 to ${maxK}, got ${JSON.stringify(raw)}`,
      { details: { min: 1, max: maxK } },
    );
  }
  return raw;
}

export const tokenListSchema = z.array(storableTextSchema(1, MAX_TOKEN_LENGTH)).max(200);
