/** A proportion with its Wilson score interval. */
export interface RateEstimate {
  rate: number;
  low: number;
  high: number;
}

/**
 * The Wilson score interval for `successes` out of `trials` at the normal quantile `z`
 * (1.96 for 95%):
 *
 *   centre = (p + z²/2n) / (1 + z²/n),  half = z √(p(1−p)/n + z²/4n²) / (1 + z²/n)
 *
 * Unlike p ± z√(p(1−p)/n) it stays inside [0, 1] and is not degenerate at p = 0 or 1, which
 * matters for the small conversion counts of a young experiment. No trials gives [0, 1].
 */
export function wilsonInterval(successes: number, trials: number, z = 1.959964): RateEstimate {
  if (trials <= 0) return { rate: 0, low: 0, high: 1 };
  const p = successes / trials;
  const z2 = z * z;
  const denominator = 1 + z2 / trials;
  const centre = (p + z2 / (2 * trials)) / denominator;
  const half = (z * Math.sqrt((p * (1 - p)) / trials + z2 / (4 * trials * trials))) / denominator;
  return { rate: p, low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}
