/** Issue 13 item 1: a donated buffer passed in two argument slots never gives wrong numbers. */
import { describe, expect, it } from 'vitest';
import * as lg from '../../src/index';

const realised = (xs: number[]) => lg.tensor(xs).add(0).realize();

describe('jit donation with aliased arguments', () => {
  it('the same tensor in two donated slots', () => {
    const h = lg.jit((b: lg.Tensor, c: lg.Tensor) => [b.add(1), c.add(2)], { donate: [0, 1] });
    const a = realised([1, 2]);
    const [x, y] = h(a, a);
    expect(x.toArray()).toEqual([2, 3]);
    expect(y.toArray()).toEqual([3, 4]);
    // Without aliasing, donation still works on the same cached plan.
    const [p, q] = h(realised([10, 20]), realised([5, 6]));
    expect(p.toArray()).toEqual([11, 21]);
    expect(q.toArray()).toEqual([7, 8]);
  });

  it('the same tensor in a donated and a non-donated slot', () => {
    const h = lg.jit((b: lg.Tensor, c: lg.Tensor) => [b.add(1), c.add(2)], { donate: [0] });
    const a = realised([1, 2]);
    const [x, y] = h(a, a);
    expect(x.toArray()).toEqual([2, 3]);
    expect(y.toArray()).toEqual([3, 4]);
  });

  it('aliasing inside a pytree argument', () => {
    const h = lg.jit((t: { u: lg.Tensor; v: lg.Tensor }) => ({ u: t.u.mul(2), v: t.v.mul(3) }), { donate: 0 });
    const w = realised([1, 2]);
    const r = h({ u: w, v: w });
    expect(r.u.toArray()).toEqual([2, 4]);
    expect(r.v.toArray()).toEqual([3, 6]);
  });

  it('a donated argument that is also captured by the function', () => {
    const w = realised([1, 2]);
    const h = lg.jit((b: lg.Tensor) => [b.mul(10), w.add(1)], { donate: 0 });
    const [x, y] = h(w);
    expect(x.toArray()).toEqual([10, 20]);
    expect(y.toArray()).toEqual([2, 3]);
  });

  it('tied parameters in a donated SGD step', () => {
    const opt = lg.optim.sgd({ lr: 0.1 });
    const x = lg.tensor([1, 2]);
    const y = lg.tensor([3, 4]);
    // loss = sum(a * x) + sum(b * y): grad a = x, grad b = y.
    const loss = (p: { a: lg.Tensor; b: lg.Tensor }) => p.a.mul(x).sum().add(p.b.mul(y).sum());
    const step = lg.jit(
      (p: { a: lg.Tensor; b: lg.Tensor }, s: { velocity: unknown }) => opt.update(lg.grad(loss)(p), s, p),
      { donate: 0 },
    );
    const w = realised([1, 1]);
    const params = { a: w, b: w };
    const [np] = step(params, opt.init(params)) as [{ a: lg.Tensor; b: lg.Tensor }, unknown];
    expect(np.a.toArray()).toEqual([1 - 0.1 * 1, 1 - 0.1 * 2].map(Math.fround));
    expect(np.b.toArray()).toEqual([1 - 0.1 * 3, 1 - 0.1 * 4].map(Math.fround));
  });
});
