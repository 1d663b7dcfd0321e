/**
 * adamw, rmsprop, clipByGlobalNorm and chain against plain-JS references
 * written here from the optax / PyTorch formulas and computed in float64,
 * over several steps; float32 results must agree to float32 tolerance.
 */
import { describe, expect, it } from 'vitest';
import * as lg from '../../src/index';

type T = lg.Tensor;
type Tree = { w: T; b: T };

const close = (got: ArrayLike<number>, want: ArrayLike<number>, tol = 2e-6) => {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++)
    expect(Math.abs(got[i] - want[i]), `index ${i}: ${got[i]} vs ${want[i]}`).toBeLessThanOrEqual(
      tol * (1 + Math.abs(want[i])),
    );
};

// Gradients of four steps, for a parameter tree {w: [2], b: [1]} flattened as [w0, w1, b0].
const GRADS = [
  [1, -2, 0.5],
  [0.5, 0.25, -3],
  [-1, 3, 0.1],
  [2, 2, -0.7],
];
const START = [0.5, -1.5, 2];
const treeOf = (v: number[]): Tree => ({ w: lg.tensor(v.slice(0, 2)), b: lg.tensor(v.slice(2)) });
const flat = (p: unknown) => [...(p as Tree).w.dataSync(), ...(p as Tree).b.dataSync()];

/** Runs an optimiser eagerly over GRADS and returns the parameters after each step. */
function runSteps(opt: lg.optim.Optimizer<unknown>): number[][] {
  let p: unknown = treeOf(START);
  let s = opt.init(p);
  return GRADS.map((g) => {
    [p, s] = opt.update(treeOf(g), s, p);
    return flat(p);
  });
}

/** Runs a per-element float64 reference `step(p, g, t, slot)` (t from 1) over GRADS. */
function reference(step: (p: number, g: number, t: number, i: number) => number, clip?: number): number[][] {
  const p = [...START];
  return GRADS.map((g0, k) => {
    let g = g0;
    if (clip !== undefined) {
      const norm = Math.sqrt(g.reduce((s, x) => s + x * x, 0));
      if (norm >= clip) g = g.map((x) => (x / norm) * clip);
    }
    for (let i = 0; i < p.length; i++) p[i] = step(p[i], g[i], k + 1, i);
    return [...p];
  });
}

function adamwReference(lr: number, b1: number, b2: number, eps: number, wd: number) {
  const m = [0, 0, 0];
  const v = [0, 0, 0];
  return (p: number, g: number, t: number, i: number) => {
    m[i] = b1 * m[i] + (1 - b1) * g;
    v[i] = b2 * v[i] + (1 - b2) * g * g;
    const mh = m[i] / (1 - b1 ** t);
    const vh = v[i] / (1 - b2 ** t);
    return p - lr * (mh / (Math.sqrt(vh) + eps) + wd * p);
  };
}

function rmspropReference(lr: number, decay: number, eps: number, epsInSqrt: boolean) {
  const nu = [0, 0, 0];
  return (p: number, g: number, _t: number, i: number) => {
    nu[i] = decay * nu[i] + (1 - decay) * g * g;
    return p - (lr * g) / (epsInSqrt ? Math.sqrt(nu[i] + eps) : Math.sqrt(nu[i]) + eps);
  };
}

const asOptimizer = (o: unknown) => o as lg.optim.Optimizer<unknown>;

describe('optim.adamw', () => {
  it('matches decoupled weight decay p -= lr*(mhat/(sqrt(vhat)+eps) + wd*p) over four steps', () => {
    const got = runSteps(asOptimizer(lg.optim.adamw({ lr: 0.05, b1: 0.8, b2: 0.99, eps: 1e-6, weightDecay: 0.1 })));
    reference(adamwReference(0.05, 0.8, 0.99, 1e-6, 0.1)).forEach((want, k) => close(got[k], want));
  });

  it('defaults are b1 0.9, b2 0.999, eps 1e-8, weightDecay 0.01', () => {
    const got = runSteps(asOptimizer(lg.optim.adamw({ lr: 0.01 })));
    reference(adamwReference(0.01, 0.9, 0.999, 1e-8, 0.01)).forEach((want, k) => close(got[k], want));
  });

  it('the decay is decoupled: a zero gradient still shrinks the parameter by lr*wd*p', () => {
    const opt = lg.optim.adamw({ lr: 0.1, weightDecay: 0.5 });
    const p = { w: lg.tensor([2, -4]) };
    const [np] = opt.update({ w: lg.zeros([2]) }, opt.init(p), p) as [{ w: T }, unknown];
    // m = v = 0, so the Adam part is 0/(0 + eps) = 0 and only p - 0.1*0.5*p remains.
    close(np.w.dataSync(), [2 * 0.95, -4 * 0.95], 1e-7);
  });

  it('with weightDecay 0 it is adam, number for number', () => {
    const a = runSteps(asOptimizer(lg.optim.adamw({ lr: 0.02, weightDecay: 0 })));
    const b = runSteps(asOptimizer(lg.optim.adam({ lr: 0.02 })));
    expect(a).toEqual(b);
  });

  it('keeps the state structure {step, m, v} and counts steps', () => {
    const opt = lg.optim.adamw({ lr: 0.1 });
    const p = treeOf(START);
    let s = opt.init(p);
    expect(Object.keys(s).sort()).toEqual(['m', 'step', 'v']);
    for (let i = 0; i < 3; i++) s = opt.update(treeOf(GRADS[i]), s, p)[1];
    expect(s.step.item()).toBe(3);
  });
});

describe('optim.rmsprop', () => {
  it("matches optax's default: nu = decay*nu + (1-decay)*g^2, p -= lr*g/sqrt(nu + eps)", () => {
    const got = runSteps(asOptimizer(lg.optim.rmsprop({ lr: 0.01, decay: 0.8, eps: 0.01 })));
    reference(rmspropReference(0.01, 0.8, 0.01, true)).forEach((want, k) => close(got[k], want));
  });

  it('epsInSqrt: false divides by sqrt(nu) + eps, as PyTorch', () => {
    const got = runSteps(asOptimizer(lg.optim.rmsprop({ lr: 0.01, decay: 0.8, eps: 0.01, epsInSqrt: false })));
    reference(rmspropReference(0.01, 0.8, 0.01, false)).forEach((want, k) => close(got[k], want));
  });

  it('the two eps placements differ (the test above can tell them apart)', () => {
    const inside = runSteps(asOptimizer(lg.optim.rmsprop({ lr: 0.01, eps: 0.01 })));
    const outside = runSteps(asOptimizer(lg.optim.rmsprop({ lr: 0.01, eps: 0.01, epsInSqrt: false })));
    expect(Math.abs(inside[0][0] - outside[0][0])).toBeGreaterThan(1e-4);
  });

  it('first step by hand: g = 2, decay 0.9, eps 0 gives p - lr*2/sqrt(0.4)', () => {
    const opt = lg.optim.rmsprop({ lr: 0.1, eps: 0 });
    const p = [lg.tensor([1])];
    const [np, s] = opt.update([lg.tensor([2])], opt.init(p), p) as [T[], lg.optim.RmspropState];
    close(np[0].dataSync(), [1 - (0.1 * 2) / Math.sqrt(0.4)], 1e-7);
    close((s.nu as T[])[0].dataSync(), [0.4], 1e-7);
    expect(s.step.item()).toBe(1);
  });
});

describe('optim.clipByGlobalNorm', () => {
  const grads = () => ({ a: lg.tensor([3, 4]), b: lg.tensor([[12]]) }); // global norm 13

  it('scales every leaf by max/norm when the global norm exceeds max', () => {
    const clip = lg.optim.clipByGlobalNorm(6.5);
    const [g, s] = clip.update(grads(), clip.init(grads())) as [{ a: T; b: T }, null];
    close(g.a.dataSync(), [1.5, 2], 1e-7);
    close(g.b.dataSync(), [6], 1e-7);
    expect(s).toBeNull();
  });

  it('leaves gradients below the limit exactly as they are', () => {
    const clip = lg.optim.clipByGlobalNorm(13.5);
    const [g] = clip.update(grads(), null) as [{ a: T; b: T }, null];
    expect(g.a.toArray()).toEqual([3, 4]);
    expect(g.b.toArray()).toEqual([[12]]);
  });

  it('an empty gradient tree passes through', () => {
    const clip = lg.optim.clipByGlobalNorm(1);
    expect(clip.update({}, null)[0]).toEqual({});
  });
});

describe('optim.chain', () => {
  it('chain(clipByGlobalNorm, sgd) clips each step before the update (four steps)', () => {
    const got = runSteps(
      asOptimizer(lg.optim.chain(lg.optim.clipByGlobalNorm(2), lg.optim.sgd({ lr: 0.1, momentum: 0.5 }))),
    );
    const vel = [0, 0, 0];
    const want = reference((p, g, _t, i) => {
      vel[i] = 0.5 * vel[i] + g;
      return p - 0.1 * vel[i];
    }, 2);
    want.forEach((w, k) => close(got[k], w));
  });

  it('chain(clipByGlobalNorm, adamw) matches clipping then AdamW (four steps)', () => {
    const got = runSteps(asOptimizer(lg.optim.chain(lg.optim.clipByGlobalNorm(1), lg.optim.adamw({ lr: 0.03 }))));
    reference(adamwReference(0.03, 0.9, 0.999, 1e-8, 0.01), 1).forEach((want, k) => close(got[k], want));
  });

  it('threads the state of a user-written transform (a counter that scales the t-th gradient by t)', () => {
    const byStep: lg.optim.GradientTransform<T> = {
      init: () => lg.zeros([]),
      update: (grads, count) => {
        const t = count.add(1);
        return [lg.treeMap((g) => g.mul(t), grads), t];
      },
    };
    const opt = lg.optim.chain(byStep, lg.optim.sgd({ lr: 0.1 }));
    const got = runSteps(asOptimizer(opt));
    reference((p, g, t) => p - 0.1 * g * t).forEach((want, k) => close(got[k], want));
    const p = treeOf(START);
    const s = opt.init(p);
    expect(s.length).toBe(2);
    expect(opt.update(treeOf(GRADS[0]), s, p)[1][0]).toBeInstanceOf(lg.Tensor);
  });

  it('a jitted chained step traces once and equals the eager one', () => {
    const opt = lg.optim.chain(lg.optim.clipByGlobalNorm(1), lg.optim.adamw({ lr: 0.03 }));
    const step = lg.jit((p: Tree, g: Tree, s: unknown[]) => opt.update(g, s, p));
    let p: unknown = treeOf(START);
    let s = opt.init(p);
    const got = GRADS.map((g) => {
      [p, s] = step(p as Tree, treeOf(g), s) as [unknown, unknown[]];
      return flat(p);
    });
    expect(step.traceCount).toBe(1);
    reference(adamwReference(0.03, 0.9, 0.999, 1e-8, 0.01), 1).forEach((want, k) => close(got[k], want));
  });

  it('a transform that changes a gradient shape is an error naming the argument and the key', () => {
    const bad: lg.optim.GradientTransform<null> = {
      init: () => null,
      update: (grads) => [{ ...(grads as Tree), b: lg.ones([3]) }, null],
    };
    const opt = lg.optim.chain(bad, lg.optim.sgd({ lr: 0.1 }));
    const p = treeOf(START);
    expect(() => opt.update(treeOf(GRADS[0]), opt.init(p), p)).toThrow(
      /^optim\.chain\.update \(the grads argument 0 returned\): grads\.b has shape \[3\] but params\.b has shape \[1\]/,
    );
  });
});
