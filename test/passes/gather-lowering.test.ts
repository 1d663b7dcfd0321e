/**
 * How `gather` (take, take_along_axis) reaches kernels: an indirect load
 * whose index holds the value of another load (ir/symbolic.ts value atoms,
 * ir/kernel.ts), placed by the shared analysis in the loop its indices
 * belong to, fused into elementwise chains (kernel counts on js), evaluated
 * by the reference interpreter, rebuilt by decomposition, guarded in row
 * caches and in-place donation.
 */
import { describe, expect, it } from 'vitest';
import {
  type Expr,
  ExprBuilder,
  type Graph,
  type Kernel,
  type LoadExpr,
  atomSource,
  emit,
  evaluateKernel,
  exprArgs,
  freeVars,
  graphFrom,
  param,
  parseGraph,
  printGraph,
  sym,
} from '../../ir';
import { KernelAnalysis } from '../../backends/common/analysis';
import { decomposeKernel } from '../../passes/decompose';
import { compileGraph } from '../../src/compile';
import { backendByName } from '../../src/settings';
import * as lg from '../../src/index';

type T = lg.Tensor;
const js = backendByName('js');

const kernels = (f: (...a: T[]) => unknown, args: T[], fusion = true) =>
  lg
    .jit(f as (...a: unknown[]) => unknown, { fusion })
    .lower(...args)
    .stats().kernels;

lg.manualSeed(5);
const table = lg.randn([27, 16]).realize();
const positions = lg.randn([8, 16]).realize();
const ids = lg
  .tensor(Int32Array.from({ length: 32 }, (_, i) => (i * 5) % 27))
  .reshape([4, 8])
  .realize();

/** Every expression of a kernel, operands first. */
function walk(k: Kernel): Expr[] {
  const seen = new Set<Expr>();
  const out: Expr[] = [];
  const visit = (e: Expr) => {
    if (seen.has(e)) return;
    seen.add(e);
    exprArgs(e).forEach(visit);
    out.push(e);
  };
  k.outputs.forEach((o) => visit(o.expr));
  return out;
}

const indirectLoads = (k: Kernel) =>
  walk(k).filter((e): e is LoadExpr => e.kind === 'load' && sym.valueAtoms(e.at).length > 0);

/** The embedding lookup of `table` [27, 16] at `ids` [4, 8] as a graph. */
function embeddingGraph(): Graph {
  const w = param('f32', [27, 16]);
  const i = param('i32', [4, 8]);
  const x3 = emit('reshape', [w.out], { shape: [1, 27, 16] });
  const i3 = emit('expand', [emit('reshape', [i.out], { shape: [1, 32, 1] })], { shape: [1, 32, 16] });
  const g = emit('gather', [x3, i3], { axis: 1 });
  return graphFrom('embed', [w, i], [emit('tanh', [emit('reshape', [g], { shape: [4, 8, 16] })])]);
}

describe('the gather primitive in the IR', () => {
  it('prints, parses back and type-checks: x and indices of one rank, the result shaped like the indices', () => {
    const g = embeddingGraph();
    const text = printGraph(g);
    expect(text).toMatch(/= gather %\d+, %\d+ \{axis=1\} : f32\[1,32,16\]/);
    expect(printGraph(parseGraph(text))).toBe(text);
    const x = param('f32', [3, 4]).out;
    expect(() => emit('gather', [x, param('f32', [3, 2]).out], { axis: 1 })).toThrow(/gather: indices .* dtype f32/);
    expect(() => emit('gather', [x, param('i32', [2, 2]).out], { axis: 1 })).toThrow(
      /gather: indices i32\[2,2\] must have the shape of f32\[3,4\] except along axis 1/,
    );
    expect(() => emit('gather', [x, param('i32', [3, 2]).out], { axis: 2 })).toThrow(/gather: axis 2 out of range/);
    expect(() => emit('gather', [param('f32', [3, 0]).out, param('i32', [3, 1]).out], { axis: 1 })).toThrow(
      /cannot gather from the empty axis 1/,
    );
    expect(emit('gather', [param('f32', [3, 0]).out, param('i32', [3, 0]).out], { axis: 1 }).shape).toEqual([3, 0]);
  });
});

describe('lowering: an indirect load', () => {
  const prog = compileGraph(embeddingGraph(), { backend: js, fusion: true });
  const [k] = prog.plan.kernels;
  it('the lookup and its epilogue are one kernel whose load index holds the load of the ids', () => {
    expect(prog.plan.kernels).toHaveLength(1);
    const loads = indirectLoads(k);
    expect(loads).toHaveLength(1);
    const [atom] = sym.valueAtoms(loads[0].at);
    expect(atom.size).toBe(27);
    expect(sym.range(loads[0].at)).toEqual([0, 27 * 16 - 1]);
    // The atom's expression reads the ids buffer (clamped with maximum/minimum).
    const source = atomSource(atom);
    expect(source.kind === 'op' && source.op).toBe('minimum');
    const idsSlot = k.inputs.indexOf(prog.plan.buffers.find((b) => b.dtype === 'i32')!.id);
    expect(walk(k).some((e) => e.kind === 'load' && e.input === idsSlot && exprArgs(e).length === 0)).toBe(true);
    expect(exprArgs(loads[0])).toEqual([source]);
  });
  it('the analysis places the row index in the token loop and the row read inside it', () => {
    const an = new KernelAnalysis(k);
    const [load] = indirectLoads(k);
    const source = atomSource(sym.valueAtoms(load.at)[0]);
    const [iToken, jToken, col] = k.vars;
    expect([...freeVars(source)].sort((a, b) => a.id - b.id)).toEqual([iToken, jToken]);
    expect(an.freeVars(load)).toEqual(new Set([iToken, jToken, col]));
    expect(an.loopOf(source)).toBe(an.outputLoops[1]);
    expect(an.loopOf(load)).toBe(an.outputLoops[2]);
    // Read in an inner loop: a temporary computed once per token, not once per element of the row.
    expect(an.isTemporary(source)).toBe(true);
    expect(an.order.indexOf(source)).toBeLessThan(an.order.indexOf(load));
  });
  it('the reference interpreter reads one row per token, with negative and out-of-range ids wrapped and clamped', () => {
    const w = Float64Array.from({ length: 27 * 16 }, (_, i) => Math.sin(i));
    const raw = Array.from({ length: 32 }, (_, t) => [3, -1, 26, 40, -30, 0, 13, -27][t % 8]);
    const inputs = k.inputs.map((b) => (prog.plan.buffers[b].dtype === 'i32' ? Float64Array.from(raw) : w));
    const [out] = evaluateKernel(k, inputs, []);
    for (let t = 0; t < 32; t++) {
      const r = Math.min(Math.max(raw[t] < 0 ? raw[t] + 27 : raw[t], 0), 26);
      for (let c = 0; c < 16; c++) expect(out[t * 16 + c]).toBeCloseTo(Math.tanh(w[r * 16 + c]), 12);
    }
  });
  it('decomposition rebuilds the index values with the rest of the kernel (one interning builder)', () => {
    const rewritten = decomposeKernel(
      k,
      new Set([
        'add',
        'sub',
        'mul',
        'div',
        'exp',
        'abs',
        'lt',
        'where',
        'neg',
        'minimum',
        'maximum',
        'ge',
        'and',
        'or',
        'eq',
        'ne',
        'le',
        'gt',
        'floor',
        'cast',
        'sqrt',
        'log',
        'pow',
      ]),
    );
    expect(rewritten).not.toBe(k);
    const exprs = walk(rewritten);
    expect(new Set(exprs.map((e) => e.id)).size).toBe(exprs.length);
    const [load] = indirectLoads(rewritten);
    expect(exprs).toContain(atomSource(sym.valueAtoms(load.at)[0]));
    const w = Float64Array.from({ length: 27 * 16 }, (_, i) => Math.cos(i));
    const inputs = k.inputs.map((b) =>
      prog.plan.buffers[b].dtype === 'i32' ? Float64Array.from({ length: 32 }, (_, t) => t - 5) : w,
    );
    const [a] = evaluateKernel(k, inputs, []);
    const [b] = evaluateKernel(rewritten, inputs, []);
    a.forEach((v, i) => expect(b[i]).toBeCloseTo(v, 6));
  });
});

describe('value atoms in index arithmetic', () => {
  const b = new ExprBuilder();
  const i = sym.loopVar(9700, 5);
  const j = sym.loopVar(9701, 4);
  const value = b.load(0, sym.idxVar(i), 'i32');
  const atom = b.indexValue(value, 6);
  it('range [0, size - 1] drives div/mod folding and bounds: like a loop variable of that extent', () => {
    expect(sym.range(atom)).toEqual([0, 5]);
    const flat = sym.add(sym.mul(atom, 4), sym.idxVar(j));
    expect(sym.div(flat, 4)).toBe(atom);
    expect(sym.mod(flat, 4)).toBe(sym.idxVar(j));
    expect(sym.idxVars(flat)).toEqual(new Set([i, j]));
    expect(b.indexValue(value, 6)).toBe(atom); // interned: the same expression gives the same atom
    expect(b.indexValue(value, 1)).toBe(sym.num(0));
  });
  it('atoms of other kernels never compare equal, even for equal-looking expressions', () => {
    const other = new ExprBuilder().load(0, sym.idxVar(i), 'i32');
    expect(other.id).toBe(value.id);
    expect(new ExprBuilder().indexValue(other, 6)).not.toBe(atom);
  });
  it('renaming a loop variable that an index value depends on is refused; others pass through', () => {
    const k2 = sym.loopVar(9702, 4);
    const flat = sym.add(sym.mul(atom, 4), sym.idxVar(j));
    expect(sym.substitute(flat, j, k2)).toBe(sym.add(sym.mul(atom, 4), sym.idxVar(k2)));
    expect(() => sym.substitute(flat, i, sym.loopVar(9703, 5))).toThrow(/depends on loop variable/);
  });
});

describe('kernel counts (js)', () => {
  const chain = (a: T, i: T) => lg.take(a, i, 0).mul(2).add(1).tanh();
  it('take inside an elementwise chain is one kernel (four unfused)', () => {
    expect(kernels(chain, [table, ids])).toBe(1);
    expect(kernels(chain, [table, ids], false)).toBe(4);
  });
  it('token plus position embedding is one kernel; so is an embedding feeding a matmul', () => {
    expect(kernels((a, i, p) => lg.nn.embedding({ w: a }, i).add(p), [table, ids, positions])).toBe(1);
    const W = lg.randn([16, 32]).realize();
    expect(kernels((a, i, m) => lg.take(a, i, 0).matmul(m).relu(), [table, ids, W])).toBe(1);
  });
  it('the lookup gradient: the forward kernel and the scatter-add as one dot of the one-hot ids with the cotangent', () => {
    const g = (a: T, i: T) => lg.grad((v: T) => lg.take(v, i, 0).tanh().sum())(a);
    expect(kernels(g, [table, ids])).toBe(2);
    const fused = lg.jit(g).lower(table, ids).ir('fused');
    expect(fused).toMatch(/kernel 1 \S+: b\d+ = \[[^\]]*\bdot\b[^\]]*\beq\b[^\]]*\]\(.*\) over \[27,16\]/);
  });
});

describe('row caches and donation around indirect loads', () => {
  it('a softmax over gathered columns (index varying along the row) computes the right numbers', () => {
    const x = lg.tensor([
      [1, 2, 3, 4],
      [0, -1, 5, 2],
    ]);
    const cols = lg.tensor([3, 0, 0, -2, 1], { dtype: 'int32' });
    const got = lg
      .jit((a: T, c: T) => lg.take(a, c, 1).softmax(-1))(x, cols)
      .toArray() as number[][];
    const rows = [
      [1, 2, 3, 4],
      [0, -1, 5, 2],
    ];
    rows.forEach((r, ri) => {
      const picked = [3, 0, 0, 2, 1].map((c) => r[c]);
      const m = Math.max(...picked);
      const e = picked.map((v) => Math.exp(v - m));
      const s = e.reduce((p, q) => p + q, 0);
      e.forEach((v, ci) => expect(got[ri][ci]).toBeCloseTo(v / s, 6));
    });
  });
  it('donated indices read at other positions than the one written are not overwritten in place', () => {
    const t = lg.tensor([10, 20, 30, 40], { dtype: 'int32' });
    const step = lg.jit((tab: T, i: T) => lg.take(tab, i.slice([3], [null], [-1]), 0), { donate: [1] });
    const i = lg.tensor([1, 0, 3, 2], { dtype: 'int32' });
    expect(step(t, i).toArray()).toEqual([30, 40, 10, 20]);
  });
});
