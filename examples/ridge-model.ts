/**
 * Ridge regression with k-fold cross-validation, written so it can be SHIPPED to agents.
 *
 * flotilla sends these functions as source text and rebuilds them remotely, so each one may use
 * only its parameters, JavaScript built-ins and the other functions shipped beside it
 * (`choleskySolve`, `expandFeatures`, `evaluate`): no imports, no module-level constants.
 */

/** The data set every task reads: a row-major n×p matrix, its response and fold labels. */
export interface RidgeData {
  /** Row-major n×p design matrix (raw, unscaled features). */
  X: Float64Array;
  /** Response, length n. */
  y: Float64Array;
  n: number;
  p: number;
  /** Number of folds. */
  k: number;
  /** Fold label in [0, k) of each row. */
  folds: Int32Array;
}

/** One grid point: a penalty and the two feature settings. */
export interface GridPoint {
  lambda: number;
  /** Polynomial degree: each feature x contributes x, x², …, x^degree (no interactions). */
  degree: number;
  /** Scale each column to unit variance on the training rows before penalizing. */
  standardize: boolean;
}

/** What one grid point's cross-validation returns. */
export interface CvResult {
  /** Mean held-out MSE over the k folds. */
  mse: number;
  /** Standard deviation of the k fold MSEs. */
  sd: number;
  /** The k fold MSEs. */
  foldMse: number[];
  /** Coefficients on the original feature scale, averaged over folds (length p·degree). */
  beta: Float64Array;
  /** Time this task spent computing, in ms (measured where it ran). */
  ms: number;
}

/**
 * Solves A x = b for symmetric positive definite A by Cholesky factorization A = L Lᵀ.
 * @param A m×m row-major; only its lower triangle is read, and it is overwritten with L.
 * @param b right-hand side, length m (not modified).
 * @throws Error when A is not (numerically) positive definite.
 */
export function choleskySolve(A: Float64Array, b: Float64Array, m: number): Float64Array {
  for (let j = 0; j < m; j++) {
    let d = A[j * m + j]!;
    for (let t = 0; t < j; t++) d -= A[j * m + t]! * A[j * m + t]!;
    if (!(d > 0)) throw new Error(`matrix not positive definite at pivot ${j} (value ${d})`);
    const ljj = Math.sqrt(d);
    A[j * m + j] = ljj;
    for (let i = j + 1; i < m; i++) {
      let s = A[i * m + j]!;
      for (let t = 0; t < j; t++) s -= A[i * m + t]! * A[j * m + t]!;
      A[i * m + j] = s / ljj;
    }
  }
  // Forward substitution L z = b, then back substitution Lᵀ x = z.
  const x = Float64Array.from(b);
  for (let i = 0; i < m; i++) {
    let s = x[i]!;
    for (let t = 0; t < i; t++) s -= A[i * m + t]! * x[t]!;
    x[i] = s / A[i * m + i]!;
  }
  for (let i = m - 1; i >= 0; i--) {
    let s = x[i]!;
    for (let t = i + 1; t < m; t++) s -= A[t * m + i]! * x[t]!;
    x[i] = s / A[i * m + i]!;
  }
  return x;
}

/**
 * Polynomial expansion without interactions: column d·p + j holds x_j^(d+1), so the first p
 * columns are the linear terms (the ones compared with the true coefficients).
 * @returns row-major n×(p·degree) matrix.
 */
export function expandFeatures(X: Float64Array, n: number, p: number, degree: number): Float64Array {
  const q = p * degree;
  const Z = new Float64Array(n * q);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < p; j++) {
      const x = X[i * p + j]!;
      let v = 1;
      for (let d = 0; d < degree; d++) {
        v *= x;
        Z[i * q + d * p + j] = v;
      }
    }
  }
  return Z;
}

/**
 * k-fold cross-validated ridge regression at one grid point. For each fold: center (and, if
 * asked, scale) the columns using the training rows only, so nothing leaks from the held-out
 * fold; solve (ZᵀZ + λI)β = Zᵀy; score MSE on the held-out rows. The intercept is the training
 * mean of y, unpenalized.
 */
export function evaluate(g: GridPoint, data: RidgeData): CvResult {
  const t0 = performance.now();
  const { X, y, n, p, k, folds } = data;
  const q = p * g.degree;
  const Z = expandFeatures(X, n, p, g.degree);
  const foldMse: number[] = [];
  const betaSum = new Float64Array(q);
  const mu = new Float64Array(q);
  const sc = new Float64Array(q);
  const r = new Float64Array(q);
  for (let f = 0; f < k; f++) {
    // Column means and scales over the training rows.
    mu.fill(0);
    sc.fill(0);
    let ntr = 0;
    let ybar = 0;
    for (let i = 0; i < n; i++) {
      if (folds[i] === f) continue;
      ntr++;
      ybar += y[i]!;
      for (let a = 0; a < q; a++) mu[a]! += Z[i * q + a]!;
    }
    ybar /= ntr;
    for (let a = 0; a < q; a++) mu[a]! /= ntr;
    for (let i = 0; i < n; i++) {
      if (folds[i] === f) continue;
      for (let a = 0; a < q; a++) sc[a]! += (Z[i * q + a]! - mu[a]!) ** 2;
    }
    for (let a = 0; a < q; a++) sc[a] = g.standardize ? Math.sqrt(sc[a]! / (ntr - 1)) || 1 : 1;

    // Gram matrix (lower triangle) and right-hand side of the normal equations.
    const A = new Float64Array(q * q);
    const b = new Float64Array(q);
    for (let i = 0; i < n; i++) {
      if (folds[i] === f) continue;
      for (let a = 0; a < q; a++) r[a] = (Z[i * q + a]! - mu[a]!) / sc[a]!;
      const yc = y[i]! - ybar;
      for (let a = 0; a < q; a++) {
        const ra = r[a]!;
        b[a]! += ra * yc;
        const row = a * q;
        for (let c = 0; c <= a; c++) A[row + c]! += ra * r[c]!;
      }
    }
    for (let a = 0; a < q; a++) A[a * q + a]! += g.lambda;
    const beta = choleskySolve(A, b, q);

    // Held-out error.
    let sse = 0;
    let nte = 0;
    for (let i = 0; i < n; i++) {
      if (folds[i] !== f) continue;
      let pred = ybar;
      for (let a = 0; a < q; a++) pred += ((Z[i * q + a]! - mu[a]!) / sc[a]!) * beta[a]!;
      sse += (y[i]! - pred) ** 2;
      nte++;
    }
    foldMse.push(sse / nte);
    for (let a = 0; a < q; a++) betaSum[a]! += beta[a]! / sc[a]!; // back to the original scale
  }
  const mse = foldMse.reduce((s, v) => s + v, 0) / k;
  const sd = Math.sqrt(foldMse.reduce((s, v) => s + (v - mse) ** 2, 0) / (k - 1));
  const beta = betaSum.map((v) => v / k);
  return { mse, sd, foldMse, beta, ms: performance.now() - t0 };
}
