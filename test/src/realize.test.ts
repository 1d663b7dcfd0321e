import { describe, it, expect, afterAll, beforeAll } from 'vitest';
import * as lg from '../../src/index';
import * as R from './reference';

const close = (a: unknown, e: unknown, rtol = 1e-5, atol = 1e-6, label = '') => R.expectClose(a, e, rtol, atol, label);

describe.each([true, false])('laziness and realisation (fusion=%s)', (fusion) => {
  beforeAll(() => lg.setFusion(fusion));
  afterAll(() => lg.setFusion(true));

  it('values are correct after realize()', () => {
    const x = lg.tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    const y = x.mul(2).add(1).sum(1);
    y.realize();
    expect(y.shape).toEqual([2]);
    expect(y.toArray()).toEqual([15, 33]);
    // realize() twice is harmless
    y.realize();
    expect(y.toArray()).toEqual([15, 33]);
  });

  it('realize() of an already realised leaf is harmless', () => {
    const x = lg.tensor([1, 2]);
    x.realize();
    x.realize();
    expect(x.toArray()).toEqual([1, 2]);
  });

  it('a realised tensor used in new expressions gives right values', () => {
    const x = lg.tensor([1, 2, 3, 4]);
    const y = x.exp();
    y.realize();
    const z = y.log().mul(y);
    close(
      z,
      [1, 2, 3, 4].map((v) => v * Math.exp(v)),
      1e-5,
      1e-5,
    );
    const w = y.sub(x.exp());
    close(w, [0, 0, 0, 0], 0, 1e-5);
    // the realised tensor itself is unchanged
    close(y, [1, 2, 3, 4].map(Math.exp));
  });

  it('reading an intermediate after reading a result built from it', () => {
    const x = lg.tensor([1, 2, 3]);
    const y = x.add(1);
    const z = y.mul(y);
    expect(z.toArray()).toEqual([4, 9, 16]);
    expect(y.toArray()).toEqual([2, 3, 4]);
    expect(x.toArray()).toEqual([1, 2, 3]);
    // and build more from the intermediate afterwards
    expect(y.neg().toArray()).toEqual([-2, -3, -4]);
    expect(z.add(y).toArray()).toEqual([6, 12, 20]);
  });

  it('reading the intermediate first, then the result', () => {
    const x = lg.tensor([1, 2, 3]);
    const y = x.mul(3);
    const z = y.sub(x);
    expect(y.toArray()).toEqual([3, 6, 9]);
    expect(z.toArray()).toEqual([2, 4, 6]);
  });

  it('a long eager loop realising every step stays correct', () => {
    let x = lg.tensor([1, 0, -4, 10]);
    let ref = [1, 0, -4, 10];
    for (let i = 0; i < 200; i++) {
      x = x.mul(0.5).add(1);
      x.realize();
      ref = ref.map((v) => Math.fround(Math.fround(v * 0.5) + 1));
    }
    close(x, ref);
    close(x, [2, 2, 2, 2]);
  });

  it('a long eager loop reading values every step stays correct', () => {
    let x = lg.tensor([3, -3]);
    let ref = [3, -3];
    for (let i = 0; i < 100; i++) {
      x = x.mul(0.9).add(0.1);
      ref = ref.map((v) => Math.fround(Math.fround(v * 0.9) + 0.1));
      if (i % 10 === 0) close(x, ref, 1e-5, 1e-6, `step ${i}`);
    }
    close(x, ref, 1e-5, 1e-6);
  });

  it('a deep lazy graph (500 steps, realised once) is correct', () => {
    let x = lg.tensor([1, 2, 3]);
    let ref = [1, 2, 3];
    for (let i = 0; i < 500; i++) {
      x = x.mul(0.5).add(1);
      ref = ref.map((v) => v * 0.5 + 1);
    }
    close(x, ref);
  });

  it('an eager loop with a recurrence over two realised tensors', () => {
    let a = lg.tensor([0]);
    let b = lg.tensor([1]);
    for (let i = 0; i < 30; i++) {
      const c = a.add(b);
      a = b;
      b = c;
      b.realize();
    }
    expect(b.item()).toBe(1346269); // fib(31)
    expect(a.item()).toBe(832040); // fib(30)
  });

  it('an eager loop of matrix updates (like SGD) stays correct', () => {
    const rng = R.mulberry32(11);
    const wRef = R.randND(rng, [4, 3]);
    const g = R.randND(rng, [4, 3]);
    let w = lg.tensor(R.toNested(wRef));
    const gt = lg.tensor(R.toNested(g));
    let ref = wRef;
    for (let i = 0; i < 50; i++) {
      w = w.sub(gt.mul(0.01));
      w.realize();
      ref = R.sub(ref, R.mul(g, 0.01));
    }
    close(w, ref, 1e-4, 1e-5);
  });

  it('a realised view used afterwards', () => {
    const x = lg.tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    const v = x.transpose();
    v.realize();
    expect(v.toArray()).toEqual([
      [1, 4],
      [2, 5],
      [3, 6],
    ]);
    expect(v.slice([2, 0], [-4, 2], [-1, 1]).toArray()).toEqual([
      [3, 6],
      [2, 5],
      [1, 4],
    ]);
    expect(v.sum(0).toArray()).toEqual([6, 15]);
    expect(x.toArray()).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
  });

  it('a tensor that is never read does not disturb others', () => {
    const x = lg.tensor([1, 2, 3]);
    x.mul(100).exp(); // built, never read
    const y = x.add(1);
    expect(y.toArray()).toEqual([2, 3, 4]);
  });

  it('a random tensor has one value however it is used', () => {
    const r = lg.rand([50]);
    const a = r.add(1); // built before r is read
    const d = r.sub(r);
    const rv = Array.from(r.dataSync());
    close(
      a,
      rv.map((v) => v + 1),
    );
    close(d, new Array(50).fill(0), 0, 0);
    close(r.mul(1), rv, 0, 0);
  });

  it('random tensors read in different orders keep their values', () => {
    const r = lg.randn([20]);
    const s = r.mul(2);
    const sv = Array.from(s.dataSync());
    const rv = Array.from(r.dataSync());
    close(
      sv,
      rv.map((v) => 2 * v),
    );
  });

  it('data() and dataSync() agree after realize', async () => {
    const x = lg.tensor([0.5, 1.5]).mul(lg.tensor([2, 4]));
    x.realize();
    const d = await x.data();
    expect(Array.from(d as ArrayLike<number>)).toEqual([1, 6]);
    expect(Array.from(x.dataSync())).toEqual([1, 6]);
  });

  it('shape/dtype/ndim/size are available without realising', () => {
    const x = lg
      .zeros([3, 4])
      .add(lg.ones([4]))
      .sum(0, true);
    expect(x.shape).toEqual([1, 4]);
    expect(x.dtype).toBe('float32');
    expect(x.ndim).toBe(2);
    expect(x.size).toBe(4);
    expect(x.toArray()).toEqual([[3, 3, 3, 3]]);
  });

  it('the same expression built twice gives the same numbers', () => {
    const rng = R.mulberry32(12);
    const a = R.randND(rng, [8, 8]);
    const t = lg.tensor(R.toNested(a));
    const f = () => t.matmul(t.transpose()).softmax(-1).sum(0);
    const first = Array.from(f().dataSync());
    const second = Array.from(f().dataSync());
    expect(second).toEqual(first);
    close(first, R.sum(R.softmax(R.matmul(a, R.transpose(a)), -1), 0), 1e-4, 1e-5);
  });

  it('graphs that differ only in a scalar give the right numbers', () => {
    const x = lg.tensor([1, 2, 3]);
    for (const lr of [0.1, 0.2, 0.5, 1, 0, 2]) {
      close(
        x.mul(lr).add(lr),
        [1, 2, 3].map((v) => Math.fround(v * Math.fround(lr)) + Math.fround(lr)),
        1e-6,
        1e-7,
        `lr=${lr}`,
      );
    }
  });

  it('dispose of an intermediate after realising a dependant', () => {
    const x = lg.tensor([1, 2, 3]);
    const y = x.mul(2);
    const z = y.add(1);
    z.realize();
    y.dispose();
    expect(z.toArray()).toEqual([3, 5, 7]);
    expect(x.toArray()).toEqual([1, 2, 3]);
  });
});

describe('very deep graphs', () => {
  it('a 3000-step lazy chain realised once does not overflow the stack', () => {
    let x = lg.tensor([1, -1]);
    let ref = [1, -1];
    for (let i = 0; i < 3000; i++) {
      x = x.mul(0.999).add(0.001);
      ref = ref.map((v) => v * 0.999 + 0.001);
    }
    R.expectClose(x, ref, 1e-4, 1e-5);
  });

  it('2000 eager realised steps with a reduction each step', () => {
    let x = lg.tensor([
      [1, 2],
      [3, 4],
    ]);
    for (let i = 0; i < 2000; i++) {
      x = x.sub(x.mean()).mul(1.0001).add(x.mean());
      x.realize();
    }
    // mean is preserved (2.5) and deviations grow by 1.0001^2000
    const g = Math.pow(1.0001, 2000);
    R.expectClose(
      x,
      [
        [2.5 - 1.5 * g, 2.5 - 0.5 * g],
        [2.5 + 0.5 * g, 2.5 + 1.5 * g],
      ],
      1e-3,
      1e-3,
    );
  });
});
