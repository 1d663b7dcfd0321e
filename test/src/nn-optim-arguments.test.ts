/**
 * Arguments and options of nn and optim: wrong kinds, unknown (misspelt)
 * option keys and ill-typed option values are LazygradErrors naming the
 * function, what was expected and what was given; a 0-d tensor learning rate
 * (traced inside jit) is accepted, as SPEC allows.
 */
import { describe, expect, it } from 'vitest';
import * as lg from '../../src/index';

type T = lg.Tensor;
const x = () => lg.ones([2, 3]);

describe('nn entry points check their arguments', () => {
  it('nn.mlp({}, x) names nn.mlp and what it expected (it was "ps.forEach is not a function")', () => {
    expect(() => lg.nn.mlp({} as never, x())).toThrow(lg.LazygradError);
    expect(() => lg.nn.mlp({} as never, x())).toThrow(
      /^nn\.mlp: expected an array of layer parameters \{w, b\} .*got an object with keys \{\}/,
    );
    expect(() => lg.nn.mlp([{ w: lg.ones([3, 2]) }] as never, x())).toThrow(/nn\.mlp: expected layer 0 parameters/);
    expect(() => lg.nn.mlp(lg.nn.init.mlp([3, 2]), 'x' as never)).toThrow(/nn\.mlp: the input x must be a tensor/);
  });

  it('nn.linear names the misfit between input and weights', () => {
    const p = lg.nn.init.linear(4, 2);
    expect(() => lg.nn.linear(p, x())).toThrow(/nn\.linear: input float32\[2,3\] does not fit .*w \[4,2\].*4/);
    expect(() => lg.nn.linear({ w: lg.ones([3, 2]), b: lg.ones([3]) }, x())).toThrow(/nn\.linear: .*b \[3\]/);
  });

  it('nn.conv2d with a 3-D input says it expected a 4-D NCHW input', () => {
    const p = lg.nn.init.conv2d(1, 2, 3);
    expect(() => lg.nn.conv2d(p, lg.ones([1, 5, 5]))).toThrow(/nn\.conv2d: expected a 4-D NCHW input .*\[1,5,5\]/);
    expect(() => lg.nn.conv2d(p, lg.ones([1, 3, 5, 5]))).toThrow(/nn\.conv2d: input \[1,3,5,5\] has 3 channels .*1/);
  });

  it('nn.crossEntropy, nn.mse and nn.accuracy reject non-tensors and misfit shapes', () => {
    const y = lg.tensor(new Int32Array([0, 1]));
    expect(() => lg.nn.crossEntropy('z' as never, y)).toThrow(/nn\.crossEntropy: logits must be a tensor/);
    expect(() => lg.nn.mse(x(), lg.ones([2, 1]))).toThrow(/nn\.mse: pred \[2,3\] and target \[2,1\] differ/);
    expect(lg.nn.mse(lg.tensor([1, 3]), 1).item()).toBeCloseTo(2, 6); // ((0)^2 + 2^2) / 2
    expect(() => lg.nn.accuracy(x(), lg.tensor(new Int32Array([0, 1, 2])))).toThrow(/nn\.accuracy: /);
  });

  it('nn.init.mlp names the bad size', () => {
    expect(() => lg.nn.init.mlp([3, 0, 2])).toThrow(/nn\.init\.mlp: sizes\[1\] must be a positive integer, got 0/);
  });
});

describe('options of nn and optim', () => {
  it('a misspelt option key is an error naming it and suggesting the right one', () => {
    expect(() => lg.optim.sgd({ lr: 0.1, momentun: 0.9 } as never)).toThrow(
      /optim\.sgd: unknown option 'momentun' \(options are: lr, momentum\); did you mean 'momentum'\?/,
    );
    expect(() => lg.optim.adam({ lr: 0.1, bets1: 0.9 } as never)).toThrow(/optim\.adam: unknown option 'bets1'/);
    const p = lg.nn.init.conv2d(1, 1, 1);
    expect(() => lg.nn.conv2d(p, lg.ones([1, 1, 2, 2]), { strides: 2 } as never)).toThrow(
      /nn\.conv2d: unknown option 'strides'.*did you mean 'stride'/,
    );
    expect(() => lg.nn.maxPool2d(lg.ones([1, 1, 2, 2]), 2, { pad: 1 } as never)).toThrow(
      /nn\.maxPool2d: unknown option 'pad'/,
    );
    expect(() => lg.nn.avgPool2d(lg.ones([1, 1, 2, 2]), 2, { stide: 1 } as never)).toThrow(/nn\.avgPool2d: unknown/);
  });

  it('ill-typed option values are errors naming the option, what it must be and what was given', () => {
    expect(() => lg.optim.sgd({ lr: 0.1, momentum: '0.9' } as never)).toThrow(
      /optim\.sgd: option momentum must be a finite number >= 0, got the string "0\.9"/,
    );
    expect(() => lg.optim.adam({ lr: 0.1, b1: 1 })).toThrow(
      /optim\.adam: option b1 must be a number in \[0, 1\), got 1/,
    );
    expect(() => lg.optim.adam({ lr: 0.1, eps: -1 })).toThrow(/option eps/);
    expect(() => lg.optim.sgd({} as never)).toThrow(/optim\.sgd: option lr is required/);
    expect(() => lg.optim.sgd({ lr: -1 })).toThrow(
      /option lr must be a positive number, a 0-d float32 tensor or a schedule .*, got -1/,
    );
    const p = lg.nn.init.conv2d(1, 1, 1);
    expect(() => lg.nn.conv2d(p, lg.ones([1, 1, 2, 2]), { stride: 1.5 })).toThrow(
      /nn\.conv2d: option stride must be a positive integer, got 1\.5/,
    );
    expect(() => lg.nn.conv2d(p, lg.ones([1, 1, 2, 2]), { padding: -1 })).toThrow(/option padding/);
  });

  it('a traced lr that is not 0-d says it is a traced tensor (it used to print [object Object])', () => {
    const f = lg.jit((lr: T) => lg.optim.sgd({ lr }) as never);
    expect(() => f(lg.ones([2]))).toThrow(/option lr must be .*, got a traced tensor float32\[2\]/);
    expect(() => f(lg.ones([2]))).not.toThrow(/object Object/);
  });

  it('a 0-d tensor lr works, traced inside jit (p - lr*g by hand)', () => {
    const step = lg.jit((p: T[], g: T[], lr: T) => {
      const opt = lg.optim.sgd({ lr });
      return opt.update(g, opt.init(p), p)[0];
    });
    const out = step([lg.tensor([1, 2])], [lg.tensor([4, -2])], lg.tensor(0.25)) as T[];
    expect(out[0].toArray()).toEqual([0, 2.5]);
    const out2 = step([lg.tensor([1, 2])], [lg.tensor([4, -2])], lg.tensor(0.5)) as T[];
    expect(out2[0].toArray()).toEqual([-1, 3]);
    // a number lr passed to jit is traced as a 0-d tensor too
    const byNumber = lg.jit(
      (p: T[], lr: number) => lg.optim.sgd({ lr }).update([lg.ones([1])], { velocity: null }, p)[0],
    );
    expect((byNumber([lg.tensor([3])], 2) as T[])[0].toArray()).toEqual([1]);
  });

  it('adam with a 0-d tensor lr equals adam with the number', () => {
    const run = (lr: number | T) => {
      const opt = lg.optim.adam({ lr });
      const p = { a: lg.tensor([1, -1]) };
      return (opt.update({ a: lg.tensor([0.5, 2]) }, opt.init(p), p)[0] as { a: T }).a.dataSync();
    };
    const a = run(0.1);
    const b = run(lg.tensor(0.1));
    // first Adam step: p - lr * sign(g) (up to eps and float32 rounding)
    expect(a[0]).toBeCloseTo(0.9, 4);
    expect(a[1]).toBeCloseTo(-1.1, 4);
    expect(Array.from(b)).toEqual(Array.from(a));
  });
});
