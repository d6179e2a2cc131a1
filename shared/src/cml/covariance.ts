/**
 * Covariance regularizer of CML-NOTES section 6 over N rows `y^n` of dimension D:
 *
 *   C = (1/N) Σ_n (y^n − μ)(y^n − μ)ᵀ,   L_c = (1/N) (‖C‖_F − ‖diag(C)‖₂²)
 *
 * implemented as written: the Frobenius norm itself, minus the squared diagonal. Its gradient
 * (the mean's own derivative cancels because centred rows sum to zero):
 *
 *   ∂L_c/∂C = (1/N) (C / ‖C‖_F − 2 diag(C)),   ∂L_c/∂y^n = (2/N) (y^n − μ) ∂L_c/∂C
 *
 * `rows` is row-major N×D. When `gradient` (N×D) is given it receives ∂L_c/∂rows.
 * Cost O(N·D²): the training loop calls it on a subsample of a batch's rows.
 */
export function covarianceLoss(
  rows: ArrayLike<number>,
  numRows: number,
  dim: number,
  gradient?: Float64Array,
): number {
  if (rows.length !== numRows * dim) {
    throw new Error(`covarianceLoss: rows has ${rows.length} values, expected ${numRows}x${dim}`);
  }
  if (numRows < 2) {
    gradient?.fill(0);
    return 0;
  }

  const centred = centre(rows, numRows, dim);
  const covariance = covarianceMatrix(centred, numRows, dim);

  let squaredFrobenius = 0;
  let squaredDiagonal = 0;
  for (let a = 0; a < dim; a++) {
    for (let b = 0; b < dim; b++) squaredFrobenius += covariance[a * dim + b] ** 2;
    squaredDiagonal += covariance[a * dim + a] ** 2;
  }
  const frobenius = Math.sqrt(squaredFrobenius);
  const loss = (frobenius - squaredDiagonal) / numRows;

  if (gradient) {
    // ‖C‖_F has no gradient at C = 0; the guard only matters for degenerate batches.
    const inverseFrobenius = frobenius > 1e-12 ? 1 / frobenius : 0;
    const lossByCov = new Float64Array(dim * dim);
    for (let a = 0; a < dim; a++) {
      for (let b = 0; b < dim; b++) {
        const value = covariance[a * dim + b];
        lossByCov[a * dim + b] = (value * inverseFrobenius - (a === b ? 2 * value : 0)) / numRows;
      }
    }
    multiplyRows(centred, lossByCov, numRows, dim, 2 / numRows, gradient);
  }
  return loss;
}

function centre(rows: ArrayLike<number>, numRows: number, dim: number): Float64Array {
  const mean = new Float64Array(dim);
  for (let n = 0; n < numRows; n++) {
    for (let d = 0; d < dim; d++) mean[d] += rows[n * dim + d];
  }
  for (let d = 0; d < dim; d++) mean[d] /= numRows;

  const centred = new Float64Array(numRows * dim);
  for (let n = 0; n < numRows; n++) {
    for (let d = 0; d < dim; d++) centred[n * dim + d] = rows[n * dim + d] - mean[d];
  }
  return centred;
}

/**
 * (1/N) Yᵀ Y for centred Y. Accumulates the upper triangle row by row, four columns at a
 * time (independent accumulators), then mirrors it.
 */
function covarianceMatrix(centred: Float64Array, numRows: number, dim: number): Float64Array {
  const covariance = new Float64Array(dim * dim);
  for (let n = 0; n < numRows; n++) {
    const offset = n * dim;
    for (let a = 0; a < dim; a++) {
      const value = centred[offset + a];
      const rowOffset = a * dim;
      let b = a;
      for (; b + 3 < dim; b += 4) {
        covariance[rowOffset + b] += value * centred[offset + b];
        covariance[rowOffset + b + 1] += value * centred[offset + b + 1];
        covariance[rowOffset + b + 2] += value * centred[offset + b + 2];
        covariance[rowOffset + b + 3] += value * centred[offset + b + 3];
      }
      for (; b < dim; b++) covariance[rowOffset + b] += value * centred[offset + b];
    }
  }
  for (let a = 0; a < dim; a++) {
    for (let b = a; b < dim; b++) {
      covariance[a * dim + b] /= numRows;
      covariance[b * dim + a] = covariance[a * dim + b];
    }
  }
  return covariance;
}

/** out = scale · Y · M for Y (N×D) and M (D×D), four output columns at a time. */
function multiplyRows(
  rows: Float64Array,
  matrix: Float64Array,
  numRows: number,
  dim: number,
  scale: number,
  out: Float64Array,
): void {
  out.fill(0);
  for (let n = 0; n < numRows; n++) {
    const offset = n * dim;
    for (let a = 0; a < dim; a++) {
      const value = rows[offset + a] * scale;
      const matrixOffset = a * dim;
      let b = 0;
      for (; b + 3 < dim; b += 4) {
        out[offset + b] += value * matrix[matrixOffset + b];
        out[offset + b + 1] += value * matrix[matrixOffset + b + 1];
        out[offset + b + 2] += value * matrix[matrixOffset + b + 2];
        out[offset + b + 3] += value * matrix[matrixOffset + b + 3];
      }
      for (; b < dim; b++) out[offset + b] += value * matrix[matrixOffset + b];
    }
  }
}
