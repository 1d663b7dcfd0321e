/**
 * Normalisation layers, functional: layerNorm over the last axis, and
 * batchNorm over every axis but 1 with its running statistics passed in and
 * returned (statistics in, statistics out, so a jitted step carries them
 * like optimiser state).
 */
import { LazygradError, ShapeError, fmtShape } from '../ir';
import { ones, zeros } from './creation';
import { needFloatTensor, needVectors } from './nn-checks';
import { type OptionRule, checkOptions, describeValue, rules } from './option-check';
import { stopGradient } from './ops';
import type { Tensor } from './tensor';

export interface LayerNormParams {
  g: Tensor;
  b: Tensor;
}
export interface LayerNormOptions {
  eps?: number;
}
export interface BatchNormParams {
  g: Tensor;
  b: Tensor;
}
export interface BatchNormStats {
  mean: Tensor;
  var: Tensor;
}
export interface BatchNormOptions {
  /** true: normalise by the batch's statistics and update the running ones; false: use the running ones. */
  train: boolean;
  /** Weight of the batch in the running statistics (PyTorch's momentum): new = (1 - m) · old + m · batch. */
  momentum?: number;
  eps?: number;
}

function positiveInt(v: unknown, name: string, op: string): number {
  if (!Number.isInteger(v) || (v as number) <= 0)
    throw new ShapeError(`${op}: ${name} must be a positive integer, got ${describeValue(v)}`);
  return v as number;
}

/** Gain 1 and bias 0 of width `dim` (as PyTorch). */
export function initLayerNorm(dim: number): LayerNormParams {
  positiveInt(dim, 'dim', 'nn.init.layerNorm');
  return { g: ones([dim]).realize(), b: zeros([dim]).realize() };
}

/** Gain 1 and bias 0 per channel, running mean 0 and variance 1 (as PyTorch). */
export function initBatchNorm(channels: number): [BatchNormParams, BatchNormStats] {
  positiveInt(channels, 'c', 'nn.init.batchNorm');
  return [
    { g: ones([channels]).realize(), b: zeros([channels]).realize() },
    { mean: zeros([channels]).realize(), var: ones([channels]).realize() },
  ];
}

const LAYER_NORM_OPTIONS = { eps: rules.nonNegative };

/** (x - mean) / sqrt(var + eps) · g + b over the last axis, with the biased variance (as PyTorch). */
export function layerNorm(p: LayerNormParams, x: Tensor, opts: LayerNormOptions = {}): Tensor {
  const op = 'nn.layerNorm';
  const { eps = 1e-5 } = checkOptions<LayerNormOptions>(op, opts, LAYER_NORM_OPTIONS);
  needFloatTensor(x, 'the input x', op);
  if (x.ndim === 0) throw new ShapeError(`${op}: the input must have at least one axis, got a 0-d tensor`);
  const dim = x.shape[x.ndim - 1];
  needVectors(p, ['g', 'b'], dim, op, 'parameters', `nn.init.layerNorm(${dim})`);
  const centred = x.sub(x.mean(-1, true));
  const variance = centred.mul(centred).mean(-1, true);
  return centred.div(variance.add(eps).sqrt()).mul(p.g).add(p.b);
}

const MOMENTUM_RULE: OptionRule = {
  expected: 'a number in [0, 1]',
  ok: (v) => typeof v === 'number' && v >= 0 && v <= 1,
};
const BATCH_NORM_OPTIONS = {
  train: { ...rules.boolean, required: true },
  momentum: MOMENTUM_RULE,
  eps: rules.nonNegative,
};

/**
 * Batch normalisation over axis 1 of [N, C] or [N, C, ...] (NCHW): every
 * other axis is reduced. In training the batch mean and biased variance
 * normalise x, and the running statistics move towards the batch mean and
 * the unbiased variance (as PyTorch; they carry no gradient); otherwise the
 * running statistics normalise x and come back unchanged. Returns
 * `[y, newStats]`.
 */
export function batchNorm(
  p: BatchNormParams,
  stats: BatchNormStats,
  x: Tensor,
  opts: BatchNormOptions,
): [Tensor, BatchNormStats] {
  const op = 'nn.batchNorm';
  const { train, momentum = 0.1, eps = 1e-5 } = checkOptions<BatchNormOptions>(op, opts, BATCH_NORM_OPTIONS);
  needFloatTensor(x, 'the input x', op);
  if (x.ndim < 2)
    throw new ShapeError(`${op}: expected an input [N, C] or [N, C, ...] (NCHW), got ${x.dtype}${fmtShape(x.shape)}`);
  const channels = x.shape[1];
  needVectors(p, ['g', 'b'], channels, op, 'parameters', `nn.init.batchNorm(${channels})[0]`);
  needVectors(stats, ['mean', 'var'], channels, op, 'statistics', `nn.init.batchNorm(${channels})[1]`);
  const axes = x.shape.map((_, d) => d).filter((d) => d !== 1);
  // Per-channel vectors as [1, C, 1, ...], to broadcast against x.
  const perChannel = (v: Tensor) => v.reshape(x.shape.map((d, i) => (i === 1 ? d : 1)));
  const scaleShift = (centred: Tensor, variance: Tensor) =>
    centred.div(variance.add(eps).sqrt()).mul(perChannel(p.g)).add(perChannel(p.b));
  if (!train) {
    const y = scaleShift(x.sub(perChannel(stats.mean)), perChannel(stats.var));
    return [y, { mean: stats.mean, var: stats.var }];
  }
  const count = axes.reduce((n, d) => n * x.shape[d], 1);
  if (count < 2)
    throw new LazygradError(
      `${op}: training needs more than one value per channel, got input ${fmtShape(x.shape)} (${count} per channel)`,
    );
  const mean = x.mean(axes, true);
  const centred = x.sub(mean);
  const variance = centred.mul(centred).mean(axes, true);
  const y = scaleShift(centred, variance);
  const batchMean = stopGradient(mean).reshape([channels]);
  const unbiased = stopGradient(variance)
    .mul(count / (count - 1))
    .reshape([channels]);
  const blend = (running: Tensor, batch: Tensor) => running.mul(1 - momentum).add(batch.mul(momentum));
  return [y, { mean: blend(stats.mean, batchMean), var: blend(stats.var, unbiased) }];
}
