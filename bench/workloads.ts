/**
 * The BENCH.md workloads W1-W4, each twice: as lazygrad functions (jitted,
 * fusion on or off, here) and as hand-written plain-JS loops over
 * Float32Arrays, the baselines they are measured against (reference.ts,
 * re-exported). The hand loops write into preallocated buffers (no
 * allocation per call), so "unfused" hand versions are a fair
 * one-loop-per-op baseline rather than an allocation benchmark.
 */
import * as lg from '../src/index';
import { W4_LR } from './reference';

export * from './reference';

// ---------------------------------------------------------------- W1 matmul

export const lgMatmul = (fusion: boolean) => lg.jit((a: lg.Tensor, b: lg.Tensor) => a.matmul(b), { fusion });

// ------------------------------------------- W2 / W2b elementwise chains

/** W2: y = tanh(x*1.5+0.5)*sigmoid(x) + x*x (transcendental-bound). */
export const w2 = (x: lg.Tensor) => x.mul(1.5).add(0.5).tanh().mul(x.sigmoid()).add(x.mul(x));
/** W2b: y = ((x*1.5+0.5)*x - 0.25)*0.5 + x (memory-bound). */
export const w2b = (x: lg.Tensor) => x.mul(1.5).add(0.5).mul(x).sub(0.25).mul(0.5).add(x);

export const lgW2 = (fusion: boolean) => lg.jit(w2, { fusion });
export const lgW2b = (fusion: boolean) => lg.jit(w2b, { fusion });

// ------------------------------------------------------ W3 row softmax

export const lgSoftmax = (fusion: boolean) => lg.jit((x: lg.Tensor) => x.softmax(-1), { fusion });

// ------------------------------------------------ W4 MLP training step

export type Params = lg.nn.LinearParams[];

const lossFn = (p: Params, x: lg.Tensor, y: lg.Tensor) => lg.nn.crossEntropy(lg.nn.mlp(p, x), y);

/** The SGD step as lazygrad builds it, un-jitted: returns the new parameters and the loss (all pending). */
export function lgStep(p: Params, x: lg.Tensor, y: lg.Tensor): [Params, lg.Tensor] {
  const opt = lg.optim.sgd({ lr: W4_LR });
  const [loss, grads] = lg.valueAndGrad(lossFn)(p, x, y) as [lg.Tensor, Params];
  const [next] = opt.update(grads, opt.init(p), p) as [Params, unknown];
  return [next, loss];
}

/** The jitted step; parameter buffers are donated (updated in place where the plan allows), as in a training loop. */
export const lgJitStep = (fusion: boolean) => lg.jit(lgStep, { fusion, donate: 0 });
