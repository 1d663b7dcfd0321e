/**
 * Optimisers in the style of optax: `init(params)` gives a state of fixed
 * structure and dtypes (the step count is a tensor), `update(grads, state,
 * params)` returns `[newParams, newState]`, so a jitted training step traces
 * once and runs every step from the cache. Gradients, state and parameters
 * must match in structure, shape and dtype: a broadcasting gradient would
 * otherwise silently change a parameter's shape.
 *
 * Gradient transforms (`clipByGlobalNorm`) have the same shape but return
 * `[newGrads, newState]`; `chain(...transforms, optimiser)` runs the
 * gradients through them and hands the result to the optimiser.
 */
import { LazygradError } from '../ir';
import { full, zeros } from './creation';
import { type LearningRate, learningRateAt, learningRateRule, probeSchedule, isSchedule } from './learning-rate';
import { type OptionRule, checkOptions, describeValue, rules } from './option-check';
import { where } from './ops';
import { flattenTree, treeTensors } from './pytree';
import { realizeTensors } from './realize';
import { isTracing } from './trace';
import { Tensor } from './tensor';
import { checkMatchingTrees, checkSameStructure, checkTensorLeaves, treeMap } from './tree-util';

export * as schedules from './schedules';
export type { LearningRate, Schedule } from './learning-rate';

export interface Optimizer<S> {
  init(params: unknown): S;
  update(grads: unknown, state: S, params: unknown): [unknown, S];
}

/** A gradient transform: `update` returns the transformed gradients and the new state. */
export interface GradientTransform<S> {
  init(params: unknown): S;
  update(grads: unknown, state: S, params?: unknown): [unknown, S];
}

// What each made object is, so that chain can tell an optimiser placed before a transform.
const madeOptimizers = new WeakSet<object>();
const madeTransforms = new WeakMap<object, string>();

function optimizer<S>(o: Optimizer<S>): Optimizer<S> {
  madeOptimizers.add(o);
  return o;
}

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

/** The step count of a state: the 0-d float32 tensor init gives. */
function checkStep(op: string, step: unknown): Tensor {
  if (!(step instanceof Tensor) || step.ndim !== 0 || step.dtype !== 'float32')
    throw new LazygradError(
      `${op}: state.step must be the 0-d float32 step count init gives, got ${describeValue(step)}`,
    );
  return step;
}

/** Checks an optimiser's options, lr among them (a schedule is tried once, at step 0). */
function optimiserOptions<T extends { lr: LearningRate }>(
  op: string,
  opts: unknown,
  more: { readonly [K in Exclude<keyof T, 'lr'>]-?: OptionRule },
): T {
  const all = { lr: learningRateRule, ...more } as unknown as { readonly [K in keyof T]-?: OptionRule };
  const checked = checkOptions<T>(op, opts, all);
  probeSchedule(op, checked.lr);
  return checked;
}

export interface SgdOptions {
  lr: LearningRate;
  momentum?: number;
}

export interface SgdState {
  velocity: unknown;
  /** Present only when lr is a schedule: the number of updates so far. */
  step?: Tensor;
}

/**
 * SGD with optional momentum as PyTorch/optax (v = m·v + g, no dampening). Its state is
 * `{velocity}` (null without momentum), plus the step count `step` when lr is a schedule.
 */
export function sgd(opts: SgdOptions): Optimizer<SgdState> {
  const op = 'optim.sgd';
  const { lr, momentum = 0 } = optimiserOptions<SgdOptions>(op, opts, { momentum: rules.nonNegative });
  const scheduled = isSchedule(lr);
  // The structure init gives, leaves standing for tensors (for checking a state passed back in).
  const stateOf = (params: unknown) => ({ velocity: momentum ? params : null, ...(scheduled ? { step: 0 } : {}) });
  return optimizer({
    init(params) {
      checkTensorLeaves(`${op}.init`, 'params', params);
      const velocity = momentum ? treeMap(zerosLike, params) : null;
      return scheduled ? { velocity, step: zeros([]) } : { velocity };
    },
    update(grads, state, params) {
      const at = `${op}.update`;
      checkUpdate(at, grads, state, params, stateOf);
      const step = scheduled ? checkStep(at, state.step) : undefined;
      const rate = step ? learningRateAt(at, lr, step) : (lr as number | Tensor);
      const next = (s: Omit<SgdState, 'step'>): SgdState => (step ? { ...s, step: step.add(1) } : s);
      if (!momentum) return realizedOutsideTrace([treeMap((p, g) => p.sub(g.mul(rate)), params, grads), next(state)]);
      checkMatchingTrees(at, 'state.velocity', state.velocity, 'params', params);
      const velocity = treeMap((v, g) => v.mul(momentum).add(g), state.velocity, grads);
      return realizedOutsideTrace([treeMap((p, v) => p.sub(v.mul(rate)), params, velocity), next({ velocity })]);
    },
  });
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

export interface AdamWOptions extends AdamOptions {
  weightDecay?: number;
}

/**
 * Adam's moments and bias correction (eps outside the square root); with a weight decay the
 * decoupled AdamW update p - lr·(m̂/(√v̂ + eps) + wd·p), as optax.adamw and PyTorch's AdamW.
 */
function adamFamily(op: string, lr: LearningRate, b1: number, b2: number, eps: number, weightDecay: number) {
  const stateOf = (params: unknown) => ({ step: 0, m: params, v: params });
  return optimizer<AdamState>({
    init(params) {
      checkTensorLeaves(`${op}.init`, 'params', params);
      return { step: zeros([]), m: treeMap(zerosLike, params), v: treeMap(zerosLike, params) };
    },
    update(grads, state, params) {
      const at = `${op}.update`;
      checkUpdate(at, grads, state, params, stateOf);
      const rate = learningRateAt(at, lr, checkStep(at, state.step));
      checkMatchingTrees(at, 'state.m', state.m, 'params', params);
      checkMatchingTrees(at, 'state.v', state.v, 'params', params);
      const step = state.step.add(1);
      const m = treeMap((mi, g) => mi.mul(b1).add(g.mul(1 - b1)), state.m, grads);
      const v = treeMap((vi, g) => vi.mul(b2).add(g.mul(g).mul(1 - b2)), state.v, grads);
      const c1 = step.mul(Math.log(b1)).exp().neg().add(1); // 1 - b1^t
      const c2 = step.mul(Math.log(b2)).exp().neg().add(1); // 1 - b2^t
      const next = weightDecay
        ? treeMap(
            (p, mi, vi) => p.sub(mi.div(c1).div(vi.div(c2).sqrt().add(eps)).add(p.mul(weightDecay)).mul(rate)),
            params,
            m,
            v,
          )
        : treeMap((p, mi, vi) => p.sub(mi.div(c1).mul(rate).div(vi.div(c2).sqrt().add(eps))), params, m, v);
      return realizedOutsideTrace([next, { step, m, v }]);
    },
  });
}

/** Adam with bias correction, eps outside the square root. */
export function adam(opts: AdamOptions): Optimizer<AdamState> {
  const op = 'optim.adam';
  const {
    lr,
    b1 = 0.9,
    b2 = 0.999,
    eps = 1e-8,
  } = optimiserOptions<AdamOptions>(op, opts, {
    b1: rules.unitInterval,
    b2: rules.unitInterval,
    eps: rules.nonNegative,
  });
  return adamFamily(op, lr, b1, b2, eps, 0);
}

/** AdamW: Adam with decoupled weight decay (default 0.01, as PyTorch), applied to every parameter. */
export function adamw(opts: AdamWOptions): Optimizer<AdamState> {
  const op = 'optim.adamw';
  const {
    lr,
    b1 = 0.9,
    b2 = 0.999,
    eps = 1e-8,
    weightDecay = 0.01,
  } = optimiserOptions<AdamWOptions>(op, opts, {
    b1: rules.unitInterval,
    b2: rules.unitInterval,
    eps: rules.nonNegative,
    weightDecay: rules.nonNegative,
  });
  return adamFamily(op, lr, b1, b2, eps, weightDecay);
}

export interface RmspropOptions {
  lr: LearningRate;
  decay?: number;
  eps?: number;
  /** optax's default (true): divide by √(ν + eps); false divides by √ν + eps, as PyTorch. */
  epsInSqrt?: boolean;
}

export interface RmspropState {
  step: Tensor;
  nu: unknown;
}

/**
 * RMSProp as optax.rmsprop: ν = decay·ν + (1 - decay)·g², p -= lr·g/√(ν + eps) (eps inside
 * the square root, optax's default; `epsInSqrt: false` gives PyTorch's g/(√ν + eps)). No bias
 * correction, ν starts at 0.
 */
export function rmsprop(opts: RmspropOptions): Optimizer<RmspropState> {
  const op = 'optim.rmsprop';
  const {
    lr,
    decay = 0.9,
    eps = 1e-8,
    epsInSqrt = true,
  } = optimiserOptions<RmspropOptions>(op, opts, {
    decay: rules.unitInterval,
    eps: rules.nonNegative,
    epsInSqrt: rules.boolean,
  });
  const stateOf = (params: unknown) => ({ step: 0, nu: params });
  return optimizer<RmspropState>({
    init(params) {
      checkTensorLeaves(`${op}.init`, 'params', params);
      return { step: zeros([]), nu: treeMap(zerosLike, params) };
    },
    update(grads, state, params) {
      const at = `${op}.update`;
      checkUpdate(at, grads, state, params, stateOf);
      const rate = learningRateAt(at, lr, checkStep(at, state.step));
      checkMatchingTrees(at, 'state.nu', state.nu, 'params', params);
      const nu = treeMap((n, g) => n.mul(decay).add(g.mul(g).mul(1 - decay)), state.nu, grads);
      const scale = (n: Tensor) => (epsInSqrt ? n.add(eps).sqrt() : n.sqrt().add(eps));
      const next = treeMap((p, g, n) => p.sub(g.div(scale(n)).mul(rate)), params, grads, nu);
      return realizedOutsideTrace([next, { step: state.step.add(1), nu }]);
    },
  });
}

/**
 * Scales all gradients by max/‖g‖ when their global L2 norm ‖g‖ (over every leaf) exceeds
 * `maxNorm`, and leaves them as they are otherwise (optax.clip_by_global_norm). Stateless: its
 * state is null.
 */
export function clipByGlobalNorm(maxNorm: number): GradientTransform<null> {
  const op = 'optim.clipByGlobalNorm';
  if (typeof maxNorm !== 'number' || !Number.isFinite(maxNorm) || maxNorm <= 0)
    throw new LazygradError(`${op}: maxNorm must be a positive finite number, got ${describeValue(maxNorm)}`);
  const transform: GradientTransform<null> = {
    init(params) {
      checkTensorLeaves(`${op}.init`, 'params', params);
      return null;
    },
    update(grads, state, params) {
      const at = `${op}.update`;
      checkTensorLeaves(at, 'grads', grads);
      if (params !== undefined) checkMatchingTrees(at, 'grads', grads, 'params', params);
      if (state !== null)
        throw new LazygradError(`${at}: state must be null (what init gives), got ${describeValue(state)}`);
      const leaves = treeTensors(grads);
      if (!leaves.length) return [grads, null];
      const norm = leaves
        .map((g) => g.mul(g).sum())
        .reduce((a, b) => a.add(b))
        .sqrt();
      // 1 (exactly) below the limit, so unclipped gradients pass through unchanged.
      const scale = where(norm.lt(maxNorm), 1, full([], maxNorm).div(norm));
      return [treeMap((g) => g.mul(scale), grads), null];
    },
  };
  madeTransforms.set(transform, op);
  return transform;
}

type ChainPart = GradientTransform<unknown> | Optimizer<unknown>;

/**
 * An optimiser that runs the gradients through each transform in turn and hands the result to
 * the optimiser given last (optax.chain, with the learning-rate scaling folded into the last
 * part). Its state is the array of the parts' states, in order.
 */
export function chain(...parts: ChainPart[]): Optimizer<unknown[]> {
  const op = 'optim.chain';
  if (!parts.length)
    throw new LazygradError(`${op}: expected gradient transforms followed by an optimiser, got no arguments`);
  parts.forEach((p, i) => {
    const isPart =
      p !== null &&
      typeof p === 'object' &&
      typeof (p as ChainPart).init === 'function' &&
      typeof (p as ChainPart).update === 'function';
    if (!isPart)
      throw new LazygradError(
        `${op}: argument ${i} must be a gradient transform or an optimiser {init, update}, got ${describeValue(p)}`,
      );
    if (i < parts.length - 1 && madeOptimizers.has(p))
      throw new LazygradError(
        `${op}: argument ${i} is an optimiser, which must come last (only gradient transforms such as optim.clipByGlobalNorm go before it)`,
      );
  });
  const last = parts[parts.length - 1];
  const lastTransform = madeTransforms.get(last);
  if (lastTransform)
    throw new LazygradError(
      `${op}: the last argument must be an optimiser (such as optim.adamw({lr})), got the gradient transform ${lastTransform}`,
    );
  const transforms = parts.slice(0, -1) as GradientTransform<unknown>[];
  const final = last as Optimizer<unknown>;
  return optimizer({
    init(params) {
      return parts.map((p) => p.init(params));
    },
    update(grads, state, params) {
      const at = `${op}.update`;
      if (!Array.isArray(state) || state.length !== parts.length)
        throw new LazygradError(
          `${at}: state must be the array of ${parts.length} states init gives (one per argument), got ${describeValue(state)}`,
        );
      checkTensorLeaves(at, 'params', params);
      let g = grads;
      const states: unknown[] = [];
      transforms.forEach((t, i) => {
        const out = t.update(g, state[i], params);
        if (!Array.isArray(out) || out.length !== 2)
          throw new LazygradError(
            `${at}: argument ${i}'s update must return [newGrads, newState], got ${describeValue(out)}`,
          );
        checkMatchingTrees(`${at} (the grads argument ${i} returned)`, 'grads', out[0], 'params', params);
        [g] = out;
        states.push(out[1]);
      });
      const out = final.update(g, state[parts.length - 1], params);
      if (!Array.isArray(out) || out.length !== 2)
        throw new LazygradError(
          `${at}: the optimiser's update (argument ${parts.length - 1}) must return [newParams, newState], got ${describeValue(out)}`,
        );
      const [next, finalState] = out;
      return realizedOutsideTrace([next, [...states, finalState]]);
    },
  });
}
