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

// Issue 13: nn/optim entry points and options, int32 values and huge shapes in creation, pytree helpers.
describe('misuse fuzz: nn, optim, creation limits, trees', () => {
  const x = () => lg.ones([2, 3]);
  const img = () => lg.ones([1, 1, 4, 4]);
  const labels = () => lg.tensor(new Int32Array([0, 1]));
  const bigOrOdd: unknown[] = [...garbage, 3e9, -3e9, 1.5, 2 ** 53, [1e9, 1e9], [2 ** 53], new BigInt64Array(1)];
  const optimisers = () =>
    [
      lg.optim.sgd({ lr: 0.1 }),
      lg.optim.sgd({ lr: 0.1, momentum: 0.9 }),
      lg.optim.adam({ lr: 0.1 }),
    ] as lg.optim.Optimizer<unknown>[];
  // Sizes that allocate at once (initialisers realise their weights): kept below what a test machine can hold.
  const initSizes = garbage.filter((g) => g !== 1e9);
  const params = () => ({ a: lg.ones([2]) });
  const fns: [string, (g: unknown) => unknown][] = [
    ['nn.mlp params', (g) => lg.nn.mlp(g as never, x())],
    ['nn.mlp layer', (g) => lg.nn.mlp([g] as never, x())],
    ['nn.mlp input', (g) => lg.nn.mlp(lg.nn.init.mlp([3, 2]), g as never)],
    ['nn.linear input', (g) => lg.nn.linear(lg.nn.init.linear(3, 2), g as never)],
    ['nn.conv2d params', (g) => lg.nn.conv2d(g as never, img())],
    ['nn.conv2d input', (g) => lg.nn.conv2d(lg.nn.init.conv2d(1, 1, 1), g as never)],
    ['nn.conv2d opts', (g) => lg.nn.conv2d(lg.nn.init.conv2d(1, 1, 1), img(), g as never)],
    ['nn.conv2d stride', (g) => lg.nn.conv2d(lg.nn.init.conv2d(1, 1, 1), img(), { stride: g as never })],
    ['nn.maxPool2d opts', (g) => lg.nn.maxPool2d(img(), 2, g as never)],
    ['nn.avgPool2d padding', (g) => lg.nn.avgPool2d(img(), 2, { padding: g as never })],
    ['nn.crossEntropy logits', (g) => lg.nn.crossEntropy(g as never, labels())],
    ['nn.crossEntropy labels', (g) => lg.nn.crossEntropy(x(), lg.tensor([g, 0] as never, { dtype: 'int32' }))],
    ['nn.mse pred', (g) => lg.nn.mse(g as never, x())],
    ['nn.mse target', (g) => lg.nn.mse(x(), g as never)],
    ['nn.accuracy logits', (g) => lg.nn.accuracy(g as never, labels())],
    ['nn.accuracy labels', (g) => lg.nn.accuracy(x(), g as never)],
    ['nn.init.linear', (g) => lg.nn.init.linear(g as never, 2)],
    ['nn.init.conv2d', (g) => lg.nn.init.conv2d(1, g as never, 3)],
    ['nn.init.mlp sizes', (g) => lg.nn.init.mlp([2, g] as never)],
    ['optim.adam', (g) => lg.optim.adam(g as never)],
    ['optim.adam b1', (g) => lg.optim.adam({ lr: 0.1, b1: g as never })],
    ['optim.sgd lr', (g) => lg.optim.sgd({ lr: g as never })],
    ['optim.sgd momentum', (g) => lg.optim.sgd({ lr: 0.1, momentum: g as never })],
    ['optim init', (g) => optimisers().map((o) => o.init(g))],
    ['optim update grads', (g) => optimisers().map((o) => o.update(g, o.init(params()), params()))],
    ['optim update state', (g) => optimisers().map((o) => o.update(params(), g as never, params()))],
    ['optim update params', (g) => optimisers().map((o) => o.update(params(), o.init(params()), g))],
    ['optim update grad leaf', (g) => optimisers().map((o) => o.update({ a: g }, o.init(params()), params()))],
    ['treeMap fn', (g) => lg.treeMap(g as never, params())],
    ['treeMap tree', (g) => lg.treeMap((a) => a, g)],
    ['treeMap second tree', (g) => lg.treeMap((a, b) => a.add(b), params(), g)],
    ['tensor int32', (g) => lg.tensor(g as never, { dtype: 'int32' })],
    ['tensor int32 values', (g) => lg.tensor([g] as never, { dtype: 'int32' })],
    ['tensor opts', (g) => lg.tensor([1], g as never)],
    ['zeros opts', (g) => lg.zeros([1], g as never)],
    ['zeros huge', (g) => lg.zeros(g as never)],
    ['full int32', (g) => lg.full([2], g as never, { dtype: 'int32' })],
    ['eye opts', (g) => lg.eye(2, g as never)],
    ['arange int32 bounds', (g) => lg.arange(g as never, 3e9)],
  ];
  for (const [name, f] of fns) {
    it(`${name} with bad arguments`, () => {
      for (const g of name.startsWith('nn.init') ? initSizes : bigOrOdd)
        expectNoCrash(`${name}(${String(g)})`, () => f(g));
    });
  }

  it("the issue's repros are LazygradErrors", () => {
    const cases: [string, () => unknown][] = [
      ['nn.mlp({}, x)', () => lg.nn.mlp({} as never, x())],
      ['crossEntropy labels [5, -1]', () => lg.nn.crossEntropy(lg.zeros([2, 3]), lg.tensor(new Int32Array([5, -1])))],
      [
        'update with a broadcasting grad',
        () => {
          const o = lg.optim.sgd({ lr: 0.1 });
          return o.update({ a: lg.ones([3, 2]) }, o.init(params()), params());
        },
      ],
      ['tensor([3e9], int32)', () => lg.tensor([3e9], { dtype: 'int32' })],
      ['zeros([1e9, 1e9])', () => lg.zeros([1e9, 1e9])],
      ['zeros([2 ** 53])', () => lg.zeros([2 ** 53])],
      ['sgd misspelt momentum', () => lg.optim.sgd({ lr: 0.1, momentun: 0.9 } as never)],
      ['nn.conv2d of a 3-D input', () => lg.nn.conv2d(lg.nn.init.conv2d(1, 1, 1), lg.ones([1, 4, 4]))],
      ["makeIR(f)('s')", () => lg.makeIR((t: lg.Tensor) => t.add(1))('s')],
      ['grad(5)', () => lg.grad(5 as never)],
      ['jit donate [5] at the call', () => lg.jit((t: lg.Tensor) => t, { donate: [5] })(x())],
      ["jit donate 'x'", () => lg.jit((t: lg.Tensor) => t, { donate: 'x' } as never)],
      ['jit misspelt fusion', () => lg.jit((t: lg.Tensor) => t, { fusoin: false } as never)],
      ['mean(NaN)', () => x().mean(NaN)],
      ['sum(1.5)', () => x().sum(1.5)],
      ['conv2d of a 3-D input', () => lg.conv2d(lg.ones([1, 4, 4]), lg.ones([1, 1, 1, 1]))],
      ['0-d sum(0)', () => lg.tensor(1).sum(0)],
      ['int32 add(3e9)', () => lg.tensor(new Int32Array([1])).add(3e9)],
      ['sum keepdims "yes"', () => x().sum(0, 'yes' as never)],
    ];
    for (const [what, f] of cases) expect(f, what).toThrow(lg.LazygradError);
  });
});
