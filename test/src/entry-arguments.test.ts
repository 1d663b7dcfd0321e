/** Issue 13 items 8, 9, 11 and logsumexp: public entry points check their arguments and options; messages say what is wrong. */
import { describe, expect, it } from 'vitest';
import * as lg from '../../src/index';

/** Throws a LazygradError (not a TypeError) whose message matches. */
const fails = (f: () => unknown, msg: RegExp) => {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(lg.LazygradError);
  expect((err as Error).message).toMatch(msg);
};
const bad = (x: unknown) => x as never;

describe('entry points validate their arguments (item 8)', () => {
  it('makeIR and jit refuse non-functions and non-tensor arguments', () => {
    fails(() => lg.makeIR(bad(5)), /^makeIR: expected a function, got 5/);
    fails(() => lg.makeIR((x: lg.Tensor) => x.add(1))('s'), /jit: argument 0 is the string "s".*static: \[0\]/);
    fails(() => lg.jit((x: lg.Tensor) => x)(true), /argument 0 is true/);
    fails(() => lg.jit((p: { a: lg.Tensor }) => p.a)({ a: 'x' }), /argument 0 holds the string "x"/);
    // Strings are fine as static arguments.
    expect(
      lg.makeIR((x: lg.Tensor, op: string) => (op === 'neg' ? x.neg() : x), { static: 1 })(lg.ones([2]), 'neg'),
    ).toMatch(/neg/);
  });

  it('grad names itself, and grad/valueAndGrad/vjp/checkGrad check their inputs', () => {
    fails(() => lg.grad(bad(5)), /^grad: expected a function to differentiate, got 5/);
    fails(() => lg.valueAndGrad(bad('f')), /^valueAndGrad: expected a function/);
    fails(() => lg.vjp(bad(null), lg.ones([2])), /^vjp: expected a function/);
    fails(() => lg.grad((x: lg.Tensor) => x.sum(), { argnum: 0 } as never), /grad: unknown option 'argnum'.*'argnums'/);
    fails(() => lg.grad((x: lg.Tensor) => x.sum(), { argnums: 'x' } as never), /grad: option argnums must be/);
    fails(() => lg.valueAndGrad((x: lg.Tensor) => x.sum(), { hasAux: 1 } as never), /valueAndGrad: option hasAux/);
    fails(() => lg.valueAndGrad((x: lg.Tensor) => x.sum(), { argnums: 3 })(lg.ones([2])), /^valueAndGrad: argnum 3/);
    fails(() => lg.checkGrad((x: lg.Tensor) => x.sum(), [lg.ones([2])], { eps: -1 }), /checkGrad: option eps/);
    fails(
      () => lg.checkGrad((x: lg.Tensor) => x.sum(), [lg.ones([2])], { atl: 1 } as never),
      /checkGrad: unknown option 'atl'/,
    );
  });

  it('reductions check keepdims and axes', () => {
    const t = lg.tensor([
      [1, 2],
      [3, 4],
    ]);
    fails(() => t.sum(0, bad('yes')), /sum: keepdims must be true or false, got "yes"/);
    fails(() => t.max(0, bad(1)), /max: keepdims must be true or false, got 1/);
    fails(() => t.argmax(bad('a')), /argmax: axis must be an integer, got "a"/);
    expect(t.sum(0, true).toArray()).toEqual([[4, 6]]);
  });
});

describe('jit options (item 9)', () => {
  const f = (a: lg.Tensor, b: lg.Tensor) => a.add(b);
  it('unknown keys and wrong types are errors naming the option', () => {
    fails(() => lg.jit(f, { fusoin: false } as never), /jit: unknown option 'fusoin'.*did you mean 'fusion'/);
    fails(() => lg.jit(f, { donate: 'x' } as never), /jit: option donate must be an argument index/);
    fails(() => lg.jit(f, { donate: [-1] }), /jit: option donate must be/);
    fails(() => lg.jit(f, { static: 1.5 }), /jit: option static must be/);
    fails(() => lg.jit(f, { fusion: 'no' } as never), /jit: option fusion must be true or false/);
    fails(() => lg.jit(f, { donate: 0, static: 0 }), /argument 0 is in both donate and static/);
    fails(() => lg.makeIR(f, { reuse: 'y' } as never), /makeIR: option reuse/);
  });
  it('out-of-range argument indices are errors at the call', () => {
    const g = lg.jit(f, { donate: [5] });
    fails(
      () => g(lg.ones([2]), lg.ones([2])),
      /jit: option donate names argument 5, but the function was called with 2/,
    );
    fails(() => lg.jit(f, { static: 2 })(lg.ones([2]), lg.ones([2])), /option static names argument 2/);
    expect(
      lg
        .jit(f, { donate: [1] })(lg.ones([2]), lg.ones([2]).add(0).realize())
        .toArray(),
    ).toEqual([2, 2]);
  });
});

describe('messages (item 11)', () => {
  const t = lg.tensor([
    [1, 2],
    [3, 4],
  ]);
  it('axes: not an integer vs out of range; a 0-d tensor has no axes', () => {
    fails(() => t.mean(NaN), /^mean: axis NaN is not an integer/);
    fails(() => t.sum(1.5), /^sum: axis 1\.5 is not an integer/);
    fails(() => t.sum(2), /^sum: axis 2 is out of range for a tensor of rank 2 \(expected -2 <= axis < 2\)/);
    fails(() => lg.tensor(1).sum(0), /^sum: axis 0 is out of range: a 0-d tensor has no axes/);
  });

  it('conv2d and pools: the expected layout and their options', () => {
    const w = lg.zeros([1, 1, 3, 3]);
    fails(() => lg.conv2d(lg.zeros([1, 4, 4]), w), /^conv2d: expected a 4-D NCHW input \[N, C, H, W\], got \[1,4,4\]/);
    fails(() => lg.conv2d(lg.zeros([1, 2, 4, 4]), w), /conv2d: input \[1,2,4,4\] \(NCHW\) has 2 channels/);
    fails(
      () => lg.conv2d(lg.zeros([1, 1, 4, 4]), w, { strid: 1 } as never),
      /conv2d: unknown option 'strid'.*'stride'/,
    );
    fails(() => lg.maxPool2d(lg.zeros([1, 1, 4, 4]), 2, { pad: 1 } as never), /maxPool2d: unknown option 'pad'/);
    fails(() => lg.avgPool2d(lg.zeros([1, 1, 4, 4]), 2, { stride: '2' } as never), /avgPool2d: option stride/);
    fails(() => lg.maxPool2d(lg.zeros([4, 4]), 2), /maxPool2d: expected a 4-D NCHW input/);
  });

  it('checkGrad reports the real relative error even when every element is within atol', () => {
    // Gradient 1e-7 (analytic) against a function whose true slope is 2e-7.
    const f = (x: lg.Tensor) =>
      x
        .mul(1e-7)
        .sum()
        .add(lg.stopGradient(x.mul(1e-7).sum()));
    const r2 = lg.checkGrad(f, [lg.tensor([1])], { eps: 1e-3, atol: 1e-5 });
    expect(r2.ok).toBe(true);
    expect(r2.maxAbsError).toBeGreaterThan(0.9e-7);
    expect(r2.maxRelError).toBeCloseTo(0.5, 2);
  });
});

describe('logsumexp with no axis reduces all axes', () => {
  it('matches log(sum(exp(x))) over every element', () => {
    const x = lg.tensor([
      [0, 1],
      [2, 3],
    ]);
    const want = Math.log(1 + Math.E + Math.E ** 2 + Math.E ** 3);
    expect(x.logsumexp().shape).toEqual([]);
    expect(x.logsumexp().item()).toBeCloseTo(want, 5);
    expect(x.logsumexp(undefined, true).shape).toEqual([1, 1]);
    // logsumexp(axis) is unchanged.
    expect((x.logsumexp(-1).toArray() as number[])[1]).toBeCloseTo(Math.log(Math.E ** 2 + Math.E ** 3), 5);
    expect(x.logsumexp(0).shape).toEqual([2]);
  });
});

describe('option suggestions', () => {
  it('suggest the nearest option, not the first one close enough', () => {
    const f = (x: lg.Tensor) => x.mul(x).sum();
    expect(() => lg.checkGrad(f, [lg.tensor([1, 2])], { atl: 1e-5 } as never)).toThrow(/did you mean 'atol'\?/);
  });
});
