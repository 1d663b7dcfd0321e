/**
 * nn.crossEntropy with class labels outside [0, C): an error naming the label
 * when the labels are realised, a NaN loss (never a silent 0) when they are
 * traced inside jit.
 */
import { describe, expect, it } from 'vitest';
import * as lg from '../../src/index';

const labels = (xs: number[]) => lg.tensor(new Int32Array(xs));
const logits = () =>
  lg.tensor([
    [1, 2, 3],
    [0, 0, 0],
  ]);

describe('crossEntropy with out-of-range labels', () => {
  it('throws a LazygradError naming the bad label and the class count for realised labels', () => {
    expect(() => lg.nn.crossEntropy(logits(), labels([5, -1]))).toThrow(lg.LazygradError);
    expect(() => lg.nn.crossEntropy(logits(), labels([5, -1]))).toThrow(/label 5 .*3 classes/);
    expect(() => lg.nn.crossEntropy(logits(), labels([0, -1]))).toThrow(/label -1 at index 1/);
    expect(() => lg.nn.crossEntropy(logits(), labels([0, 3]))).toThrow(/label 3/);
  });

  it('throws for lazy (not yet realised) labels outside a trace', () => {
    const lazy = labels([1, 2]).add(2);
    expect(() => lg.nn.crossEntropy(logits(), lazy)).toThrow(/label 3 .*3 classes/);
  });

  it('inside grad with realised labels it still throws', () => {
    const y = labels([1, 7]);
    expect(() => lg.grad((z: lg.Tensor) => lg.nn.crossEntropy(z, y))(logits())).toThrow(/label 7/);
  });

  it('gives NaN (not 0) inside jit, where labels are traced', () => {
    const f = lg.jit((l: lg.Tensor, y: lg.Tensor) => lg.nn.crossEntropy(l, y));
    expect(f(logits(), labels([5, -1])).item()).toBeNaN();
    expect(f(logits(), labels([2, 3])).item()).toBeNaN();
    // In range, the jitted loss is the hand-computed value:
    // row 0: logsumexp(1,2,3) - 3 = log(1 + e^-1 + e^-2); row 1: log 3.
    const ref = (Math.log(1 + Math.exp(-1) + Math.exp(-2)) + Math.log(3)) / 2;
    expect(f(logits(), labels([2, 0])).item()).toBeCloseTo(ref, 5);
  });

  it('the jitted gradient of an in-range batch is softmax minus one-hot over B', () => {
    const g = lg.jit((l: lg.Tensor, y: lg.Tensor) => lg.grad((z: lg.Tensor) => lg.nn.crossEntropy(z, y))(l));
    const got = (g(logits(), labels([2, 0])) as lg.Tensor).toArray() as number[][];
    const s0 = [1, 2, 3].map((v) => Math.exp(v) / (Math.exp(1) + Math.exp(2) + Math.exp(3)));
    const want = [
      [s0[0] / 2, s0[1] / 2, (s0[2] - 1) / 2],
      [(1 / 3 - 1) / 2, 1 / 6, 1 / 6],
    ];
    for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) expect(got[i][j]).toBeCloseTo(want[i][j], 5);
  });
});
