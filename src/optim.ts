/**
 * Optimisers in the style of optax: `init(params)` gives a state of fixed
 * structure and dtypes (the step count is a tensor), `update(grads, state,
 * params)` returns `[newParams, newState]`, so a jitted training step traces
 * once and runs every step from the cache.
 */
import { LazygradError, show } from '../ir';
import { zeros } from './creation';
import { Tensor } from './tensor';
import { treeMap } from './tree-util';

export interface Optimizer<S> {
  init(params: unknown): S;
  update(grads: unknown, state: S, params: unknown): [unknown, S];
}

function checkLr(lr: number, what: string): void {
  if (typeof lr !== 'number' || !(lr > 0))
    throw new LazygradError(`${what}: lr must be a positive number, got ${show(lr)}`);
}

function options<T extends object>(opts: T, what: string): T {
  if (opts === null || typeof opts !== 'object')
    throw new LazygradError(`${what}: expected an options object such as {lr: 0.01}, got ${show(opts)}`);
  return opts;
}

const zerosLike = (t: Tensor) => zeros(t.shape);

/** SGD with optional momentum as PyTorch/optax (v = m·v + g, no dampening). */
export function sgd(opts: { lr: number; momentum?: number }): Optimizer<{ velocity: unknown }> {
  const { lr, momentum = 0 } = options(opts, 'optim.sgd');
  checkLr(lr, 'optim.sgd');
  return {
    init: (params) => ({ velocity: momentum ? treeMap(zerosLike, params) : null }),
    update(grads, state, params) {
      if (!momentum) return [treeMap((p, g) => p.sub(g.mul(lr)), params, grads), state];
      const velocity = treeMap((v, g) => v.mul(momentum).add(g), state.velocity, grads);
      return [treeMap((p, v) => p.sub(v.mul(lr)), params, velocity), { velocity }];
    },
  };
}

export interface AdamState {
  step: Tensor;
  m: unknown;
  v: unknown;
}

/** Adam with bias correction, eps outside the square root. */
export function adam(opts: { lr: number; b1?: number; b2?: number; eps?: number }): Optimizer<AdamState> {
  const { lr, b1 = 0.9, b2 = 0.999, eps = 1e-8 } = options(opts, 'optim.adam');
  checkLr(lr, 'optim.adam');
  return {
    init: (params) => ({ step: zeros([]), m: treeMap(zerosLike, params), v: treeMap(zerosLike, params) }),
    update(grads, state, params) {
      const step = state.step.add(1);
      const m = treeMap((mi, g) => mi.mul(b1).add(g.mul(1 - b1)), state.m, grads);
      const v = treeMap((vi, g) => vi.mul(b2).add(g.mul(g).mul(1 - b2)), state.v, grads);
      const c1 = step.mul(Math.log(b1)).exp().neg().add(1); // 1 - b1^t
      const c2 = step.mul(Math.log(b2)).exp().neg().add(1); // 1 - b2^t
      const next = treeMap((p, mi, vi) => p.sub(mi.div(c1).mul(lr).div(vi.div(c2).sqrt().add(eps))), params, m, v);
      return [next, { step, m, v }];
    },
  };
}
