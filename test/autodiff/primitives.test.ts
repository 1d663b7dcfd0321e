/**
 * Gradients of every primitive reachable from the public API, checked with
 * checkGrad (float64 central differences) on sum(f(x) * W) for fixed weights
 * W, so each output element carries a different cotangent; plus a few
 * analytic gradients against hand-computed values.
 */
import { describe, it, expect } from 'vitest';
import * as lg from '../../src/index';
import { rand, distinct, expectGradOk, expectClose, flat, fromFlat } from './helpers';

type F = (...xs: lg.Tensor[]) => lg.Tensor;
const S = (s: readonly number[]) => `[${s.join(',')}]`;

describe('unary primitives', () => {
  // Domains keep away from kinks and singularities.
  const cases: [string, F, number, number][] = [
    ['neg', (x) => x.neg(), -2, 2],
    ['abs (x < 0)', (x) => x.abs(), -2, -0.2],
    ['abs (x > 0)', (x) => x.abs(), 0.2, 2],
    ['exp', (x) => x.exp(), -2, 2],
    ['log', (x) => x.log(), 0.2, 3],
    ['sqrt', (x) => x.sqrt(), 0.2, 3],
    ['sin', (x) => x.sin(), -3, 3],
    ['cos', (x) => x.cos(), -3, 3],
    ['tanh', (x) => x.tanh(), -2, 2],
    ['sigmoid', (x) => x.sigmoid(), -4, 4],
    ['log1p', (x) => x.log1p(), -0.8, 3],
    ['expm1', (x) => x.expm1(), -2, 2],
  ];
  for (const [name, f, lo, hi] of cases) {
    it(name, () => {
      expectGradOk(f, [rand([2, 3], lo, hi)], {}, name);
      expectGradOk(f, [rand([], lo, hi, 2)], {}, `${name} 0-d`);
    });
  }
});

describe('binary primitives with broadcasting', () => {
  const pairs: [number[], number[]][] = [
    [
      [2, 3],
      [2, 3],
    ],
    [
      [3, 1],
      [1, 4],
    ],
    [
      [1, 4],
      [3, 1],
    ],
    [[4], [2, 3, 4]],
    [[2, 3, 4], [4]],
    [[], [2, 3]],
    [[2, 3], []],
    [
      [2, 1, 3],
      [4, 1],
    ],
  ];
  const ops: [string, F, [number, number], [number, number]][] = [
    ['add', (a, b) => a.add(b), [-1, 1], [-1, 1]],
    ['sub', (a, b) => a.sub(b), [-1, 1], [-1, 1]],
    ['mul', (a, b) => a.mul(b), [-2, 2], [-2, 2]],
    ['div', (a, b) => a.div(b), [-2, 2], [0.5, 2]],
    ['pow', (a, b) => a.pow(b), [0.5, 2], [-1.5, 2.5]],
  ];
  for (const [name, f, ra, rb] of ops) {
    for (const [sa, sb] of pairs) {
      it(`${name} ${S(sa)} with ${S(sb)}`, () => {
        expectGradOk(f, [rand(sa, ...ra, 3), rand(sb, ...rb, 4)], {}, name);
      });
    }
  }
  // maximum/minimum: a and b drawn from interleaved ramps, so no element ties.
  for (const name of ['maximum', 'minimum'] as const) {
    for (const [sa, sb] of pairs) {
      it(`${name} ${S(sa)} with ${S(sb)} (no ties)`, () => {
        const a = distinct(sa, 5, 0.2);
        const b = distinct(sb, 6, 0.2).add(0.1).realize();
        expectGradOk((x, y) => x[name](y), [a, b], {}, name);
      });
    }
  }
  it('pow by a number (exponent not differentiated) and a number base', () => {
    expectGradOk((x) => x.pow(3), [rand([2, 3], -2, 2)]);
    expectGradOk((x) => x.pow(0.5), [rand([2, 3], 0.3, 2)]);
    expectGradOk((x) => lg.tensor(2).pow(x), [rand([2, 3], -2, 2)]);
  });
  it('numbers on either side', () => {
    expectGradOk((x) => x.mul(3).add(1).sub(2).div(4), [rand([3])]);
    expectGradOk((x) => lg.tensor(2).div(x), [rand([3], 0.5, 2)]);
  });
  it('a value used many times sums its cotangents', () => {
    expectGradOk((x) => x.mul(x).add(x.sin().mul(x)).sub(x), [rand([2, 3])]);
  });
});

describe('where', () => {
  const shapes: [number[], number[], number[]][] = [
    [
      [2, 3],
      [2, 3],
      [2, 3],
    ],
    [[2, 3], [3], []],
    [
      [3, 1],
      [1, 4],
      [3, 4],
    ],
    [[], [2, 3], [2, 1]],
  ];
  for (const [sc, sa, sb] of shapes) {
    it(`cond ${S(sc)}, a ${S(sa)}, b ${S(sb)}`, () => {
      const c = rand(sc, -1, 1, 9).gt(0);
      expectGradOk((a, b) => lg.where(c, a, b), [rand(sa, -1, 1, 3), rand(sb, -1, 1, 4)]);
    });
  }
});

describe('reductions', () => {
  const shape = [2, 3, 4];
  const axesList: (number | number[] | undefined)[] = [0, 1, 2, -1, [0, 2], [1, 2], [0, 1, 2], undefined];
  for (const axes of axesList) {
    for (const keep of [false, true]) {
      it(`sum axis ${JSON.stringify(axes)} keepdims ${keep}`, () => {
        expectGradOk((x) => x.sum(axes, keep), [rand(shape)]);
      });
      it(`max axis ${JSON.stringify(axes)} keepdims ${keep} (no ties)`, () => {
        expectGradOk((x) => x.max(axes, keep), [distinct(shape, 11)]);
      });
    }
  }
  it('sum and max of a 0-d tensor', () => {
    expectGradOk((x) => x.sum().mul(x.max()), [rand([], 0.5, 1)]);
  });
});

describe('movement primitives', () => {
  it('reshape', () => {
    expectGradOk((x) => x.reshape([4, 6]), [rand([2, 3, 4])]);
    expectGradOk((x) => x.reshape([-1]), [rand([2, 3, 4])]);
    expectGradOk((x) => x.reshape([1, 6, 1, 4]).sin(), [rand([2, 3, 4])]);
  });
  for (const perm of [
    [1, 0, 2],
    [2, 0, 1],
    [1, 2, 0],
    [2, 1, 0],
  ]) {
    it(`transpose ${S(perm)}`, () => {
      expectGradOk((x) => x.transpose(perm), [rand([2, 3, 4])]);
    });
  }
  it('transpose() reverses axes', () => {
    expectGradOk((x) => x.transpose(), [rand([2, 3, 4])]);
  });
  it('expand', () => {
    expectGradOk((x) => x.expand([3, 4]), [rand([3, 1])]);
    expectGradOk((x) => x.expand([2, 3, 4]), [rand([4])]);
    expectGradOk((x) => x.expand([2, 3, 4]), [rand([2, 1, 4])]);
    expectGradOk((x) => x.expand([5, 2]), [rand([])]);
  });
  const slices: [string, number[], (number | null)[], (number | null)[], (number | null)[]][] = [
    ['contiguous', [5, 6], [1, 2], [4, 5], [1, 1]],
    ['step 2 and 3', [7, 8], [0, 1], [7, 8], [2, 3]],
    ['negative step -1', [5, 6], [null, null], [null, null], [-1, 1]],
    ['negative step -2 and 2', [7, 6], [6, 1], [0, 6], [-2, 2]],
    ['negative step -3 from the middle', [9, 4], [7, -1], [null, null], [-3, -1]],
    ['negative indices', [6, 5], [-4, -3], [-1, 5], [1, 1]],
    ['out-of-range bounds clamp', [4, 5], [-10, 1], [10, 100], [1, 2]],
  ];
  for (const [name, shape, starts, ends, steps] of slices) {
    it(`slice ${name}`, () => {
      expectGradOk((x) => x.slice(starts, ends, steps), [rand(shape)]);
    });
  }
  it('pad (zero and non-zero value)', () => {
    expectGradOk(
      (x) =>
        x.pad([
          [1, 2],
          [0, 3],
        ]),
      [rand([3, 4])],
    );
    expectGradOk(
      (x) =>
        x
          .pad(
            [
              [2, 0],
              [1, 1],
            ],
            5,
          )
          .sin(),
      [rand([3, 4])],
    );
  });
  for (const axis of [0, 1, -1]) {
    it(`concat axis ${axis}`, () => {
      const shapeFor = (n: number) => (axis === 0 ? [n, 3] : [2, n]);
      expectGradOk(
        (a, b, c) => lg.concat([a, b, c], axis),
        [rand(shapeFor(1), -1, 1, 1), rand(shapeFor(2), -1, 1, 2), rand(shapeFor(3), -1, 1, 3)],
      );
    });
  }
  it('concat of the same tensor twice sums both cotangents', () => {
    expectGradOk((a) => lg.concat([a, a.mul(2)], 0), [rand([2, 3])]);
  });
  it('stack', () => {
    expectGradOk((a, b) => lg.stack([a, b], 1), [rand([2, 3], -1, 1, 1), rand([2, 3], -1, 1, 2)]);
  });
  it('squeeze / unsqueeze / flatten', () => {
    expectGradOk((x) => x.unsqueeze(1).squeeze(1).flatten(), [rand([2, 3])]);
  });
});

describe('cast', () => {
  it('float32 -> float32 is the identity', () => {
    expectGradOk((x) => x.cast('float32').mul(x), [rand([2, 3])]);
  });
  it('through int32 no gradient flows (hand-computed)', () => {
    const x = fromFlat([1.5, -2.5, 3.25], [3]);
    const g = lg.grad((x: lg.Tensor) => x.cast('int32').cast('float32').mul(x).sum())(x);
    // d/dx (trunc(x) * x) with trunc treated as constant = trunc(x).
    expectClose(g, [1, -2, 3]);
  });
  it('int32 input cast to float32 mixed with a float argument', () => {
    const k = lg.tensor(Int32Array.from([1, 2, 3]));
    expectGradOk((x) => x.mul(k.cast('float32')).add(k), [rand([3])]);
  });
});

describe('dot (matmul)', () => {
  const cases: [number[], number[]][] = [
    [
      [3, 4],
      [4, 5],
    ],
    [
      [2, 3, 4],
      [2, 4, 5],
    ],
    [
      [2, 3, 4],
      [4, 5],
    ],
    [
      [3, 4],
      [2, 4, 5],
    ],
    [
      [2, 1, 3, 4],
      [3, 4, 2],
    ],
    [[4], [4, 5]],
    [[3, 4], [4]],
    [[4], [4]],
    [[4], [2, 4, 3]],
  ];
  for (const [sa, sb] of cases) {
    it(`${S(sa)} @ ${S(sb)}`, () => {
      expectGradOk((a, b) => a.matmul(b), [rand(sa, -1, 1, 1), rand(sb, -1, 1, 2)]);
    });
  }
  it('a @ a.T uses a twice', () => {
    expectGradOk((a) => a.matmul(a.transpose()), [rand([3, 4])]);
  });
});

describe('analytic gradients against hand-computed values', () => {
  it('d/dx sum(x^2) = 2x', () => {
    const g = lg.grad((x: lg.Tensor) => x.mul(x).sum())(fromFlat([1, -2, 3], [3]));
    expectClose(g, [2, -4, 6]);
  });
  it('d/dx sum(log x) = 1/x and d/dx sum(sqrt x) = 1/(2 sqrt x)', () => {
    const x = fromFlat([0.5, 2, 4], [3]);
    expectClose(lg.grad((x: lg.Tensor) => x.log().sum())(x), [2, 0.5, 0.25]);
    expectClose(lg.grad((x: lg.Tensor) => x.sqrt().sum())(x), [1 / (2 * Math.sqrt(0.5)), 1 / (2 * Math.SQRT2), 0.25]);
  });
  it('broadcast [3,1] * [1,4]: each side gets the other summed', () => {
    const a = fromFlat([1, 2, 3], [3, 1]);
    const b = fromFlat([1, 10, 100, 1000], [1, 4]);
    const [ga, gb] = lg.grad((a: lg.Tensor, b: lg.Tensor) => a.mul(b).sum(), { argnums: [0, 1] })(a, b) as lg.Tensor[];
    expect(ga.shape).toEqual([3, 1]);
    expect(gb.shape).toEqual([1, 4]);
    expectClose(ga, [1111, 1111, 1111]);
    expectClose(gb, [6, 6, 6, 6]);
  });
  it('0-d scalar times [2,3]', () => {
    const s = fromFlat([2], []);
    const m = fromFlat([1, 2, 3, 4, 5, 6], [2, 3]);
    const [gs, gm] = lg.grad((s: lg.Tensor, m: lg.Tensor) => s.mul(m).sum(), { argnums: [0, 1] })(s, m) as lg.Tensor[];
    expect(gs.shape).toEqual([]);
    expectClose(gs, [21]);
    expectClose(gm, [2, 2, 2, 2, 2, 2]);
  });
  it('d/db sum(a / b) = -a / b^2, d/db a^b = a^b log a', () => {
    const a = fromFlat([1, 2], [2]);
    const b = fromFlat([2, 4], [2]);
    expectClose(lg.grad((a: lg.Tensor, b: lg.Tensor) => a.div(b).sum(), { argnums: 1 })(a, b), [-0.25, -0.125]);
    expectClose(lg.grad((a: lg.Tensor, b: lg.Tensor) => a.pow(b).sum(), { argnums: 1 })(a, b), [0, 16 * Math.log(2)]);
    expectClose(lg.grad((a: lg.Tensor, b: lg.Tensor) => a.pow(b).sum())(a, b), [2, 32]);
  });
  it('d/dx x^0 = 0 and d/dx x^b at x = 0 (no 0 * inf)', () => {
    const x = fromFlat([0, 1, 2], [3]);
    expectClose(lg.grad((x: lg.Tensor) => x.pow(0).sum())(x), [0, 0, 0]);
    expectClose(lg.grad((x: lg.Tensor, b: lg.Tensor) => x.pow(b).sum())(x, fromFlat([0, 0, 2], [3])), [0, 0, 4]);
    expectClose(lg.grad((x: lg.Tensor) => x.pow(2).sum())(x), [0, 2, 4]);
    // d/db 0^b = 0 for b > 0.
    expectClose(lg.grad((b: lg.Tensor) => lg.tensor(0).pow(b).sum())(fromFlat([1, 2], [2])), [0, 0]);
  });
  it('sign and comparisons pass no gradient', () => {
    const x = fromFlat([-2, 3], [2]);
    expectClose(lg.grad((x: lg.Tensor) => x.sign().mul(x).sum())(x), [-1, 1]);
    expectClose(lg.grad((x: lg.Tensor) => x.gt(0).cast('float32').mul(x).sum())(x), [0, 1]);
  });
  it('max reduction picks the argmax', () => {
    const x = fromFlat([1, 5, 2, 7, 0, 3], [2, 3]);
    expectClose(lg.grad((x: lg.Tensor) => x.max(1).sum())(x), [0, 1, 0, 1, 0, 0]);
  });
  it('strided slice scatters back into place, zeros elsewhere', () => {
    const x = fromFlat([0, 1, 2, 3, 4, 5, 6], [7]);
    // x[5:0:-2] = x[5], x[3], x[1], weighted 1, 10, 100.
    const w = fromFlat([1, 10, 100], [3]);
    expectClose(lg.grad((x: lg.Tensor) => x.slice([5], [0], [-2]).mul(w).sum())(x), [0, 100, 0, 10, 0, 1, 0]);
  });
  it('pad passes back the interior', () => {
    const x = fromFlat([1, 2], [2]);
    const w = fromFlat([1, 2, 3, 4, 5], [5]);
    expectClose(
      lg.grad((x: lg.Tensor) =>
        x
          .pad([[1, 2]], 9)
          .mul(w)
          .sum(),
      )(x),
      [2, 3],
    );
  });
  it('matmul: dA = G B^T, dB = A^T G', () => {
    const a = fromFlat([1, 2, 3, 4], [2, 2]);
    const b = fromFlat([5, 6, 7, 8], [2, 2]);
    const gw = fromFlat([1, 0, 0, 2], [2, 2]);
    const [ga, gb] = lg.grad((a: lg.Tensor, b: lg.Tensor) => a.matmul(b).mul(gw).sum(), { argnums: [0, 1] })(
      a,
      b,
    ) as lg.Tensor[];
    // G = [[1,0],[0,2]]; G B^T = [[5,7],[12,16]]; A^T G = [[1,6],[2,8]].
    expectClose(ga, [5, 7, 12, 16]);
    expectClose(gb, [1, 6, 2, 8]);
  });
  it('expand sums over the broadcast axes', () => {
    const x = fromFlat([1, 2], [2, 1]);
    const w = fromFlat([1, 2, 3, 4, 5, 6], [2, 3]);
    expectClose(lg.grad((x: lg.Tensor) => x.expand([2, 3]).mul(w).sum())(x), [6, 15]);
  });
  it('gradient values are float32 tensors of the argument shape', () => {
    const g = lg.grad((x: lg.Tensor) => x.sum())(rand([2, 3])) as lg.Tensor;
    expect(g.shape).toEqual([2, 3]);
    expect(g.dtype).toBe('float32');
    expect(flat(g)).toEqual([1, 1, 1, 1, 1, 1]);
  });
});
