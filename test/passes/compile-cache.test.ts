import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import * as lg from '../../src/index';
import { backendByName, getBackend, setBackend } from '../../src/settings';

const js = backendByName('js');
const previous = getBackend();
beforeAll(() => setBackend('js'));
afterAll(() => setBackend(previous));
afterEach(() => vi.restoreAllMocks());

describe.each([true, false])('compile caches (fusion=%s)', (fusion) => {
  beforeAll(() => lg.setFusion(fusion));
  afterAll(() => lg.setFusion(true));

  it('a realised tensor is not recomputed when read again', () => {
    const x = lg.tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    const y = x.exp().mul(x).sum(1);
    const run = vi.spyOn(js, 'run');
    y.realize();
    expect(run).toHaveBeenCalledTimes(1);
    const compiles = js.compileCount;
    const first = y.toArray() as number[];
    const second = y.toArray() as number[];
    expect(run).toHaveBeenCalledTimes(1);
    expect(js.compileCount).toBe(compiles);
    expect(second).toEqual(first);
    const ref = [
      [1, 2, 3],
      [4, 5, 6],
    ].map((row) => row.reduce((s, v) => s + Math.exp(v) * v, 0));
    first.forEach((v, i) => expect(v).toBeCloseTo(ref[i], 2));
  });

  it('an identical rebuilt graph is neither re-planned nor recompiled', () => {
    const x = lg.tensor([0.5, -1, 2, 3.25, 8, -7]).reshape([2, 3]);
    const f = (t: lg.Tensor) => t.sin().mul(t).sum(0).toArray() as number[];
    const before = js.compileCount;
    const a = f(x);
    expect(js.compileCount).toBeGreaterThan(before); // a new structure in this file compiles
    const compile = vi.spyOn(js, 'compile');
    const compiles = js.compileCount;
    const b = f(x);
    // Another tensor of the same type is a buffer of the same structure.
    const c = f(lg.tensor([1, 2, 3, 4, 5, 6]).reshape([2, 3]));
    expect(compile).not.toHaveBeenCalled();
    expect(js.compileCount).toBe(compiles);
    expect(b).toEqual(a);
    const ref = (rows: number[][]) =>
      [0, 1, 2].map((j) => rows[0][j] * Math.sin(rows[0][j]) + rows[1][j] * Math.sin(rows[1][j]));
    a.forEach((v, i) =>
      expect(v).toBeCloseTo(
        ref([
          [0.5, -1, 2],
          [3.25, 8, -7],
        ])[i],
        4,
      ),
    );
    c.forEach((v, i) =>
      expect(v).toBeCloseTo(
        ref([
          [1, 2, 3],
          [4, 5, 6],
        ])[i],
        4,
      ),
    );
  });

  it('other scalar constants reuse the compiled program and give their own numbers', () => {
    const data = [1, -2, 3.5, 0.25, 10, -0.5, 7];
    const x = lg.tensor(data);
    const a = x.mul(2).add(3).toArray() as number[];
    const compile = vi.spyOn(js, 'compile');
    const compiles = js.compileCount;
    const b = x.mul(5).add(7).toArray() as number[];
    const c = x.mul(-0.5).add(0.125).toArray() as number[];
    expect(compile).not.toHaveBeenCalled();
    expect(js.compileCount).toBe(compiles);
    expect(a).toEqual(data.map((v) => Math.fround(v * 2 + 3)));
    expect(b).toEqual(data.map((v) => Math.fround(v * 5 + 7)));
    expect(c).toEqual(data.map((v) => Math.fround(v * -0.5 + 0.125)));
  });

  it('a graph of another structure does compile (the cache is keyed on structure)', () => {
    const x = lg.tensor([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    x.mul(2).add(3).realize();
    const compile = vi.spyOn(js, 'compile');
    const y = x.mul(2).sub(3);
    expect(y.toArray()).toEqual([-1, 1, 3, 5, 7, 9, 11, 13, 15]);
    expect(compile).toHaveBeenCalledTimes(1);
  });

  it('attributes that JSON cannot tell apart (pad value -inf, inf, nan) get their own programs', () => {
    const x = lg.tensor([1, 2]);
    expect(x.pad([[1, 0]], -Infinity).toArray()).toEqual([-Infinity, 1, 2]);
    expect(x.pad([[1, 0]], Infinity).toArray()).toEqual([Infinity, 1, 2]);
    expect(x.pad([[0, 1]], NaN).toArray()).toEqual([1, 2, NaN]);
    expect(x.pad([[0, 1]], -Infinity).toArray()).toEqual([1, 2, -Infinity]);
  });
});
