import { Random } from '../util/random.js';

/**
 * The learned space: one row of `dim` float32 per user and per item, row-major.
 *
 * The tables may sit on a SharedArrayBuffer so that worker threads update them in place
 * (Hogwild); everything here works on either kind of buffer.
 */
export interface EmbeddingTables {
  dim: number;
  numUsers: number;
  numItems: number;
  users: Float32Array;
  items: Float32Array;
}

export interface InitOptions {
  seed: number;
  /** Allocate on SharedArrayBuffer so worker threads can share the tables. */
  shared?: boolean;
}

/**
 * Rows drawn from N(0, 1/dim), so a row's expected norm is about 1, then projected into the
 * unit ball as the constraint ||x|| <= 1 requires from the first step on.
 */
export function initTables(
  numUsers: number,
  numItems: number,
  dim: number,
  { seed, shared = false }: InitOptions,
): EmbeddingTables {
  const random = new Random(seed);
  const users = allocateFloats(numUsers * dim, shared);
  const items = allocateFloats(numItems * dim, shared);
  const scale = 1 / Math.sqrt(dim);
  for (const table of [users, items]) {
    for (let n = 0; n < table.length; n++) table[n] = random.normal() * scale;
    for (let row = 0; row < table.length / dim; row++) projectRowToUnitBall(table, row * dim, dim);
  }
  return { dim, numUsers, numItems, users, items };
}

export function allocateFloats(length: number, shared: boolean): Float32Array {
  if (!shared) return new Float32Array(length);
  return new Float32Array(new SharedArrayBuffer(length * Float32Array.BYTES_PER_ELEMENT));
}

/** Scales the row at `offset` back onto the unit sphere when it left the unit ball. */
export function projectRowToUnitBall(table: Float32Array, offset: number, dim: number): void {
  let squaredNorm = 0;
  for (let d = 0; d < dim; d++) squaredNorm += table[offset + d] * table[offset + d];
  if (squaredNorm <= 1) return;

  const scale = 1 / Math.sqrt(squaredNorm);
  for (let d = 0; d < dim; d++) table[offset + d] *= scale;
}

/** Largest row norm in a table; tests use it to check the unit-ball constraint. */
export function maxRowNorm(table: Float32Array, dim: number): number {
  let largest = 0;
  for (let offset = 0; offset < table.length; offset += dim) {
    let squaredNorm = 0;
    for (let d = 0; d < dim; d++) squaredNorm += table[offset + d] * table[offset + d];
    largest = Math.max(largest, Math.sqrt(squaredNorm));
  }
  return largest;
}

/** True when every entry is finite: the divergence guard's check. */
export function allFinite(table: Float32Array): boolean {
  for (let n = 0; n < table.length; n++) {
    if (!Number.isFinite(table[n])) return false;
  }
  return true;
}
