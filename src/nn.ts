/**
 * Functional neural-network helpers over pytree parameters: seeded
 * initialisers, layers, losses. Parameters are plain objects of tensors, so
 * they pass through grad, jit and the optimisers unchanged in structure.
 * Every entry point checks its arguments and names itself when they are wrong.
 */
import { DTypeError, LazygradError, ShapeError, fmtShape } from '../ir';
import { conv2d as conv2dOp, maxPool2d as maxPool2dOp, avgPool2d as avgPool2dOp } from './conv';
import { rand, randn } from './creation';
import { take } from './indexing';
import { checkOptions, describeValue, rules } from './option-check';
import { where } from './ops';
import { readTensor } from './realize';
import { Tensor } from './tensor';
import { isTraced } from './traced';
import { initBatchNorm, initLayerNorm } from './nn-normalization';

export { layerNorm, batchNorm } from './nn-normalization';
export type {
  LayerNormParams,
  LayerNormOptions,
  BatchNormParams,
  BatchNormStats,
  BatchNormOptions,
} from './nn-normalization';
export { dropout, type DropoutOptions } from './nn-dropout';
export { attention, type AttentionOptions } from './nn-attention';

export interface LinearParams {
  w: Tensor;
  b: Tensor;
}
export interface ConvParams {
  w: Tensor;
  b: Tensor;
}
export interface EmbeddingParams {
  w: Tensor;
}
export interface Conv2dOptions {
  stride?: number;
  padding?: number;
}

/** Uniform(-bound, bound), realised so parameters are buffers. */
function uniform(shape: number[], bound: number): Tensor {
  return rand(shape)
    .mul(2 * bound)
    .sub(bound)
    .realize();
}

function positiveInt(v: number, name: string, op: string): number {
  if (!Number.isInteger(v) || v <= 0)
    throw new ShapeError(`${op}: ${name} must be a positive integer, got ${describeValue(v)}`);
  return v;
}

/** PyTorch's default initialisation: U(-1/sqrt(fanIn), 1/sqrt(fanIn)) for weights and biases. */
export const init = {
  linear(inDim: number, outDim: number): LinearParams {
    positiveInt(inDim, 'inDim', 'nn.init.linear');
    positiveInt(outDim, 'outDim', 'nn.init.linear');
    const bound = 1 / Math.sqrt(inDim);
    return { w: uniform([inDim, outDim], bound), b: uniform([outDim], bound) };
  },
  mlp(sizes: number[]): LinearParams[] {
    if (!Array.isArray(sizes) || sizes.length < 2)
      throw new ShapeError(
        `nn.init.mlp: expected an array of at least two layer sizes such as [784, 512, 10], got ${describeValue(sizes)}`,
      );
    sizes.forEach((d, i) => positiveInt(d, `sizes[${i}]`, 'nn.init.mlp'));
    return sizes.slice(1).map((out, i) => init.linear(sizes[i], out));
  },
  conv2d(inC: number, outC: number, k: number): ConvParams {
    positiveInt(inC, 'inC', 'nn.init.conv2d');
    positiveInt(outC, 'outC', 'nn.init.conv2d');
    positiveInt(k, 'k', 'nn.init.conv2d');
    const bound = 1 / Math.sqrt(inC * k * k);
    return { w: uniform([outC, inC, k, k], bound), b: uniform([outC], bound) };
  },
  /** A table of `vocab` rows of width `dim`, N(0, 1) as PyTorch's nn.Embedding. */
  embedding(vocab: number, dim: number): EmbeddingParams {
    positiveInt(vocab, 'vocab', 'nn.init.embedding');
    positiveInt(dim, 'dim', 'nn.init.embedding');
    return { w: randn([vocab, dim]).realize() };
  },
  layerNorm: initLayerNorm,
  batchNorm: initBatchNorm,
};

function needTensor(v: unknown, what: string, op: string): asserts v is Tensor {
  if (!(v instanceof Tensor)) throw new LazygradError(`${op}: ${what} must be a tensor, got ${describeValue(v)}`);
}

/** Layer parameters {w, b}: tensors of the ranks the layer needs, the bias one entry per output. */
function checkParams(p: unknown, op: string, wRank: number, given: string, made: string): asserts p is LinearParams {
  const q = p as Partial<LinearParams> | null | undefined;
  if (q === null || typeof q !== 'object' || !(q.w instanceof Tensor) || !(q.b instanceof Tensor))
    throw new LazygradError(`${op}: expected ${given} {w, b} of tensors (as ${made} gives), got ${describeValue(p)}`);
  const outDim = wRank === 2 ? q.w.shape[1] : q.w.shape[0];
  if (q.w.ndim !== wRank || q.b.ndim !== 1 || q.b.shape[0] !== outDim)
    throw new ShapeError(
      `${op}: ${given} w ${fmtShape(q.w.shape)} and b ${fmtShape(q.b.shape)} do not fit ` +
        `(expected a ${wRank}-D w and b of shape [${wRank === 2 ? 'w.shape[1]' : 'w.shape[0]'}], as ${made} gives)`,
    );
}

function linearLayer(p: LinearParams, x: unknown, op: string, given: string): Tensor {
  checkParams(p, op, 2, given, 'nn.init.linear');
  needTensor(x, 'the input x', op);
  const [inDim] = p.w.shape;
  if (x.ndim === 0 || x.shape[x.ndim - 1] !== inDim)
    throw new ShapeError(
      `${op}: input ${x.dtype}${fmtShape(x.shape)} does not fit ${given} w ${fmtShape(p.w.shape)} (expected the input's last axis to be ${inDim})`,
    );
  return x.matmul(p.w).add(p.b);
}

export function linear(p: LinearParams, x: Tensor): Tensor {
  return linearLayer(p, x, 'nn.linear', 'parameters');
}

export function mlp(ps: LinearParams[], x: Tensor): Tensor {
  if (!Array.isArray(ps))
    throw new LazygradError(
      `nn.mlp: expected an array of layer parameters {w, b} (as nn.init.mlp gives), got ${describeValue(ps)}`,
    );
  needTensor(x, 'the input x', 'nn.mlp');
  let h = x;
  ps.forEach((p, i) => {
    h = linearLayer(p, h, 'nn.mlp', `layer ${i} parameters`);
    if (i < ps.length - 1) h = h.relu();
  });
  return h;
}

const CONV_OPTIONS = { stride: rules.positiveInt, padding: rules.nonNegativeInt };

export function conv2d(p: ConvParams, x: Tensor, opts: Conv2dOptions = {}): Tensor {
  const op = 'nn.conv2d';
  const o = checkOptions<Conv2dOptions>(op, opts, CONV_OPTIONS);
  checkParams(p, op, 4, 'parameters', 'nn.init.conv2d');
  needTensor(x, 'the input x', op);
  if (x.ndim !== 4)
    throw new ShapeError(`${op}: expected a 4-D NCHW input [N, C, H, W], got ${x.dtype}${fmtShape(x.shape)}`);
  const [outC, inC] = p.w.shape;
  if (x.shape[1] !== inC)
    throw new ShapeError(
      `${op}: input ${fmtShape(x.shape)} has ${x.shape[1]} channels (axis 1 of NCHW) but the weights w ${fmtShape(p.w.shape)} expect ${inC}`,
    );
  return conv2dOp(x, p.w, o).add(p.b.reshape([1, outC, 1, 1]));
}

export function maxPool2d(x: Tensor, kernel: number, opts: Conv2dOptions = {}): Tensor {
  return maxPool2dOp(x, kernel, checkOptions<Conv2dOptions>('nn.maxPool2d', opts, CONV_OPTIONS));
}

export function avgPool2d(x: Tensor, kernel: number, opts: Conv2dOptions = {}): Tensor {
  return avgPool2dOp(x, kernel, checkOptions<Conv2dOptions>('nn.avgPool2d', opts, CONV_OPTIONS));
}

/**
 * Rows of the table `p.w` [vocab, dim] for int32 token ids of any shape: [...ids.shape, dim].
 * One indirect load per element (no one-hot product); the gradient of `w` sums the rows' cotangents
 * per id. Ids outside [-vocab, vocab) are an error when they can be read and clamp inside jit, as `take`.
 */
export function embedding(p: EmbeddingParams, ids: Tensor): Tensor {
  const op = 'nn.embedding';
  const q = p as Partial<EmbeddingParams> | null | undefined;
  if (q === null || typeof q !== 'object' || !(q.w instanceof Tensor))
    throw new LazygradError(`${op}: expected parameters {w} (as nn.init.embedding gives), got ${describeValue(p)}`);
  if (q.w.ndim !== 2)
    throw new ShapeError(`${op}: the table w must be 2-D [vocab, dim], got ${q.w.dtype}${fmtShape(q.w.shape)}`);
  needTensor(ids, 'the token ids', op);
  if (ids.dtype !== 'int32')
    throw new DTypeError(`${op}: token ids must be int32, got ${ids.dtype}${fmtShape(ids.shape)}`);
  try {
    return take(q.w, ids, 0);
  } catch (e) {
    if (e instanceof LazygradError && e.message.startsWith('take:'))
      throw new (e.constructor as new (m: string) => LazygradError)(`${op}: ${e.message.slice('take: '.length)}`);
    throw e;
  }
}

/** Throws naming the first label outside [0, classes) (labels whose values can be read). */
function checkLabelRange(labels: Tensor, classes: number): void {
  const values = readTensor(labels, 'nn.crossEntropy', false);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < 0 || v >= classes)
      throw new LazygradError(
        `nn.crossEntropy: label ${v} at index ${i} is out of range for ${classes} classes (expected 0 <= label < ${classes})`,
      );
  }
}

/**
 * Mean softmax cross-entropy of logits [B, C] against int32 class labels [B]
 * (through logSoftmax, stable). A label outside [0, C) is an error when the
 * labels can be read (realised, or computable outside a trace); when they are
 * traced (an argument of jit) their values are unknown at trace time, so an
 * out-of-range label makes the loss NaN instead — never a silent 0 (the
 * gradient stays finite; the NaN loss is the signal).
 */
export function crossEntropy(logits: Tensor, labels: Tensor): Tensor {
  const op = 'nn.crossEntropy';
  needTensor(logits, 'logits', op);
  if (!(labels instanceof Tensor))
    throw new LazygradError(`${op}: labels must be an int32 tensor of class indices, got ${describeValue(labels)}`);
  if (labels.dtype !== 'int32')
    throw new DTypeError(`${op}: labels must be int32 class indices, got ${labels.dtype}${fmtShape(labels.shape)}`);
  if (logits.ndim !== 2 || labels.ndim !== 1 || labels.shape[0] !== logits.shape[0]) {
    throw new ShapeError(
      `${op}: expected logits [B, C] and labels [B], got ${fmtShape(logits.shape)} and ${fmtShape(labels.shape)}`,
    );
  }
  const classes = logits.shape[1];
  const traced = isTraced(labels);
  if (!traced) checkLabelRange(labels, classes);
  const picked = logits.logSoftmax(-1).mul(labels.oneHot(classes)).sum(-1);
  if (!traced) return picked.mean().neg();
  // An out-of-range label has an all-zero one-hot row (a picked value of 0): add NaN for it. The term
  // depends on the labels only, so the backward pass needs no mask and the step keeps its kernels.
  const invalid = where(where(labels.ge(0), labels.lt(classes), false), 0, NaN);
  return picked.add(invalid).mean().neg();
}

/** Mean squared error of two tensors of the same shape (a broadcast here would silently average a wrong grid). */
export function mse(pred: Tensor, target: Tensor | number): Tensor {
  needTensor(pred, 'pred', 'nn.mse');
  if (typeof target !== 'number') {
    needTensor(target, 'target', 'nn.mse');
    if (pred.ndim !== target.ndim || pred.shape.some((d, i) => d !== target.shape[i]))
      throw new ShapeError(
        `nn.mse: pred ${fmtShape(pred.shape)} and target ${fmtShape(target.shape)} differ in shape (expected equal shapes; reshape one of them)`,
      );
  }
  const d = pred.sub(target);
  return d.mul(d).mean();
}

/** Fraction of rows whose argmax equals the label (a float32 scalar tensor). */
export function accuracy(logits: Tensor, labels: Tensor): Tensor {
  const op = 'nn.accuracy';
  needTensor(logits, 'logits', op);
  needTensor(labels, 'labels', op);
  const batch = logits.shape.slice(0, -1);
  if (
    logits.ndim === 0 ||
    labels.dtype !== 'int32' ||
    labels.ndim !== batch.length ||
    batch.some((d, i) => d !== labels.shape[i])
  )
    throw new ShapeError(
      `${op}: expected logits [..., C] and int32 labels [...] of the leading shape, got ${logits.dtype}${fmtShape(logits.shape)} and ${labels.dtype}${fmtShape(labels.shape)}`,
    );
  return logits.argmax(-1).eq(labels).cast('float32').mean();
}
