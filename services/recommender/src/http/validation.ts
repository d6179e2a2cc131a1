import { InputError } from '@cml-rec/shared/errors';
import { MAX_ID_LENGTH } from '@cml-rec/shared/domain/interaction';

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

/** An external id from the path: non-empty and at most MAX_ID_LENGTH characters. */
export function parseId(raw: unknown, name: string): string {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > MAX_ID_LENGTH) {
    throw new InputError(
      'INVALID_ID',
      `${name} must be 1 to ${MAX_ID_LENGTH} characters, got ${JSON.stringify(raw)}`,
    );
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
