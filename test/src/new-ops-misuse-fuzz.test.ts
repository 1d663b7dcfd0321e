/**
 * Misuse never crashes, for the ops and layers of issue 15: each called with
 * arguments of the wrong kind in every position either works or throws a
 * LazygradError (no TypeError or RangeError from inside the library, no
 * hang). test/src/errors.test.ts checks the messages.
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
  [-1],
  NaN,
  -1,
  1.5,
  1e9,
  Infinity,
  true,
  () => 1,
  Symbol('s'),
  [1, 'a'],
  lg.zeros([3], { dtype: 'bool' }),
  lg.zeros([5, 7]),
];

function expectNoCrash(what: string, f: () => unknown): void {
  try {
    const r = f();
    if (r instanceof lg.Tensor) r.dataSync();
    if (Array.isArray(r)) for (const t of r) if (t instanceof lg.Tensor) t.dataSync();
  } catch (e) {
    if (!(e instanceof lg.LazygradError))
      throw new Error(`${what} crashed with ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`, {
        cause: e,
      });
  }
}

type Method = (...a: unknown[]) => unknown;

describe('misuse fuzz: ops of issue 15', () => {
  const x = () =>
    lg.tensor([
      [1.5, -2],
      [3, 4],
    ]);
  const methods = [
    'floor',
    'ceil',
    'round',
    'clip',
    'clamp',
    'erf',
    'gelu',
    'silu',
    'leakyRelu',
    'softplus',
    'logSigmoid',
    'logicalAnd',
    'logicalOr',
    'logicalNot',
    'var',
    'std',
    'cumsum',
    'flip',
    'tile',
    'repeat',
  ];
  for (const m of methods) {
    it(`Tensor.${m} with bad arguments in the first, second and third place`, () => {
      for (const g of garbage) {
        const call = (...args: unknown[]) => (x() as unknown as Record<string, Method>)[m](...args);
        expectNoCrash(`${m}(${String(g)})`, () => call(g));
        expectNoCrash(`${m}(0, ${String(g)})`, () => call(0, g));
        expectNoCrash(`${m}(0, false, ${String(g)})`, () => call(0, false, g));
      }
    });
  }
  const fns: [string, (g: unknown) => unknown][] = [
    ['zerosLike', (g) => lg.zerosLike(g as never)],
    ['onesLike opts', (g) => lg.onesLike(lg.ones([2]), g as never)],
    ['linspace start', (g) => lg.linspace(g as never, 1, 3)],
    ['linspace n', (g) => lg.linspace(0, 1, g as never)],
    ['randint low', (g) => lg.randint(g as never, 5, [2])],
    ['randint high', (g) => lg.randint(0, g as never, [2])],
    ['randint shape', (g) => lg.randint(0, 5, g as never)],
  ];
  for (const [name, f] of fns) {
    it(`${name} with bad arguments`, () => {
      for (const g of garbage) expectNoCrash(`${name}(${String(g)})`, () => f(g));
    });
  }
});

describe('misuse fuzz: nn layers of issue 15', () => {
  const x = () => lg.ones([4, 3]);
  const q = () => lg.ones([2, 4, 8]);
  const fns: [string, (g: unknown) => unknown][] = [
    ['nn.init.layerNorm', (g) => lg.nn.init.layerNorm(g as never)],
    ['nn.init.batchNorm', (g) => lg.nn.init.batchNorm(g as never)],
    ['nn.layerNorm params', (g) => lg.nn.layerNorm(g as never, x())],
    ['nn.layerNorm input', (g) => lg.nn.layerNorm(lg.nn.init.layerNorm(3), g as never)],
    ['nn.layerNorm opts', (g) => lg.nn.layerNorm(lg.nn.init.layerNorm(3), x(), g as never)],
    ['nn.batchNorm params', (g) => lg.nn.batchNorm(g as never, lg.nn.init.batchNorm(3)[1], x(), { train: true })],
    ['nn.batchNorm stats', (g) => lg.nn.batchNorm(lg.nn.init.batchNorm(3)[0], g as never, x(), { train: true })],
    ['nn.batchNorm input', (g) => lg.nn.batchNorm(...lg.nn.init.batchNorm(3), g as never, { train: true })],
    ['nn.batchNorm opts', (g) => lg.nn.batchNorm(...lg.nn.init.batchNorm(3), x(), g as never)],
    [
      'nn.batchNorm momentum',
      (g) => lg.nn.batchNorm(...lg.nn.init.batchNorm(3), x(), { train: true, momentum: g as never }),
    ],
    ['nn.dropout input', (g) => lg.nn.dropout(g as never, 0.5)],
    ['nn.dropout rate', (g) => lg.nn.dropout(x(), g as never)],
    ['nn.dropout opts', (g) => lg.nn.dropout(x(), 0.5, g as never)],
    ['nn.attention q', (g) => lg.nn.attention(g as never, q(), q())],
    ['nn.attention v', (g) => lg.nn.attention(q(), q(), g as never)],
    ['nn.attention opts', (g) => lg.nn.attention(q(), q(), q(), g as never)],
    ['nn.attention mask', (g) => lg.nn.attention(q(), q(), q(), { mask: g as never })],
    ['nn.attention causal', (g) => lg.nn.attention(q(), q(), q(), { causal: g as never })],
  ];
  for (const [name, f] of fns) {
    it(`${name} with bad arguments`, () => {
      for (const g of garbage.filter((v) => !(name.startsWith('nn.init') && v === 1e9)))
        expectNoCrash(`${name}(${String(g)})`, () => f(g));
    });
  }
  it('the library still works afterwards', () => {
    expect(lg.ones([2]).gelu().dataSync().length).toBe(2);
  });
});
