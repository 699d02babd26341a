/**
 * Synthetic regression data for the ridge sweep: reproducible (seeded PRNG), with a known sparse
 * truth, so the sweep's best model can be checked against it. Runs only on the client.
 */
import type { RidgeData } from './ridge-model.js';

/** Generated data plus what generated it. */
export interface Synthetic extends RidgeData {
  /** The true linear coefficients (length p, mostly zero). */
  betaTrue: Float64Array;
  /** Variance of the added noise: the lowest MSE any model can reach on average. */
  noiseVar: number;
  /** Index of the feature with an extra quadratic effect (what degree ≥ 2 can pick up). */
  quadFeature: number;
}

/** Options of `makeData`. */
export interface DataOptions {
  n: number;
  p: number;
  k: number;
  /** Non-zero true coefficients. */
  nonZero: number;
  noiseSd: number;
  seed: number;
}

/** mulberry32: a small, fast 32-bit PRNG, enough for reproducible synthetic data. */
export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal draws by Box–Muller on top of a uniform generator. */
export function normal(rand: () => number): () => number {
  return () => {
    const u = 1 - rand(); // in (0, 1], so the log is finite
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
  };
}

/** Fisher–Yates shuffle of 0..n-1. */
function permutation(n: number, rand: () => number): Int32Array {
  const a = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/**
 * y = X β* + 0.5·(z_q² − 1) + ε. Feature scales differ a lot (0.1 to 10, shuffled), so an
 * unstandardized penalty shrinks small-scale features much harder: the standardize setting
 * matters. The quadratic term on one true feature gives degree 2 something to find; degree 3
 * only adds noise columns. Folds are a random balanced split.
 */
export function makeData(o: DataOptions): Synthetic {
  const { n, p, k } = o;
  const rand = mulberry32(o.seed);
  const gauss = normal(rand);

  const order = permutation(p, rand);
  const scale = new Float64Array(p);
  for (let j = 0; j < p; j++) scale[order[j]!] = 0.1 * 100 ** (j / (p - 1));

  // Sparse truth: effects of ±(0.5..2) per unit of standardized feature, on the raw scale.
  const betaTrue = new Float64Array(p);
  const support = permutation(p, rand).slice(0, o.nonZero);
  for (const j of support) betaTrue[j] = ((rand() < 0.5 ? -1 : 1) * (0.5 + 1.5 * rand())) / scale[j]!;
  const quadFeature = support[0]!;

  const X = new Float64Array(n * p);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < p; j++) {
      const z = gauss();
      X[i * p + j] = z * scale[j]!;
      s += X[i * p + j]! * betaTrue[j]!;
      if (j === quadFeature) s += 0.5 * (z * z - 1);
    }
    y[i] = s + o.noiseSd * gauss();
  }

  const folds = new Int32Array(n);
  const perm = permutation(n, rand);
  for (let i = 0; i < n; i++) folds[perm[i]!] = i % k;
  return { X, y, n, p, k, folds, betaTrue, noiseVar: o.noiseSd ** 2, quadFeature };
}

/** `count` values log-spaced from `lo` to `hi`, both included. */
export function logSpace(lo: number, hi: number, count: number): number[] {
  const a = Math.log10(lo);
  const b = Math.log10(hi);
  return Array.from({ length: count }, (_, i) => 10 ** (a + ((b - a) * i) / (count - 1)));
}
