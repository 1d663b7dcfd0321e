/**
 * Optimisers in the style of optax: `init(params)` gives a state of fixed
 * structure and dtypes (the step count is a tensor), `update(grads, state,
 * params)` returns `[newParams, newState]`, so a jitted training step traces
 * once and runs every step from the cache. Gradients, state and parameters
 * must match in structure, shape and dtype: a broadcasting gradient would
 * otherwise silently change a parameter's shape.
 */
import { LazygradError } from '../ir';
import { zeros } from './creation';
import { type OptionRule, checkOptions, describeValue, rules } from './option-check';
import { flattenTree, treeTensors } from './pytree';
import { realizeTensors } from './realize';
import { isTracing } from './trace';
import { Tensor } from './tensor';
import { checkMatchingTrees, checkSameStructure, checkTensorLeaves, treeMap } from './tree-util';

export interface Optimizer<S> {
  init(params: unknown): S;
  update(grads: unknown, state: S, params: unknown): [unknown, S];
}

/** A learning rate: a number, or a 0-d tensor (a jit argument, so a changing rate does not retrace). */
export type LearningRate = number | Tensor;

const learningRate: OptionRule = {
  expected: 'a positive number or a 0-d float32 tensor',
  ok: (v) =>
    typeof v === 'number'
      ? Number.isFinite(v) && v > 0
      : v instanceof Tensor && v.ndim === 0 && (v.dtype === 'float32' || v.dtype === 'int32'),
  required: true,
};

const zerosLike = (t: Tensor) => zeros(t.shape);

/**
 * Outside a trace an update's results are computed at once, in one program (as tinygrad's
 * optimiser step does): otherwise every eager step would keep the whole history of updates
 * as a growing lazy graph, recomputed on each read. Inside jit or grad they stay lazy.
 */
function realizedOutsideTrace<R extends [unknown, unknown]>(result: R): R {
  if (!isTracing()) realizeTensors(treeTensors(result), 'optim update');
  return result;
}

/** Validates update's arguments: grads and state against params, state against what init(params) gives. */
function checkUpdate(op: string, grads: unknown, state: unknown, params: unknown, stateOf: (p: unknown) => unknown) {
  checkTensorLeaves(op, 'params', params);
  checkMatchingTrees(op, 'grads', grads, 'params', params);
  checkSameStructure(op, 'state', flattenTree(state).def, 'init(params)', flattenTree(stateOf(params)).def);
}

export interface SgdOptions {
  lr: LearningRate;
  momentum?: number;
}

/** SGD with optional momentum as PyTorch/optax (v = m·v + g, no dampening). */
export function sgd(opts: SgdOptions): Optimizer<{ velocity: unknown }> {
  const { lr, momentum = 0 } = checkOptions<SgdOptions>('optim.sgd', opts, {
    lr: learningRate,
    momentum: rules.nonNegative,
  });
  // The structure init gives, leaves standing for tensors (for checking a state passed back in).
  const stateOf = (params: unknown) => ({ velocity: momentum ? params : null });
  return {
    init(params) {
      checkTensorLeaves('optim.sgd.init', 'params', params);
      return { velocity: momentum ? treeMap(zerosLike, params) : null };
    },
    update(grads, state, params) {
      checkUpdate('optim.sgd.update', grads, state, params, stateOf);
      if (!momentum) return realizedOutsideTrace([treeMap((p, g) => p.sub(g.mul(lr)), params, grads), state]);
      checkMatchingTrees('optim.sgd.update', 'state.velocity', state.velocity, 'params', params);
      const velocity = treeMap((v, g) => v.mul(momentum).add(g), state.velocity, grads);
      return realizedOutsideTrace([treeMap((p, v) => p.sub(v.mul(lr)), params, velocity), { velocity }]);
    },
  };
}

export interface AdamState {
  step: Tensor;
  m: unknown;
  v: unknown;
}

export interface AdamOptions {
  lr: LearningRate;
  b1?: number;
  b2?: number;
  eps?: number;
}

/** Adam with bias correction, eps outside the square root. */
export function adam(opts: AdamOptions): Optimizer<AdamState> {
  const {
    lr,
    b1 = 0.9,
    b2 = 0.999,
    eps = 1e-8,
  } = checkOptions<AdamOptions>('optim.adam', opts, {
    lr: learningRate,
    b1: rules.unitInterval,
    b2: rules.unitInterval,
    eps: rules.nonNegative,
  });
  const stateOf = (params: unknown) => ({ step: 0, m: params, v: params });
  return {
    init(params) {
      checkTensorLeaves('optim.adam.init', 'params', params);
      return { step: zeros([]), m: treeMap(zerosLike, params), v: treeMap(zerosLike, params) };
    },
    update(grads, state, params) {
      const op = 'optim.adam.update';
      checkUpdate(op, grads, state, params, stateOf);
      if (!(state.step instanceof Tensor) || state.step.ndim !== 0 || state.step.dtype !== 'float32')
        throw new LazygradError(
          `${op}: state.step must be the 0-d float32 step count init gives, got ${describeValue(state.step)}`,
        );
      checkMatchingTrees(op, 'state.m', state.m, 'params', params);
      checkMatchingTrees(op, 'state.v', state.v, 'params', params);
      const step = state.step.add(1);
      const m = treeMap((mi, g) => mi.mul(b1).add(g.mul(1 - b1)), state.m, grads);
      const v = treeMap((vi, g) => vi.mul(b2).add(g.mul(g).mul(1 - b2)), state.v, grads);
      const c1 = step.mul(Math.log(b1)).exp().neg().add(1); // 1 - b1^t
      const c2 = step.mul(Math.log(b2)).exp().neg().add(1); // 1 - b2^t
      const next = treeMap((p, mi, vi) => p.sub(mi.div(c1).mul(lr).div(vi.div(c2).sqrt().add(eps))), params, m, v);
      return realizedOutsideTrace([next, { step, m, v }]);
    },
  };
}
