import { createHash } from 'node:crypto';

export interface Variant {
  name: string;
  modelVersion: string;
  /** Relative share of users; the weights need not sum to 1. */
  weight: number;
}

/**
 * A point in [0, 1) from sha256(salt, subject): the same on every replica and after every
 * restart, uniform enough that 10,000 users land within a fraction of a percent of the
 * weights, and independent across experiments with different salts. The 0x1f separator keeps
 * ("ab", "c") and ("a", "bc") apart.
 */
export function bucketOf(salt: string, subject: string): number {
  const digest = createHash('sha256').update(salt).update('\x1f').update(subject).digest();
  // 48 bits: exactly representable as a double, far finer than any weight.
  return digest.readUIntBE(0, 6) / 2 ** 48;
}

/** The variant a subject (user id or session id) is assigned to, by cumulative weight. */
export function assignVariant(
  salt: string,
  subject: string,
  variants: readonly Variant[],
): Variant {
  const total = variants.reduce((sum, variant) => sum + variant.weight, 0);
  const point = bucketOf(salt, subject) * total;
  let cumulative = 0;
  for (const variant of variants) {
    cumulative += variant.weight;
    if (point < cumulative) return variant;
  }
  // Only reachable through floating-point rounding at the very top of the range.
  return variants[variants.length - 1];
}
