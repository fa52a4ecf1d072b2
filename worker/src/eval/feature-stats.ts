/**
 * The statistics behind the paper's feature analysis (docs/JCL.md, "statistical analysis of the
 * learned features"), over embeddings of M augmentations of N images laid out crop-major
 * [M, N, d] (crop j of image i at row j*N + i, as make-batch.ts lays out keys):
 *   - cosine similarities of positive pairs (two crops of one image) vs negative pairs (crops of two
 *     images), and their histograms;
 *   - alignment and uniformity (Wang & Isola 2020, "Understanding Contrastive Representation
 *     Learning through Alignment and Uniformity on the Hypersphere"):
 *       align   = E_{(x, x+)} ||f(x) - f(x+)||^alpha          (alpha = 2)
 *       uniform = log E_{x, y independent} exp(-t ||f(x) - f(y)||^2)   (t = 2)
 *   - the per-instance spread of the keys: eigenvalues of Sigma_i via the small Gram matrix.
 * Pure: host arrays in, numbers out. Sums are in float64.
 */

/** Embeddings [m, n, d] row-major, crop-major. */
export interface CropEmbeddings {
  data: Float32Array;
  m: number;
  n: number;
  d: number;
}

function row(e: CropEmbeddings, crop: number, image: number): number {
  return (crop * e.n + image) * e.d;
}

function dot(a: Float32Array, i: number, b: Float32Array, j: number, d: number): number {
  let s = 0;
  for (let t = 0; t < d; t++) s += a[i + t] * b[j + t];
  return s;
}

function sqDist(a: Float32Array, i: number, j: number, d: number): number {
  let s = 0;
  for (let t = 0; t < d; t++) {
    const x = a[i + t] - a[j + t];
    s += x * x;
  }
  return s;
}

/**
 * Cosine similarity of every positive pair (crops j < j' of the same image: n*m(m-1)/2 values) and of
 * negative pairs (crop j of images i < i', the same crop index so each image pair counts m times:
 * m*n(n-1)/2 values). Rows need not be normalised.
 */
export function pairCosines(e: CropEmbeddings): { positive: Float64Array; negative: Float64Array } {
  const { m, n, d, data } = e;
  const norms = new Float64Array(m * n);
  for (let r = 0; r < m * n; r++) norms[r] = Math.max(Math.sqrt(dot(data, r * d, data, r * d, d)), 1e-12);
  const cos = (a: number, b: number) => dot(data, a * d, data, b * d, d) / (norms[a] * norms[b]);
  const positive = new Float64Array((n * m * (m - 1)) / 2);
  let p = 0;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < m; j++) for (let k = j + 1; k < m; k++) positive[p++] = cos(j * n + i, k * n + i);
  const negative = new Float64Array((m * n * (n - 1)) / 2);
  let q = 0;
  for (let j = 0; j < m; j++)
    for (let i = 0; i < n; i++) for (let k = i + 1; k < n; k++) negative[q++] = cos(j * n + i, j * n + k);
  return { positive, negative };
}

/** A histogram over [lo, hi] with `bins` equal bins; values outside are clamped into the end bins. */
export interface Histogram {
  lo: number;
  hi: number;
  counts: number[];
}

export function histogram(values: ArrayLike<number>, bins: number, lo = -1, hi = 1): Histogram {
  if (!Number.isInteger(bins) || bins < 1)
    throw new RangeError(`bins: expected an integer >= 1, got ${bins}`);
  if (!(hi > lo)) throw new RangeError(`histogram range: expected lo < hi, got [${lo}, ${hi}]`);
  const counts = new Array<number>(bins).fill(0);
  for (let i = 0; i < values.length; i++) {
    const b = Math.floor(((values[i] - lo) / (hi - lo)) * bins);
    counts[Math.min(bins - 1, Math.max(0, b))]++;
  }
  return { lo, hi, counts };
}

/** Alignment (alpha = 2): mean squared distance over positive pairs (crops j < j' of one image). */
export function alignment(e: CropEmbeddings): number {
  const { m, n, d, data } = e;
  if (m < 2) throw new RangeError(`alignment: needs at least 2 crops per image, got ${m}`);
  let s = 0;
  let count = 0;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < m; j++)
      for (let k = j + 1; k < m; k++) {
        s += sqDist(data, row(e, j, i), row(e, k, i), d);
        count++;
      }
  return s / count;
}

/**
 * Uniformity (t = 2): log of the mean Gaussian potential over pairs of distinct images, one view
 * each (crop 0), as Wang & Isola's pdist over a batch. Log-sum-exp keeps it finite when the
 * potentials underflow.
 */
export function uniformity(e: CropEmbeddings, t = 2): number {
  const { n, d, data } = e;
  if (n < 2) throw new RangeError(`uniformity: needs at least 2 images, got ${n}`);
  const exps: number[] = [];
  for (let i = 0; i < n; i++)
    for (let k = i + 1; k < n; k++) exps.push(-t * sqDist(data, row(e, 0, i), row(e, 0, k), d));
  const max = Math.max(...exps);
  let s = 0;
  for (const x of exps) s += Math.exp(x - max);
  return max + Math.log(s / exps.length);
}

/**
 * Eigenvalues of a symmetric n x n matrix (row-major), descending, by cyclic Jacobi rotations.
 * Meant for small matrices (the M x M Gram of one instance's keys).
 */
export function symmetricEigenvalues(matrix: ArrayLike<number>, n: number): number[] {
  if (matrix.length !== n * n) throw new RangeError(`matrix: expected ${n * n} values, got ${matrix.length}`);
  const a = Float64Array.from(matrix);
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q] ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < n; p++)
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (Math.abs(apq) < 1e-300) continue;
        // Rotation angle that zeroes a[p][q] (Golub & Van Loan, symmetric Schur decomposition).
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const tan = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(tan * tan + 1);
        const s = tan * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p];
          const akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k];
          const aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
      }
  }
  return Array.from({ length: n }, (_, i) => a[i * n + i]).sort((x, y) => y - x);
}

/**
 * Eigenvalues of image i's key covariance Sigma_i = (1/M) sum_j (k_j - mu)(k_j - mu)^T, descending,
 * M of them (the rest of the d are zero: rank <= M - 1). Computed from the M x M Gram matrix
 * G = (1/M) D D^T of the centred keys D [M, d], which has the same non-zero eigenvalues as
 * Sigma = (1/M) D^T D, so no d x d decomposition is needed.
 */
export function keySpreadEigenvalues(e: CropEmbeddings, image: number): number[] {
  const { m, d, data } = e;
  const centred = new Float64Array(m * d); // [M, d]
  for (let t = 0; t < d; t++) {
    let mu = 0;
    for (let j = 0; j < m; j++) mu += data[row(e, j, image) + t];
    mu /= m;
    for (let j = 0; j < m; j++) centred[j * d + t] = data[row(e, j, image) + t] - mu;
  }
  const gram = new Float64Array(m * m);
  for (let j = 0; j < m; j++)
    for (let k = j; k < m; k++) {
      let s = 0;
      for (let t = 0; t < d; t++) s += centred[j * d + t] * centred[k * d + t];
      gram[j * m + k] = gram[k * m + j] = s / m;
    }
  return symmetricEigenvalues(gram, m).map((v) => Math.max(v, 0));
}

/** Mean, median, min and max of a list (the summaries features.json reports). */
export function summarize(values: ArrayLike<number>): {
  mean: number;
  median: number;
  min: number;
  max: number;
} {
  const xs = Array.from(values).sort((a, b) => a - b);
  if (xs.length === 0) return { mean: NaN, median: NaN, min: NaN, max: NaN };
  const mid = xs.length >> 1;
  return {
    mean: xs.reduce((s, x) => s + x, 0) / xs.length,
    median: xs.length % 2 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2,
    min: xs[0],
    max: xs[xs.length - 1],
  };
}
