/**
 * Learning-rate schedules: values against the optax formulas (written here in
 * float64), and jitted training steps that use them: one trace over 100
 * steps, with parameter trajectories equal to a plain-JS reference that
 * applies the formula's rate at each step (the first update uses lr(0)).
 */
import { describe, expect, it } from 'vitest';
import * as lg from '../../src/index';

type T = lg.Tensor;
const { schedules } = lg.optim;

// The optax formulas, independently of the implementation.
const linearRef = (from: number, to: number, n: number) => (t: number) =>
  (from - to) * (1 - Math.min(Math.max(t, 0), n) / n) + to;
const cosineRef = (v: number, n: number) => (t: number) => v * 0.5 * (1 + Math.cos((Math.PI * Math.min(t, n)) / n));
const warmupCosineRef = (peak: number, w: number, n: number) => (t: number) =>
  t < w ? linearRef(0, peak, w)(t) : cosineRef(peak, n - w)(t - w);

const near = (got: number, want: number, tol = 1e-6, what = '') =>
  expect(Math.abs(got - want), `${what}: ${got} vs ${want}`).toBeLessThanOrEqual(tol * (1 + Math.abs(want)));

describe('schedule values', () => {
  const cases: [string, lg.optim.schedules.ScheduleFn, (t: number) => number, number][] = [
    ['constant(0.3)', schedules.constant(0.3), () => 0.3, 20],
    ['linear(1, 0.1, 10)', schedules.linear(1, 0.1, 10), linearRef(1, 0.1, 10), 15],
    ['linear(0, 2, 7) (increasing)', schedules.linear(0, 2, 7), linearRef(0, 2, 7), 10],
    ['cosine(0.5, 12)', schedules.cosine(0.5, 12), cosineRef(0.5, 12), 18],
    ['warmupCosine(1, 4, 20)', schedules.warmupCosine(1, 4, 20), warmupCosineRef(1, 4, 20), 25],
    ['warmupCosine(0.2, 0, 9) (no warm-up)', schedules.warmupCosine(0.2, 0, 9), warmupCosineRef(0.2, 0, 9), 12],
  ];
  for (const [name, sched, ref, until] of cases)
    it(`${name} matches the formula at every step, past its end too`, () => {
      for (let t = 0; t <= until; t++) near(sched(t).item() as number, ref(t), 1e-6, `step ${t}`);
    });

  it('a 0-d step tensor gives the same values as a number', () => {
    const s = schedules.warmupCosine(1, 4, 20);
    expect(s(lg.tensor(6)).item()).toBe(s(6).item());
  });

  it('landmarks: warm-up starts at 0 and peaks at step warmup; cosine ends at 0', () => {
    const s = schedules.warmupCosine(0.8, 5, 25);
    expect(s(0).item()).toBe(0);
    near(s(5).item() as number, 0.8, 1e-7);
    near(s(15).item() as number, 0.4, 1e-6); // half-way through the 20 decay steps
    expect(Math.abs(s(25).item() as number)).toBeLessThan(1e-7);
    expect(Math.abs(schedules.cosine(1, 10)(10).item() as number)).toBeLessThan(1e-7);
  });
});

/** Jits one SGD step on the loss sum(p) (gradient 1), so each step moves p by exactly lr(t). */
function ratesOfJittedSgd(lr: lg.optim.LearningRate, steps: number) {
  const opt = lg.optim.sgd({ lr });
  const step = lg.jit((p: T, s: lg.optim.SgdState) => {
    const g = lg.grad((q: T) => q.sum())(p) as T;
    return opt.update(g, s, p);
  });
  let p = lg.zeros([2]) as T;
  let s = opt.init(p);
  const rates: number[] = [];
  for (let t = 0; t < steps; t++) {
    const before = p.dataSync()[0];
    [p, s] = step(p, s) as [T, lg.optim.SgdState];
    rates.push(before - p.dataSync()[0]);
  }
  return { rates, traces: step.traceCount, state: s };
}

describe('a jitted step with a schedule', () => {
  it('cosine: traces once over 100 steps and applies lr(t) at step t, starting with lr(0)', () => {
    const { rates, traces, state } = ratesOfJittedSgd(schedules.cosine(0.1, 100), 100);
    expect(traces).toBe(1);
    const ref = cosineRef(0.1, 100);
    // |p| stays below 6, so float32 rounding of p costs at most ~1e-6 per difference.
    rates.forEach((r, t) => expect(Math.abs(r - ref(t)), `step ${t}`).toBeLessThan(2e-6));
    expect(rates[0]).toBeCloseTo(0.1, 6);
    expect(state.step!.item()).toBe(100);
  });

  it('warmupCosine: the first update uses lr(0) = 0 and the rates follow the formula', () => {
    const { rates, traces } = ratesOfJittedSgd(schedules.warmupCosine(0.2, 10, 100), 100);
    expect(traces).toBe(1);
    expect(rates[0]).toBe(0);
    const ref = warmupCosineRef(0.2, 10, 100);
    rates.forEach((r, t) => expect(Math.abs(r - ref(t)), `step ${t}`).toBeLessThan(3e-6));
  });

  it('a hand-written schedule (step) => number | tensor works the same way', () => {
    const { rates, traces } = ratesOfJittedSgd((t) => t.mul(-0.01).exp().mul(0.05), 30);
    expect(traces).toBe(1);
    rates.forEach((r, t) => expect(Math.abs(r - 0.05 * Math.exp(-0.01 * t)), `step ${t}`).toBeLessThan(1e-6));
  });

  it('adam with warmupCosine: the trajectory over 100 steps matches a float64 reference', () => {
    const lr = warmupCosineRef(0.05, 10, 100);
    const target = [1, -2, 0.5];
    const opt = lg.optim.adam({ lr: schedules.warmupCosine(0.05, 10, 100) });
    const tgt = lg.tensor(target);
    const step = lg.jit((p: T, s: lg.optim.AdamState) => {
      const g = lg.grad((q: T) => q.sub(tgt).mul(q.sub(tgt)).sum())(p) as T;
      return opt.update(g, s, p);
    });
    let p = lg.zeros([3]) as T;
    let s = opt.init(p);
    const ref = [0, 0, 0];
    const m = [0, 0, 0];
    const v = [0, 0, 0];
    for (let t = 0; t < 100; t++) {
      [p, s] = step(p, s) as [T, lg.optim.AdamState];
      for (let i = 0; i < 3; i++) {
        const g = 2 * (ref[i] - target[i]);
        m[i] = 0.9 * m[i] + 0.1 * g;
        v[i] = 0.999 * v[i] + 0.001 * g * g;
        const mh = m[i] / (1 - 0.9 ** (t + 1));
        const vh = v[i] / (1 - 0.999 ** (t + 1));
        ref[i] -= (lr(t) * mh) / (Math.sqrt(vh) + 1e-8);
      }
      const got = p.dataSync();
      for (let i = 0; i < 3; i++) near(got[i], ref[i], 1e-4, `step ${t}, element ${i}`);
    }
    expect(step.traceCount).toBe(1);
    expect(s.step.item()).toBe(100);
  });

  it('sgd with momentum and a linear schedule: 100 jitted steps of a quadratic match the reference', () => {
    const lr = linearRef(0.1, 0.01, 80);
    const opt = lg.optim.sgd({ lr: schedules.linear(0.1, 0.01, 80), momentum: 0.9 });
    const step = lg.jit((p: T, s: lg.optim.SgdState) => {
      const g = lg.grad((q: T) => q.mul(q).sum().mul(0.5))(p) as T; // gradient p
      return opt.update(g, s, p);
    });
    let p = lg.tensor([2, -1]) as T;
    let s = opt.init(p);
    const ref = [2, -1];
    const vel = [0, 0];
    for (let t = 0; t < 100; t++) {
      [p, s] = step(p, s) as [T, lg.optim.SgdState];
      for (let i = 0; i < 2; i++) {
        vel[i] = 0.9 * vel[i] + ref[i];
        ref[i] -= lr(t) * vel[i];
      }
      const got = p.dataSync();
      for (let i = 0; i < 2; i++) expect(Math.abs(got[i] - ref[i]), `step ${t}`).toBeLessThan(1e-5);
    }
    expect(step.traceCount).toBe(1);
  });

  it('rmsprop and adamw take schedules too (eager, three steps by the formula)', () => {
    const sched = schedules.linear(0.3, 0.1, 2);
    // With a constant gradient 1 and eps 0, adamw (no decay) moves by lr(t) exactly, and rmsprop
    // by lr(t) / sqrt(nu), nu = 1 - 0.9^(t+1) (no bias correction).
    const cases: [() => unknown, (t: number) => number][] = [
      [() => lg.optim.rmsprop({ lr: sched, eps: 0 }), (t) => 1 / Math.sqrt(1 - 0.9 ** (t + 1))],
      [() => lg.optim.adamw({ lr: sched, weightDecay: 0, eps: 0 }), () => 1],
    ];
    for (const [make, factor] of cases) {
      const opt = make() as lg.optim.Optimizer<unknown>;
      let p: unknown = [lg.tensor([0])];
      let s = opt.init(p);
      for (let t = 0; t < 3; t++) {
        const before = (p as T[])[0].item() as number;
        [p, s] = opt.update([lg.tensor([1])], s, p);
        const moved = before - ((p as T[])[0].item() as number);
        // float32 bias corrections (exp of a log) cost a few ulp; the rates differ by far more.
        near(moved, [0.3, 0.2, 0.1][t] * factor(t), 2e-5, `step ${t}`);
      }
    }
  });

  it('a schedule keeps the state structure fixed: sgd gains a step count, others keep theirs', () => {
    const p = { w: lg.ones([2]) };
    expect(Object.keys(lg.optim.sgd({ lr: 0.1 }).init(p))).toEqual(['velocity']);
    expect(Object.keys(lg.optim.sgd({ lr: schedules.constant(0.1) }).init(p)).sort()).toEqual(['step', 'velocity']);
    const adamKeys = Object.keys(lg.optim.adam({ lr: 0.1 }).init(p)).sort();
    expect(Object.keys(lg.optim.adam({ lr: schedules.constant(0.1) }).init(p)).sort()).toEqual(adamKeys);
  });
});
