/**
 * Every target's op table and every decomposition against the reference
 * interpreter of kernel expressions (ir/kernel-eval.ts), op by op, over edge
 * values: ±0, ±Inf, NaN, subnormals, huge and tiny arguments, the branch
 * points of the decompositions, int32 wrap-around.
 *
 * The interpreter is lazygrad's own definition of what an op means, so it is
 * not an independent reference for the ops' values (the ops tests compare
 * those with plain `Math` in test/src); here it is the contract each target
 * must keep. The js table must match it exactly (both compute in float64);
 * decompositions within float32 precision, with the same NaN, infinities and
 * signed zeros.
 */
import { describe, expect, it } from 'vitest';
import { type DType, type ExprOp, type Kernel, EXPR_OPS, ExprBuilder, evaluateKernel, sym } from '../../ir';
import { generateKernelSource } from '../../backends/js/codegen';
import { instantiateKernel } from '../../backends/js/op-table';
import { GPUJS_NATIVE_OPS, GPUJS_OPS } from '../../backends/gpujs/op-table';
import { DECOMPOSABLE, decomposeKernel } from '../../passes/decompose';

const F32_EDGES = [
  0,
  -0,
  1,
  -1,
  0.5,
  -0.5,
  2,
  -2,
  3,
  -3,
  0.25,
  0.24,
  0.26,
  0.54,
  0.55,
  0.56,
  1e-3,
  -1e-3,
  1e-7,
  1.5,
  -1.5,
  2.5,
  -2.5,
  // round's ties and near-ties: the float32 neighbours of 0.5, an odd and an even tie at 2^22,
  // the last fractional float32 values below 2^23, and integers beyond it.
  0.49999997,
  0.50000006,
  -0.49999997,
  4194304.5,
  4194305.5,
  8388607.5,
  -8388607.5,
  8388609,
  2147483904,
  10,
  -10,
  64,
  65,
  -64,
  -65,
  88,
  -88,
  100,
  -100,
  1e4,
  -1e4,
  1e-40,
  -1e-40,
  1.4e-45,
  3.4e38,
  -3.4e38,
  Infinity,
  -Infinity,
  NaN,
];
const I32_EDGES = [0, 1, -1, 2, -2, 7, -7, 46341, -46341, 2147483647, -2147483648, 65536];
const BOOL_EDGES = [0, 1];

const UNARY = new Set<ExprOp>([
  'neg',
  'abs',
  'sign',
  'exp',
  'log',
  'sqrt',
  'sin',
  'cos',
  'tanh',
  'sigmoid',
  'log1p',
  'expm1',
  'floor',
  'ceil',
  'round',
  'not',
  'cast',
]);
const TERNARY = new Set<ExprOp>(['where']);
const BOOL_ONLY = new Set<ExprOp>(['not', 'and', 'or']);
const COMPARISONS = new Set<ExprOp>(['lt', 'le', 'gt', 'ge', 'eq', 'ne']);

interface Case {
  readonly op: ExprOp;
  readonly dtype: DType;
  readonly argTypes: readonly DType[];
  readonly columns: number[][];
}

function edgesOf(t: DType): number[] {
  return t === 'f32' ? F32_EDGES : t === 'i32' ? I32_EDGES : BOOL_EDGES;
}

/** Every combination of edge values for the operand types (all pairs for binary ops). */
function columnsFor(types: readonly DType[]): number[][] {
  let rows: number[][] = [[]];
  for (const t of types) rows = rows.flatMap((r) => edgesOf(t).map((v) => [...r, v]));
  return types.map((_, i) => rows.map((r) => r[i]));
}

function cases(): Case[] {
  const out: Case[] = [];
  for (const op of EXPR_OPS) {
    const arity = UNARY.has(op) ? 1 : TERNARY.has(op) ? 3 : 2;
    const variants: { dtype: DType; argTypes: DType[] }[] = [];
    if (op === 'random') variants.push({ dtype: 'f32', argTypes: ['i32', 'i32'] });
    else if (op === 'cast')
      for (const to of ['f32', 'i32', 'bool'] as DType[])
        for (const from of ['f32', 'i32', 'bool'] as DType[]) variants.push({ dtype: to, argTypes: [from] });
    else if (BOOL_ONLY.has(op)) variants.push({ dtype: 'bool', argTypes: Array(arity).fill('bool') });
    else if (op === 'where')
      for (const t of ['f32', 'i32'] as DType[]) variants.push({ dtype: t, argTypes: ['bool', t, t] });
    else if (COMPARISONS.has(op))
      for (const t of ['f32', 'i32'] as DType[]) variants.push({ dtype: 'bool', argTypes: [t, t] });
    else {
      variants.push({ dtype: 'f32', argTypes: Array(arity).fill('f32') });
      // int32 arithmetic wraps (neg, abs, add, sub, mul, maximum, minimum, sign).
      if (['neg', 'abs', 'sign', 'add', 'sub', 'mul', 'maximum', 'minimum'].includes(op))
        variants.push({ dtype: 'i32', argTypes: Array(arity).fill('i32') });
    }
    for (const v of variants) out.push({ op, ...v, columns: columnsFor(v.argTypes) });
  }
  return out;
}

/** A one-op kernel reading operand i from input slot i. */
function oneOpKernel(c: Case): Kernel {
  const b = new ExprBuilder();
  const n = c.columns[0].length;
  const x = sym.loopVar(1, n);
  const at = sym.idxVar(x);
  const args = c.argTypes.map((t, i) => b.load(i, at, t));
  return {
    name: `${c.op}_${c.dtype}`,
    shape: [n],
    vars: [x],
    inputs: args.map((_, i) => i),
    args: [],
    outputs: [{ buffer: 0, expr: b.op(c.op, args, c.dtype) }],
    ops: [c.op],
  };
}

type KernelFn = (ins: ArrayLike<number>[], outs: Float64Array[], args: number[]) => void;

function runJs(k: Kernel, ins: number[][]): Float64Array {
  const fn = instantiateKernel(generateKernelSource(k)) as KernelFn;
  const out = new Float64Array(k.shape[0]);
  fn(
    ins.map((c) => Float64Array.from(c)),
    [out],
    [],
  );
  return out;
}

const same = (a: number, b: number) => Object.is(a, b);
/** float32-level agreement: equal NaN-ness and signed zeros and infinities, finite values within 2e-7 relative. */
function closeF32(a: number, b: number): boolean {
  if (Object.is(a, b)) return true;
  if (!Number.isFinite(a) || !Number.isFinite(b) || a === 0 || b === 0) return false;
  return Math.abs(a - b) <= 2e-7 * Math.abs(b);
}

function mismatches(
  c: Case,
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  eq: (a: number, b: number) => boolean,
): string[] {
  const bad: string[] = [];
  for (let i = 0; i < want.length; i++) {
    if (!eq(got[i], want[i]))
      bad.push(`${c.op}(${c.columns.map((col) => col[i]).join(', ')}) = ${got[i]}, expected ${want[i]}`);
  }
  return bad.slice(0, 10);
}

describe('kernel op tables against the reference interpreter', () => {
  const all = cases();

  it('covers every ExprOp', () => {
    expect(new Set(all.map((c) => c.op))).toEqual(new Set(EXPR_OPS));
  });

  it.each(all.map((c) => [`${c.op}: ${c.argTypes.join(', ')} -> ${c.dtype}`, c] as const))('js: %s', (_, c) => {
    const k = oneOpKernel(c);
    const [want] = evaluateKernel(k, c.columns, []);
    expect(mismatches(c, runJs(k, c.columns), want, same)).toEqual([]);
  });

  it('the interpreter itself on hand-computed values', () => {
    const at = (op: ExprOp, dtype: DType, argTypes: DType[], ...vals: number[]) => {
      const c: Case = { op, dtype, argTypes, columns: vals.map((v) => [v]) };
      return evaluateKernel(oneOpKernel(c), c.columns, [])[0][0];
    };
    expect(at('add', 'i32', ['i32', 'i32'], 2147483647, 1)).toBe(-2147483648);
    expect(at('mul', 'i32', ['i32', 'i32'], 65536, 65536)).toBe(0);
    expect(at('neg', 'i32', ['i32'], -2147483648)).toBe(-2147483648);
    expect(at('cast', 'i32', ['f32'], -2.7)).toBe(-2);
    expect(at('cast', 'bool', ['f32'], NaN)).toBe(1);
    expect(at('sigmoid', 'f32', ['f32'], -800)).toBe(0);
    expect(at('where', 'f32', ['bool', 'f32', 'f32'], 0, 1, 2)).toBe(2);
    expect(at('floor', 'f32', ['f32'], -0.5)).toBe(-1);
    expect(at('ceil', 'f32', ['f32'], -0.5)).toBe(-0);
    // round: ties to even, the sign of zero kept (numpy).
    const round = (v: number) => at('round', 'f32', ['f32'], v);
    expect([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49999997, 3.7, -3.7].map(round)).toEqual([
      0, 2, 2, -0, -2, -2, 0, 4, -4,
    ]);
    expect(round(-0.4)).toBe(-0);
    expect(round(8388607.5)).toBe(8388608);
    expect(round(4194305.5)).toBe(4194306);
  });
});

describe('decompositions against the reference interpreter', () => {
  const decomposable = cases().filter((c) => DECOMPOSABLE.has(c.op) && c.dtype === 'f32');

  it('exist for exactly the ops gpujs does not evaluate natively', () => {
    const missing = EXPR_OPS.filter((op) => !GPUJS_NATIVE_OPS.has(op) && op !== 'random');
    expect(new Set(missing)).toEqual(DECOMPOSABLE);
    // random runs on the host on gpujs; every other op has a GL spelling.
    for (const op of EXPR_OPS)
      if (GPUJS_NATIVE_OPS.has(op) && op !== 'random') expect(GPUJS_OPS[op], op).not.toBeNull();
  });

  it.each(decomposable.map((c) => [c.op, c] as const))('%s over every edge value (pairs for pow)', (_, c) => {
    const k = oneOpKernel(c);
    const rewritten = decomposeKernel(k, GPUJS_NATIVE_OPS);
    expect(rewritten).not.toBe(k);
    const [want] = evaluateKernel(k, c.columns, []);
    const [got] = evaluateKernel(rewritten, c.columns, []);
    expect(mismatches(c, got, want, closeF32)).toEqual([]);
    // What the js target runs for the rewritten kernel is what the interpreter says it means.
    expect(mismatches(c, runJs(rewritten, c.columns), got, same)).toEqual([]);
  });

  it('use only native ops (besides a pow of a positive base)', () => {
    for (const c of decomposable) {
      const rewritten = decomposeKernel(oneOpKernel(c), GPUJS_NATIVE_OPS);
      const src = generateKernelSource(rewritten);
      for (const fn of ['Math.tanh', 'sigmoid(', 'Math.log1p', 'Math.expm1']) expect(src, c.op).not.toContain(fn);
    }
  });

  it('leave a kernel without such ops untouched', () => {
    const c = cases().find((x) => x.op === 'add' && x.dtype === 'f32')!;
    const k = oneOpKernel(c);
    expect(decomposeKernel(k, GPUJS_NATIVE_OPS)).toBe(k);
  });

  it('round is exact on a dense grid of halves, quarters and their float32 neighbours', () => {
    const halves = Array.from({ length: 321 }, (_, i) => -40 + i * 0.25);
    const up = (v: number) => Math.fround(v + Math.max(Math.abs(v), 1) * 2 ** -23);
    const down = (v: number) => Math.fround(v - Math.max(Math.abs(v), 1) * 2 ** -23);
    const xs = halves.flatMap((v) => [v, up(v), down(v)]);
    const c: Case = { op: 'round', dtype: 'f32', argTypes: ['f32'], columns: [xs] };
    const k = oneOpKernel(c);
    const [want] = evaluateKernel(k, c.columns, []);
    const [got] = evaluateKernel(decomposeKernel(k, GPUJS_NATIVE_OPS), c.columns, []);
    expect(mismatches(c, got, want, same)).toEqual([]);
  });

  it('are accurate between the edge values too (dense grids)', () => {
    for (const op of ['tanh', 'sigmoid', 'log1p', 'expm1'] as ExprOp[]) {
      const xs = Array.from({ length: 4001 }, (_, i) => (op === 'log1p' ? -0.999 + i * 0.01 : -20 + i * 0.01));
      const c: Case = { op, dtype: 'f32', argTypes: ['f32'], columns: [xs] };
      const k = oneOpKernel(c);
      const [want] = evaluateKernel(k, c.columns, []);
      const [got] = evaluateKernel(decomposeKernel(k, GPUJS_NATIVE_OPS), c.columns, []);
      expect(mismatches(c, got, want, closeF32)).toEqual([]);
    }
    const bases = Array.from({ length: 41 }, (_, i) => -5 + i * 0.25);
    const exps = Array.from({ length: 41 }, (_, i) => -5 + i * 0.25);
    const c: Case = { op: 'pow', dtype: 'f32', argTypes: ['f32', 'f32'], columns: columnsFor(['f32', 'f32']) };
    c.columns[0] = bases.flatMap((b) => exps.map(() => b));
    c.columns[1] = bases.flatMap(() => exps);
    const k = oneOpKernel(c);
    const [want] = evaluateKernel(k, c.columns, []);
    const [got] = evaluateKernel(decomposeKernel(k, GPUJS_NATIVE_OPS), c.columns, []);
    expect(mismatches(c, got, want, closeF32)).toEqual([]);
  });
});
