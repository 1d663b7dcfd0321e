/**
 * The autodiff API: pytrees and argnums, hasAux, vjp with explicit
 * cotangents, stopGradient, PyTorch-style backward/.grad/zeroGrad, and the
 * errors SPEC requires. Expected values are hand-computed.
 */
import { describe, it, expect } from 'vitest';
import * as lg from '../../src/index';
import { expectClose, fromFlat, flat, rand } from './helpers';

type T = lg.Tensor;

describe('pytrees and argnums', () => {
  const params = () => ({ w: fromFlat([1, 2, 3], [3]), b: fromFlat([0.5], []) });
  const xs = () => [fromFlat([1, 1, 1], [3]), fromFlat([2, 0, -1], [3])];
  // loss = sum over xs of (w . x + b)^2 / 2
  const loss = (p: { w: T; b: T }, list: T[]) =>
    list.map((x) => p.w.mul(x).sum().add(p.b).square().mul(0.5)).reduce((a, c) => a.add(c));

  it('gradients have the structure of each differentiated argument', () => {
    const [gp, gx] = lg.grad(loss, { argnums: [0, 1] })(params(), xs()) as [{ w: T; b: T }, T[]];
    // x1: r = 6.5; x2: r = 2 - 3 + 0.5 = -0.5. dL/dw = sum r x, dL/db = sum r, dL/dx = r w.
    expect(Object.keys(gp).sort()).toEqual(['b', 'w']);
    expect(gp.b.shape).toEqual([]);
    expectClose(gp.w, [6.5 - 1, 6.5, 6.5 + 0.5]);
    expectClose(gp.b, [6]);
    expect(Array.isArray(gx) && gx.length === 2).toBe(true);
    expectClose(gx[0], [6.5, 13, 19.5]);
    expectClose(gx[1], [-0.5, -1, -1.5]);
  });
  it('argnums as a number returns one tree, as an array a list', () => {
    const g1 = lg.grad(loss, { argnums: 1 })(params(), xs()) as T[];
    expect(Array.isArray(g1) && g1.length === 2 && g1[0] instanceof lg.Tensor).toBe(true);
    const g2 = lg.grad(loss, { argnums: [1] })(params(), xs()) as T[][];
    expect(Array.isArray(g2) && g2.length === 1 && Array.isArray(g2[0])).toBe(true);
    expectClose(g2[0][0], flat(g1[0]));
    // Default: argument 0.
    const g0 = lg.grad(loss)(params(), xs()) as { w: T; b: T };
    expectClose(g0.w, [5.5, 6.5, 7]);
  });
  it('gradients come back in argnums order (also repeated)', () => {
    const f = (a: T, b: T) => a.mul(a).add(b.mul(3)).sum();
    const a = fromFlat([1, 2], [2]);
    const b = fromFlat([5], []);
    const [gb, ga] = lg.grad(f, { argnums: [1, 0] })(a, b) as T[];
    expect(gb.shape).toEqual([]);
    expectClose(gb, [6]);
    expectClose(ga, [2, 4]);
    const twice = lg.grad(f, { argnums: [0, 0] })(a, b) as T[];
    expect(twice.length).toBe(2);
    expectClose(twice[1], [2, 4]);
  });
  it('numbers inside a differentiated pytree get null', () => {
    const g = lg.grad((p: { w: T; scale: number }) => p.w.mul(p.scale).sum())({
      w: fromFlat([1, 2], [2]),
      scale: 3,
    }) as { w: T; scale: unknown };
    expectClose(g.w, [3, 3]);
    expect(g.scale).toBeNull();
  });
  it('nested arrays and objects', () => {
    const f = (t: { a: [T, { c: T }] }) => t.a[0].mul(t.a[1].c).sum();
    const g = lg.grad(f)({ a: [fromFlat([1, 2], [2]), { c: fromFlat([3, 4], [2]) }] }) as { a: [T, { c: T }] };
    expectClose(g.a[0], [3, 4]);
    expectClose(g.a[1].c, [1, 2]);
  });
  it('valueAndGrad returns the value too', () => {
    const [v, g] = lg.valueAndGrad((x: T) => x.mul(x).sum())(fromFlat([1, 2], [2])) as [T, T];
    expectClose(v, [5]);
    expectClose(g, [2, 4]);
  });
  it('hasAux: [[value, aux], grads], aux does not contribute to the gradient', () => {
    const f = (x: T) => {
      const y = x.mul(x).sum();
      return [y, { cube: x.mul(x).mul(x), twice: [y.mul(2)] }];
    };
    const [[v, aux], g] = lg.valueAndGrad(f, { hasAux: true })(fromFlat([1, 2], [2])) as [
      [T, { cube: T; twice: T[] }],
      T,
    ];
    expectClose(v, [5]);
    expectClose(aux.cube, [1, 8]);
    expectClose(aux.twice[0], [10]);
    expectClose(g, [2, 4]);
  });
  it('arguments that do not affect the output get zeros of their shape', () => {
    const [ga, gb, gc] = lg.grad((a: T, b: T, c: T) => a.sum().add(c.detach().sum()), { argnums: [0, 1, 2] })(
      fromFlat([1, 2], [2]),
      rand([2, 3]),
      fromFlat([7], []),
    ) as T[];
    expectClose(ga, [1, 1]);
    expect(gb.shape).toEqual([2, 3]);
    expectClose(gb, [0, 0, 0, 0, 0, 0]);
    expect(gc.shape).toEqual([]);
    expectClose(gc, [0]);
    const gp = lg.grad((p: { u: T; v: T }) => p.u.sum())({ u: fromFlat([1], [1]), v: fromFlat([1, 2, 3], [3]) }) as {
      u: T;
      v: T;
    };
    expectClose(gp.v, [0, 0, 0]);
  });
});

describe('vjp', () => {
  it('non-scalar output with an explicit cotangent', () => {
    const x = fromFlat([1, 2, 3, 4, 5, 6], [2, 3]);
    const y = fromFlat([1, -1, 2], [3]);
    const [out, vjpFn] = lg.vjp((x: T, y: T) => x.mul(y), x, y);
    expectClose(out, [1, -2, 6, 4, -5, 12]);
    const ct = fromFlat([1, 0, 2, 0, 1, 3], [2, 3]);
    const [gx, gy] = vjpFn(ct) as T[];
    expectClose(gx, [1, 0, 4, 0, -1, 6]); // ct * y
    expectClose(gy, [1, 5, 24]); // sum over rows of ct * x
    // A second call with another cotangent builds its own vjp.
    const [gx2] = vjpFn(fromFlat([1, 1, 1, 1, 1, 1], [2, 3])) as T[];
    expectClose(gx2, [1, -1, 2, 1, -1, 2]);
  });
  it('pytree outputs take a cotangent of the same structure', () => {
    const x = fromFlat([0, 1], [2]);
    const [out, vjpFn] = lg.vjp((x: T) => ({ s: x.sin(), t: [x.sum()] }), x);
    const o = out as { s: T; t: T[] };
    expectClose(o.s, [0, Math.sin(1)]);
    expectClose(o.t[0], [1]);
    const [g] = vjpFn({ s: fromFlat([1, 2], [2]), t: [fromFlat([3], [])] }) as T[];
    expectClose(g, [1 + 3, 2 * Math.cos(1) + 3]);
  });
  it('int32 leaves inside a float pytree get null', () => {
    const k = lg.tensor(Int32Array.from([2, 3]));
    const [, vjpFn] = lg.vjp((p: { x: T; k: T }) => p.x.mul(p.k), { x: fromFlat([1, 1], [2]), k });
    const [g] = vjpFn(fromFlat([1, 10], [2])) as { x: T; k: T | null }[];
    expectClose(g.x, [2, 30]);
    expect(g.k).toBeNull();
  });
  it('an int32 primal gets null', () => {
    const k = lg.tensor(Int32Array.from([2, 3]));
    const [, vjpFn] = lg.vjp((x: T, k: T) => x.mul(k), fromFlat([1, 1], [2]), k);
    const [gx, gk] = vjpFn(fromFlat([1, 10], [2]));
    expectClose(gx, [2, 30]);
    expect(gk).toBeNull();
  });
});

describe('stopGradient / detach', () => {
  it('blocks the gradient through the detached branch', () => {
    const x = fromFlat([1, 2, 3], [3]);
    expectClose(lg.grad((x: T) => x.detach().mul(x).sum())(x), [1, 2, 3]);
    expectClose(lg.grad((x: T) => lg.stopGradient(x.mul(x)).add(x).sum())(x), [1, 1, 1]);
    // Values are unchanged.
    expectClose(lg.stopGradient(x).mul(2), [2, 4, 6]);
  });
  it('checkGrad differences in float64: exact for a quadratic', () => {
    // A float32 central difference would be off by ~1e-4 here; float64 by ~1e-11.
    const r = lg.checkGrad((x) => x.mul(x).sum(), [fromFlat([0.3, 1.7, -2.2, 5.5, 10.25, 3], [6])]);
    expect(r.ok).toBe(true);
    expect(r.maxAbsError).toBeLessThan(1e-8);
  });
  it('checkGrad notices a gradient that stopGradient made wrong', () => {
    const r = lg.checkGrad((x) => x.detach().mul(x).sum(), [fromFlat([1, 2, 3], [3])]);
    expect(r.ok).toBe(false);
    expect(r.maxAbsError).toBeCloseTo(3, 2);
  });
});

describe('backward()', () => {
  it('fills .grad and accumulates until zeroGrad()', () => {
    const x = lg.tensor([1, 2, 3], { requiresGrad: true });
    const c = lg.tensor([1, 1, 1]);
    expect(x.requiresGrad).toBe(true);
    x.mul(x).sum().backward();
    expectClose(x.grad, [2, 4, 6]);
    expect(c.grad).toBeNull();
    x.mul(x).mul(c).sum().backward();
    expectClose(x.grad, [4, 8, 12]);
    x.zeroGrad();
    expect(x.grad).toBeNull();
    x.sin().sum().backward();
    expectClose(x.grad, [Math.cos(1), Math.cos(2), Math.cos(3)]);
  });
  it('several leaves at once, non-scalar output with a cotangent', () => {
    const w = lg.tensor(
      [
        [1, 2],
        [3, 4],
      ],
      { requiresGrad: true },
    );
    const b = lg.tensor([1, -1], { requiresGrad: true });
    const x = lg.tensor([
      [1, 0],
      [0, 2],
    ]);
    const y = x.matmul(w).add(b); // [[2, 1], [7, 7]]
    y.backward(
      lg.tensor([
        [1, 2],
        [3, 4],
      ]),
    );
    // dW = x^T G = [[1,2],[6,8]]; db = column sums of G.
    expectClose(w.grad, [1, 2, 6, 8]);
    expectClose(b.grad, [4, 6]);
  });
  it('reaches the leaves through a realised intermediate', () => {
    const x = lg.tensor([0.5, 1], { requiresGrad: true });
    const y = x.mul(x);
    y.realize();
    expectClose(y, [0.25, 1]);
    const z = y.sin().sum();
    z.backward();
    // dz/dx = cos(x^2) * 2x
    expectClose(x.grad, [Math.cos(0.25) * 1, Math.cos(1) * 2]);
  });
  it('errors: no requiresGrad leaf, or a non-scalar output without a cotangent', () => {
    expect(() => lg.tensor([1, 2]).sum().backward()).toThrow(lg.LazygradError);
    const x = lg.tensor([1, 2], { requiresGrad: true });
    expect(() => x.mul(2).backward()).toThrow(lg.LazygradError);
    expect(() => lg.tensor(Int32Array.from([1]), { requiresGrad: true })).toThrow(lg.LazygradError);
  });
});

describe('errors', () => {
  it('grad of a non-scalar output', () => {
    expect(() => lg.grad((x: T) => x.mul(2))(fromFlat([1, 2], [2]))).toThrow(lg.LazygradError);
    expect(() => lg.grad((x: T) => x.mul(2))(fromFlat([1, 2], [2]))).toThrow(/scalar/);
  });
  it('grad of an int32 output names the public dtype', () => {
    expect(() => lg.grad((x: T) => x.sum().cast('int32'))(fromFlat([1, 2], [2]))).toThrow(/float32, got int32/);
  });
  it('backward() on a tensor that depends on traced values', () => {
    const inside = (y: T) => {
      const x = lg.tensor([1, 2], { requiresGrad: true });
      x.mul(y).sum().backward();
      return y.sum();
    };
    expect(() => lg.grad(inside)(fromFlat([1, 1], [2]))).toThrow(lg.LazygradError);
    expect(() => lg.grad(inside)(fromFlat([1, 1], [2]))).toThrow(/traced/);
  });
  it('grad with respect to an int32 argument', () => {
    const k = lg.tensor(Int32Array.from([1, 2]));
    expect(() => lg.grad((k: T) => k.cast('float32').sum())(k)).toThrow(lg.LazygradError);
    expect(() => lg.grad((x: T, k: T) => x.mul(k).sum(), { argnums: [0, 1] })(fromFlat([1, 2], [2]), k)).toThrow(
      lg.LazygradError,
    );
    // Not differentiated: fine.
    expectClose(lg.grad((x: T, k: T) => x.mul(k).sum())(fromFlat([1, 2], [2]), k), [1, 2]);
  });
  it('reading values inside a traced function', () => {
    const x = fromFlat([1, 2], [2]);
    expect(() => lg.grad((x: T) => x.sum().add(x.sum().item() as number))(x)).toThrow(lg.LazygradError);
    expect(() =>
      lg.grad((x: T) => {
        x.dataSync();
        return x.sum();
      })(x),
    ).toThrow(lg.LazygradError);
    expect(() =>
      lg.grad((x: T) => {
        x.mul(2).toArray();
        return x.sum();
      })(x),
    ).toThrow(lg.LazygradError);
    expect(() =>
      lg.vjp((x: T) => {
        x.realize();
        return x;
      }, x),
    ).toThrow(lg.LazygradError);
  });
  it('argnums out of range, non-function, non-tensor argument', () => {
    const x = fromFlat([1], [1]);
    expect(() => lg.grad((x: T) => x.sum(), { argnums: 1 })(x)).toThrow(lg.LazygradError);
    expect(() => lg.valueAndGrad(42 as unknown as () => T)).toThrow(lg.LazygradError);
    // A plain number cannot be differentiated: an error, not a silent null gradient.
    expect(() => lg.grad((x: unknown) => lg.tensor(1).mul(x as number))(3)).toThrow(lg.LazygradError);
    expect(() => lg.grad((x: T, n: unknown) => x.mul(n as number).sum(), { argnums: [0, 1] })(x, 2)).toThrow(
      lg.LazygradError,
    );
  });
  it('vjpFn with a cotangent of the wrong shape or count', () => {
    const [, vjpFn] = lg.vjp((x: T) => x.mul(2), fromFlat([1, 2], [2]));
    expect(() => vjpFn(fromFlat([1, 2, 3], [3]))).toThrow(lg.LazygradError);
    expect(() => vjpFn([fromFlat([1, 2], [2]), fromFlat([1, 2], [2])])).toThrow(lg.LazygradError);
  });
});
