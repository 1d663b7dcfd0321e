/**
 * Higher-order derivatives: grad(grad(f)) (the inner vjp node sits in the
 * outer body and is expanded first) against hand-derived second
 * derivatives, Hessian-vector products against an analytic Hessian, and
 * checkGrad over gradient functions (second derivatives of several rules).
 */
import { describe, it, expect } from 'vitest';
import * as lg from '../../src/index';
import { expectClose, expectGradOk, fromFlat, flat, rand } from './helpers';

type T = lg.Tensor;
const xs = [-1.3, -0.4, 0.2, 0.9, 1.7];

describe('grad(grad(f)) of elementwise functions', () => {
  const sig = (v: number) => 1 / (1 + Math.exp(-v));
  const cases: [string, (x: T) => T, (v: number) => number, (v: number) => number][] = [
    ['sin', (x) => x.sin(), (v) => Math.cos(v), (v) => -Math.sin(v)],
    ['exp', (x) => x.exp(), (v) => Math.exp(v), (v) => Math.exp(v)],
    ['x^3 (mul)', (x) => x.mul(x).mul(x), (v) => 3 * v * v, (v) => 6 * v],
    ['x^3 (pow)', (x) => x.pow(3), (v) => 3 * v * v, (v) => 6 * v],
    ['tanh', (x) => x.tanh(), (v) => 1 - Math.tanh(v) ** 2, (v) => -2 * Math.tanh(v) * (1 - Math.tanh(v) ** 2)],
    ['sigmoid', (x) => x.sigmoid(), (v) => sig(v) * (1 - sig(v)), (v) => sig(v) * (1 - sig(v)) * (1 - 2 * sig(v))],
    [
      'log',
      (x) => x.abs().add(0.5).log(),
      (v) => Math.sign(v) / (Math.abs(v) + 0.5),
      (v) => -1 / (Math.abs(v) + 0.5) ** 2,
    ],
  ];
  for (const [name, f, d1, d2] of cases) {
    it(name, () => {
      const x = fromFlat(xs, [5]);
      // f is elementwise, so d/dx_i sum_j f'(x_j) = f''(x_i).
      const df = lg.grad((x: T) => f(x).sum());
      const values = flat(x);
      expectClose(df(x), values.map(d1), 1e-5, 1e-5, `${name}'`);
      const d2f = lg.grad((x: T) => (df(x) as T).sum());
      expectClose(d2f(x), values.map(d2), 1e-5, 1e-4, `${name}''`);
    });
  }
  it('third derivative of x^4 is 24x', () => {
    const d = (g: (x: T) => T) => (x: T) => lg.grad((y: T) => g(y).sum())(x) as T;
    const f3 = d(d(d((x) => x.pow(4))));
    expectClose(
      f3(fromFlat(xs, [5])),
      flat(fromFlat(xs, [5])).map((v) => 24 * v),
      1e-4,
      1e-4,
    );
  });
  it('grad of a 0-d function, nested as scalars', () => {
    const f = (x: T) => x.mul(x).mul(x).sin();
    // f' = 3x^2 cos(x^3); f'' = 6x cos(x^3) - 9x^4 sin(x^3)
    const g2 = lg.grad(lg.grad(f) as (x: T) => T)(fromFlat([0.7], []));
    const v = Math.fround(0.7);
    expectClose(g2, [6 * v * Math.cos(v ** 3) - 9 * v ** 4 * Math.sin(v ** 3)], 1e-5, 1e-4);
  });
  it('valueAndGrad inside grad: the inner value and gradient are both differentiable', () => {
    const x = fromFlat([0.3, -0.8], [2]);
    const h = (x: T) => {
      const [v, g] = lg.valueAndGrad((y: T) => y.sin().sum())(x) as [T, T];
      return v.add(g.sum());
    };
    // d/dx [sum sin x + sum cos x] = cos x - sin x
    expectClose(
      lg.grad(h)(x),
      flat(x).map((v) => Math.cos(v) - Math.sin(v)),
    );
  });
  it('a closure over the outer argument (lifted into the inner body)', () => {
    // g(x) = d/dy [sum(sin(x * y))] at y = 1 = sum(x cos x); g'(x) = cos x - x sin x.
    const x = fromFlat([0.5, -1.2], [2]);
    const g = (x: T) => lg.grad((y: T) => x.mul(y).sin().sum())(fromFlat([1], [])) as T;
    expectClose(
      lg.grad(g)(x),
      flat(x).map((v) => Math.cos(v) - v * Math.sin(v)),
      1e-5,
      1e-4,
    );
  });
});

describe('Hessian-vector products', () => {
  // f(x) = 0.5 x^T A x + sum(x^3) / 6 + sum(b * x)  =>  H = (A + A^T)/2 + diag(x)
  const n = 4;
  const A = [2, 1, 0, -1, 0.5, 3, 1, 0, 0, -2, 1, 0.5, 1, 0, 0.25, 4];
  const b = [0.1, -0.2, 0.3, 0.4];
  const f = (x: T) => {
    const At = fromFlat(A, [n, n]);
    return x
      .matmul(At)
      .mul(x)
      .sum()
      .mul(0.5)
      .add(x.pow(3).sum().div(6))
      .add(x.mul(fromFlat(b, [n])).sum());
  };
  const hvp = (x: T, v: T) => lg.grad((y: T) => (lg.grad(f)(y) as T).mul(v).sum())(x) as T;

  it('matches the analytic Hessian times v', () => {
    const xv = [0.5, -1, 2, 0.25];
    const vv = [1, 2, -1, 0.5];
    const got = hvp(fromFlat(xv, [n]), fromFlat(vv, [n]));
    const expected = Array.from({ length: n }, (_, i) => {
      let s = 0;
      for (let j = 0; j < n; j++) s += ((A[i * n + j] + A[j * n + i]) / 2 + (i === j ? xv[i] : 0)) * vv[j];
      return s;
    });
    expectClose(got, expected, 1e-5, 1e-5);
  });
  it('columns of the Hessian from unit vectors', () => {
    const xv = [1, 0, -1, 2];
    for (let j = 0; j < n; j++) {
      const e = Array.from({ length: n }, (_, i) => (i === j ? 1 : 0));
      const col = hvp(fromFlat(xv, [n]), fromFlat(e, [n]));
      const expected = Array.from({ length: n }, (_, i) => (A[i * n + j] + A[j * n + i]) / 2 + (i === j ? xv[i] : 0));
      expectClose(col, expected, 1e-5, 1e-5, `column ${j}`);
    }
  });
  it('the gradient itself matches (A + A^T)/2 x + x^2/2 + b', () => {
    const xv = [0.5, -1, 2, 0.25];
    const expected = Array.from({ length: n }, (_, i) => {
      let s = b[i] + xv[i] ** 2 / 2;
      for (let j = 0; j < n; j++) s += ((A[i * n + j] + A[j * n + i]) / 2) * xv[j];
      return s;
    });
    expectClose(lg.grad(f)(fromFlat(xv, [n])), expected, 1e-5, 1e-5);
  });
});

describe('checkGrad of gradient functions (second derivatives of the rules)', () => {
  type F = (...xs: T[]) => T;
  // Each entry: a scalar function; checkGrad differentiates sum(grad(f)(x) * W) against finite differences of grad(f).
  const fns: [string, F, [number, number]][] = [
    ['div and log', (x) => x.log().div(x.add(1)).sum(), [0.5, 2]],
    ['softmax', (x) => x.softmax(-1).mul(x).sum(), [-1, 1]],
    ['logsumexp', (x) => x.logsumexp(-1).sum(), [-1, 1]],
    ['matmul', (x) => x.matmul(x.transpose()).tanh().sum(), [-1, 1]],
    ['sqrt and expm1', (x) => x.sqrt().mul(x.expm1()).sum(), [0.3, 1.5]],
    [
      'slice, pad, concat',
      (x) =>
        lg
          .concat(
            [
              x.slice([1], [null], [2]),
              x
                .pad([
                  [0, 0],
                  [1, 0],
                ])
                .slice([0, 0], [null, 3]),
            ],
            0,
          )
          .square()
          .sum(),
      [-1, 1],
    ],
  ];
  for (const [name, f, [lo, hi]] of fns) {
    it(name, () => {
      const gf = (x: T) => lg.grad(f)(x) as T;
      expectGradOk(gf, [rand([3, 3], lo, hi, 21)], {}, name);
    });
  }
  it('second derivative of a conv2d loss w.r.t. the weights', () => {
    const x = rand([1, 2, 4, 4], -1, 1, 5);
    const gw = (w: T) => lg.grad((w: T) => lg.conv2d(x, w, { padding: 1 }).tanh().sum())(w) as T;
    expectGradOk(gw, [rand([2, 2, 3, 3], -0.5, 0.5, 6)]);
  });
  it('grad(grad(f)) is a float32 tensor of the argument shape', () => {
    const g = lg.grad((x: T) => (lg.grad((y: T) => y.square().sum())(x) as T).sum())(rand([2, 3])) as T;
    expect(g.shape).toEqual([2, 3]);
    expectClose(g, [2, 2, 2, 2, 2, 2]);
  });
});

describe('inside jit: vjp nodes stay in the traced IR and the autodiff pass expands them', () => {
  const f = (x: T) => x.tanh().mul(x).sum();
  it('jit(grad(f)) and jit of grad(grad) match eager', () => {
    const x = fromFlat([0.3, -1.1, 2], [3]);
    const jg = lg.jit(lg.grad(f) as (x: T) => T);
    expectClose(jg(x), flat(lg.grad(f)(x) as T), 1e-6, 1e-6);
    const d2 = (x: T) => lg.grad((y: T) => (lg.grad(f)(y) as T).sum())(x) as T;
    // d/dx [tanh x + x (1 - tanh^2 x)] = 2 (1 - tanh^2 x) - 2 x tanh x (1 - tanh^2 x)
    const expected = flat(x).map((v) => {
      const t = Math.tanh(v);
      return 2 * (1 - t * t) - 2 * v * t * (1 - t * t);
    });
    expectClose(lg.jit(d2)(x), expected, 1e-5, 1e-4);
  });
  it('the traced stage holds a vjp node, the grad stage none', () => {
    const low = lg.jit(lg.grad(f) as (x: T) => T).lower(fromFlat([1, 2, 3], [3]));
    expect(low.ir('traced')).toMatch(/= vjp /);
    expect(low.ir('grad')).not.toMatch(/vjp/);
    expect(low.ir('grad')).toMatch(/tanh/);
  });
});
