/**
 * Misuse never crashes: every public function and method called with
 * arguments of the wrong kind either works or throws a LazygradError — no
 * TypeError or RangeError escapes from inside the library.
 */
import { describe, expect, it } from 'vitest';
import * as lg from '../../src/index';

const garbage: unknown[] = [
  undefined,
  null,
  'a',
  {},
  [],
  [[1], [2, 3]],
  [0.5],
  NaN,
  -1,
  1e9,
  true,
  () => 1,
  Symbol('s'),
  [1, 'a'],
];

function expectNoCrash(what: string, f: () => unknown): void {
  try {
    const r = f();
    if (r instanceof lg.Tensor) r.dataSync();
  } catch (e) {
    if (!(e instanceof lg.LazygradError))
      throw new Error(`${what} crashed with ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`, {
        cause: e,
      });
  }
}

describe('misuse fuzz', () => {
  const x = () =>
    lg.tensor([
      [1, 2],
      [3, 4],
    ]);
  const methods = [
    'add',
    'sub',
    'mul',
    'div',
    'pow',
    'maximum',
    'minimum',
    'lt',
    'le',
    'gt',
    'ge',
    'eq',
    'ne',
    'sum',
    'mean',
    'max',
    'min',
    'argmax',
    'softmax',
    'logSoftmax',
    'logsumexp',
    'matmul',
    'reshape',
    'transpose',
    'expand',
    'squeeze',
    'unsqueeze',
    'slice',
    'pad',
    'cast',
    'oneHot',
    'backward',
  ];
  for (const m of methods) {
    it(`Tensor.${m} with bad arguments`, () => {
      for (const g of garbage)
        expectNoCrash(`${m}(${String(g)})`, () =>
          (x() as unknown as Record<string, (...a: unknown[]) => unknown>)[m](g),
        );
    });
  }
  const fns: [string, (g: unknown) => unknown][] = [
    ['tensor', (g) => lg.tensor(g as never)],
    ['zeros', (g) => lg.zeros(g as never)],
    ['ones', (g) => lg.ones(g as never)],
    ['full', (g) => lg.full([2], g as never)],
    ['full shape', (g) => lg.full(g as never, 1)],
    ['arange', (g) => lg.arange(g as never)],
    ['eye', (g) => lg.eye(g as never)],
    ['rand', (g) => lg.rand(g as never)],
    ['randn', (g) => lg.randn(g as never)],
    ['manualSeed', (g) => lg.manualSeed(g as never)],
    ['where', (g) => lg.where(g as never, x(), x())],
    ['concat', (g) => lg.concat(g as never)],
    ['stack', (g) => lg.stack(g as never)],
    ['conv2d x', (g) => lg.conv2d(g as never, lg.ones([1, 1, 1, 1]))],
    ['conv2d w', (g) => lg.conv2d(lg.ones([1, 1, 2, 2]), g as never)],
    ['conv2d opts', (g) => lg.conv2d(lg.ones([1, 1, 2, 2]), lg.ones([1, 1, 1, 1]), { stride: g as never })],
    ['maxPool2d', (g) => lg.maxPool2d(g as never, 2)],
    ['avgPool2d kernel', (g) => lg.avgPool2d(lg.ones([1, 1, 2, 2]), g as never)],
    ['grad', (g) => lg.grad(g as never)(x())],
    ['grad of a function returning garbage', (g) => lg.grad(() => g as never)(x())],
    ['jit', (g) => lg.jit(g as (...a: unknown[]) => unknown)(x())],
    ['jit argument', (g) => lg.jit((a: unknown) => a as never)(g)],
    ['checkGrad', (g) => lg.checkGrad((a: lg.Tensor) => a.sum(), g as never)],
    ['setBackend', (g) => lg.setBackend(g as never)],
    ['nn.crossEntropy', (g) => lg.nn.crossEntropy(x(), g as never)],
    ['nn.linear', (g) => lg.nn.linear(g as never, x())],
    ['optim.sgd', (g) => lg.optim.sgd(g as never)],
    ['nn.init.mlp', (g) => lg.nn.init.mlp(g as never)],
  ];
  for (const [name, f] of fns) {
    it(`${name} with bad arguments`, () => {
      for (const g of garbage) expectNoCrash(`${name}(${String(g)})`, () => f(g));
    });
  }
  it('the library still works afterwards', () => {
    lg.setBackend('js');
    expect(x().add(1).toArray()).toEqual([
      [2, 3],
      [4, 5],
    ]);
  });
});
