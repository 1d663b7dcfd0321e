/**
 * Functional neural-network helpers over pytree parameters: seeded
 * initialisers, layers, losses. Parameters are plain objects of tensors, so
 * they pass through grad, jit and the optimisers unchanged in structure.
 */
import { DTypeError, LazygradError, ShapeError, fmtShape, show } from '../ir';
import { conv2d as conv2dOp, maxPool2d, avgPool2d } from './conv';
import { rand } from './creation';
import { Tensor } from './tensor';

export interface LinearParams {
  w: Tensor;
  b: Tensor;
}
export interface ConvParams {
  w: Tensor;
  b: Tensor;
}

/** Uniform(-bound, bound), realised so parameters are buffers. */
function uniform(shape: number[], bound: number): Tensor {
  return rand(shape)
    .mul(2 * bound)
    .sub(bound)
    .realize();
}

function positiveInt(v: number, name: string, op: string): number {
  if (!Number.isInteger(v) || v <= 0) throw new ShapeError(`${op}: ${name} must be a positive integer, got ${show(v)}`);
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
      throw new ShapeError(`nn.init.mlp: expected at least two layer sizes, got ${show(sizes)}`);
    return sizes.slice(1).map((out, i) => init.linear(sizes[i], out));
  },
  conv2d(inC: number, outC: number, k: number): ConvParams {
    positiveInt(inC, 'inC', 'nn.init.conv2d');
    positiveInt(outC, 'outC', 'nn.init.conv2d');
    positiveInt(k, 'k', 'nn.init.conv2d');
    const bound = 1 / Math.sqrt(inC * k * k);
    return { w: uniform([outC, inC, k, k], bound), b: uniform([outC], bound) };
  },
};

function checkParams(p: unknown, op: string): asserts p is LinearParams {
  const q = p as Partial<LinearParams> | null | undefined;
  if (!q || !(q.w instanceof Tensor) || !(q.b instanceof Tensor))
    throw new LazygradError(`${op}: expected parameters {w, b} of tensors`);
}

export function linear(p: LinearParams, x: Tensor): Tensor {
  checkParams(p, 'nn.linear');
  if (!(x instanceof Tensor)) throw new LazygradError('nn.linear: expected an input tensor');
  return x.matmul(p.w).add(p.b);
}

export function mlp(ps: LinearParams[], x: Tensor): Tensor {
  let h = x;
  ps.forEach((p, i) => {
    h = linear(p, h);
    if (i < ps.length - 1) h = h.relu();
  });
  return h;
}

export function conv2d(p: ConvParams, x: Tensor, opts: { stride?: number; padding?: number } = {}): Tensor {
  checkParams(p, 'nn.conv2d');
  const outC = p.w.shape[0];
  return conv2dOp(x, p.w, opts).add(p.b.reshape([1, outC, 1, 1]));
}

export { maxPool2d, avgPool2d };

/** Mean softmax cross-entropy of logits [B, C] against int32 class labels [B] (through logSoftmax, stable). */
export function crossEntropy(logits: Tensor, labels: Tensor): Tensor {
  if (!(labels instanceof Tensor)) throw new LazygradError('nn.crossEntropy: labels must be an int32 tensor');
  if (labels.dtype !== 'int32')
    throw new DTypeError(
      `nn.crossEntropy: labels must be int32 class indices, got ${labels.dtype}${fmtShape(labels.shape)}`,
    );
  if (logits.ndim !== 2 || labels.ndim !== 1 || labels.shape[0] !== logits.shape[0]) {
    throw new ShapeError(
      `nn.crossEntropy: expected logits [B, C] and labels [B], got ${fmtShape(logits.shape)} and ${fmtShape(labels.shape)}`,
    );
  }
  const picked = logits.logSoftmax(-1).mul(labels.oneHot(logits.shape[1])).sum(-1);
  return picked.mean().neg();
}

/** Mean squared error. */
export function mse(pred: Tensor, target: Tensor): Tensor {
  const d = pred.sub(target);
  return d.mul(d).mean();
}

/** Fraction of rows whose argmax equals the label (a float32 scalar tensor). */
export function accuracy(logits: Tensor, labels: Tensor): Tensor {
  return logits.argmax(-1).eq(labels).cast('float32').mean();
}
