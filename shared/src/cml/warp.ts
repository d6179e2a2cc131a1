/**
 * WARP rank estimate (CML-NOTES section 6): when `violators` of `sampled` negatives fall inside
 * the margin, about that share of all `numItems` items rank above the positive:
 * rank ≈ floor(J · M / U).
 */
export function estimateRank(numItems: number, violators: number, sampled: number): number {
  return Math.floor((numItems * violators) / sampled);
}

/** The WARP weight w = log(rank + 1): pairs ranked far down get larger steps. */
export function warpWeight(rank: number): number {
  return Math.log(rank + 1);
}
