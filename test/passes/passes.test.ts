import { describe, expect, it } from 'vitest';
import {
  type Graph,
  type KernelPlan,
  type Node,
  type Value,
  constant,
  emit,
  graphFrom,
  param,
  parseGraph,
  printGraph,
} from '../../ir';
import { PassManager, autodiff, cse, dce, fuse, peakBytes, schedule, simplify } from '../../passes';
import { randomGraph } from '../ir/random-graph';

const UNFUSED = { fusion: false, limits: { maxKernelInputs: Infinity, multiReduceKernels: true } };
const VIEWS = new Set(['reshape', 'permute', 'expand', 'slice', 'detach']);
const LEAVES = new Set(['param', 'buffer', 'const']);

/** A one-output graph over one parameter, printed after `pass`. */
function after(
  pass: (g: Graph) => Graph,
  shape: number[],
  build: (x: Value) => Value,
  dtype: 'f32' | 'i32' = 'f32',
): string {
  const x = param(dtype, shape);
  return printGraph(pass(graphFrom('g', [x], [build(x.out)])));
}
const text = (...lines: string[]) => lines.join('\n');
const c = (v: number, d: 'f32' | 'i32' = 'f32') => constant(v, d);

describe('simplify', () => {
  const identity = (shape: string) => text(`graph g(%0: f32[${shape}]) {`, '  return %0', '}');

  it.each<[string, (x: Value) => Value]>([
    ['x * 1', (x) => emit('mul', [x, c(1)])],
    ['1 * x', (x) => emit('mul', [c(1), x])],
    ['x + 0', (x) => emit('add', [x, c(0)])],
    ['0 + x', (x) => emit('add', [c(0), x])],
    ['x + -0', (x) => emit('add', [x, c(-0)])],
    ['x - 0', (x) => emit('sub', [x, c(0)])],
    ['x / 1', (x) => emit('div', [x, c(1)])],
    ['neg(neg(x))', (x) => emit('neg', [emit('neg', [x])])],
    ['((x * 1) + 0) / 1', (x) => emit('div', [emit('add', [emit('mul', [x, c(1)]), c(0)]), c(1)])],
    ['identity permute', (x) => emit('permute', [x], { perm: [0, 1] })],
    ['identity reshape', (x) => emit('reshape', [x], { shape: [2, 3] })],
    ['cast to the same dtype', (x) => emit('cast', [x], { dtype: 'f32' })],
    ['expand to the same shape', (x) => emit('expand', [x], { shape: [2, 3] })],
    ['full slice', (x) => emit('slice', [x], { starts: [0, 0], steps: [1, 1], shape: [2, 3] })],
    [
      'zero pad',
      (x) =>
        emit('pad', [x], {
          pads: [
            [0, 0],
            [0, 0],
          ],
          value: 5,
        }),
    ],
    ['sum over no axes', (x) => emit('sum', [x], { axes: [], keepdims: false })],
  ])('removes %s', (_name, build) => {
    expect(after(simplify, [2, 3], build)).toBe(identity('2,3'));
  });

  it('keeps what is not an identity: x*0, x*2, 0-x, x+1, neg(x)', () => {
    for (const [op, lhsConst, v] of [
      ['mul', false, 0],
      ['mul', false, 2],
      ['sub', true, 0],
      ['add', false, 1],
    ] as const) {
      const out = after(simplify, [3], (x) => emit(op, lhsConst ? [c(v), x] : [x, c(v)]));
      expect(out).toBe(
        text(
          'graph g(%0: f32[3]) {',
          `  %1 = const ${v} : f32[]`,
          `  %2 = ${op} ${lhsConst ? '%1, %0' : '%0, %1'} : f32[3]`,
          '  return %2',
          '}',
        ),
      );
    }
    expect(after(simplify, [3], (x) => emit('neg', [emit('neg', [emit('neg', [x])])]))).toBe(
      text('graph g(%0: f32[3]) {', '  %1 = neg %0 : f32[3]', '  return %1', '}'),
    );
  });

  it('removes x + 0 for a 0-d x and 0 + y for y of any shape', () => {
    const x = param('f32', []);
    const y = param('f32', [3]);
    const g = graphFrom('g', [x, y], [emit('add', [x.out, c(0)]), emit('add', [c(0), y.out])]);
    expect(printGraph(simplify(g))).toBe(text('graph g(%0: f32[], %1: f32[3]) {', '  return %0, %1', '}'));
  });

  it('merges reshape chains into one reshape', () => {
    const out = after(simplify, [2, 3], (x) =>
      emit('reshape', [emit('reshape', [emit('reshape', [x], { shape: [6] })], { shape: [3, 2] })], { shape: [1, 6] }),
    );
    expect(out).toBe(text('graph g(%0: f32[2,3]) {', '  %1 = reshape %0 {shape=[1,6]} : f32[1,6]', '  return %1', '}'));
  });

  it('merges permute chains, composing the permutations', () => {
    const out = after(simplify, [2, 3, 4], (x) =>
      emit('permute', [emit('permute', [x], { perm: [1, 0, 2] })], { perm: [0, 2, 1] }),
    );
    // z[a,b,c] = y[a,c,b] = x[c,a,b]: one permute with perm [1,2,0].
    expect(out).toBe(
      text('graph g(%0: f32[2,3,4]) {', '  %1 = permute %0 {perm=[1,2,0]} : f32[3,4,2]', '  return %1', '}'),
    );
  });

  it('a reshape chain back to the original shape is x itself, in one pass', () => {
    expect(
      after(simplify, [2, 3], (x) => emit('reshape', [emit('reshape', [x], { shape: [6] })], { shape: [2, 3] })),
    ).toBe(identity('2,3'));
  });

  it('a permute chain that composes to the identity is x itself, in one pass', () => {
    expect(
      after(simplify, [2, 3], (x) => emit('permute', [emit('permute', [x], { perm: [1, 0] })], { perm: [1, 0] })),
    ).toBe(identity('2,3'));
  });
});

describe('cse', () => {
  it('merges duplicate subexpressions, transitively', () => {
    const out = after(cse, [3], (x) => {
      const a = emit('sin', [emit('exp', [x])]);
      const b = emit('sin', [emit('exp', [x])]);
      return emit('add', [a, b]);
    });
    expect(out).toBe(
      text(
        'graph g(%0: f32[3]) {',
        '  %1 = exp %0 : f32[3]',
        '  %2 = sin %1 : f32[3]',
        '  %3 = add %2, %2 : f32[3]',
        '  return %3',
        '}',
      ),
    );
  });

  it('merges uses of one constant node, but never two constant nodes of equal value', () => {
    const two = c(2);
    const same = after(cse, [3], (x) => emit('add', [emit('mul', [x, two]), emit('mul', [x, two])]));
    expect(same).toBe(
      text(
        'graph g(%0: f32[3]) {',
        '  %1 = const 2 : f32[]',
        '  %2 = mul %0, %1 : f32[3]',
        '  %3 = add %2, %2 : f32[3]',
        '  return %3',
        '}',
      ),
    );
    // Two `const 2` nodes are two kernel arguments: a later graph of this structure may carry different values.
    const distinct = after(cse, [3], (x) => emit('add', [emit('mul', [x, c(2)]), emit('mul', [x, c(2)])]));
    expect(distinct).toBe(
      text(
        'graph g(%0: f32[3]) {',
        '  %1 = const 2 : f32[]',
        '  %2 = mul %0, %1 : f32[3]',
        '  %3 = const 2 : f32[]',
        '  %4 = mul %0, %3 : f32[3]',
        '  %5 = add %2, %4 : f32[3]',
        '  return %5',
        '}',
      ),
    );
  });

  it('does not merge pads whose values differ only where JSON cannot tell (-inf, inf, nan)', () => {
    const x = param('f32', [2]);
    const pads = [-Infinity, Infinity, NaN].map((value) => emit('pad', [x.out], { pads: [[1, 0]], value }));
    const g = cse(graphFrom('g', [x], pads));
    expect(g.nodes).toHaveLength(3);
    expect(g.outputs.map((v) => v.node.attrs.value)).toEqual([-Infinity, Infinity, NaN]);
  });

  it('does not merge nodes that differ in attributes or in inputs', () => {
    const x = param('f32', [2, 3]);
    const y = param('f32', [2, 3]);
    const s0 = emit('sum', [x.out], { axes: [0], keepdims: true });
    const s1 = emit('sum', [x.out], { axes: [0], keepdims: false });
    const g = graphFrom('g', [x, y], [s0, s1, emit('exp', [x.out]), emit('exp', [y.out])]);
    expect(cse(g).nodes.map((n) => n.op)).toEqual(['sum', 'sum', 'exp', 'exp']);
  });
});

describe('dce', () => {
  it('drops nodes the outputs do not need and keeps the order and the parameters', () => {
    const x = param('f32', [3]);
    const unused = param('f32', [3]);
    const a = emit('exp', [x.out]);
    const dead1 = emit('sin', [a]);
    const dead2 = emit('cos', [dead1]);
    const b = emit('neg', [a]);
    const g: Graph = { name: 'g', params: [x, unused], nodes: [a.node, dead1.node, b.node, dead2.node], outputs: [b] };
    const out = dce(g);
    expect(out.nodes).toEqual([a.node, b.node]);
    expect(out.params).toEqual([x, unused]);
    expect(printGraph(out)).toBe(
      text('graph g(%0: f32[3], %1: f32[3]) {', '  %2 = exp %0 : f32[3]', '  %3 = neg %2 : f32[3]', '  return %3', '}'),
    );
  });
});

describe('PassManager', () => {
  it('runs named passes in order, times each, and calls `after` per pass', () => {
    const calls: string[] = [];
    const tag =
      (name: string) =>
      (g: Graph): Graph => {
        calls.push(name);
        return { ...g, name: `${g.name}+${name}` };
      };
    const pm = new PassManager()
      .register('a', tag('a'))
      .register('b', tag('b'))
      .register('simplify', simplify)
      .register('dce', dce);
    expect(pm.names()).toEqual(['a', 'b', 'simplify', 'dce']);
    expect(pm.has('b')).toBe(true);
    expect(pm.has('cse')).toBe(false);

    const x = param('f32', [2]);
    const g = graphFrom('f', [x], [emit('mul', [x.out, c(1)])]);
    const seen: [string, Graph][] = [];
    const { graph, timings } = pm.run(g, ['b', 'a', 'simplify', 'b'], { after: (pass, gr) => seen.push([pass, gr]) });
    expect(calls).toEqual(['b', 'a', 'b']);
    expect(timings.map((t) => t.pass)).toEqual(['b', 'a', 'simplify', 'b']);
    for (const t of timings) expect(Number.isFinite(t.ms) && t.ms >= 0).toBe(true);
    expect(seen.map(([p, gr]) => [p, gr.name])).toEqual([
      ['b', 'f+b'],
      ['a', 'f+b+a'],
      ['simplify', 'f+b+a'],
      ['b', 'f+b+a+b'],
    ]);
    expect(seen[2][1].nodes).toEqual([]); // the hook saw the graph simplify returned
    expect(seen[3][1]).toBe(graph);
    expect(graph.outputs[0]).toBe(x.out);
  });

  it('rejects an unknown pass name', () => {
    const pm = new PassManager().register('dce', dce);
    const x = param('f32', [2]);
    expect(() => pm.run(graphFrom('f', [x], [x.out]), ['dce', 'nope'])).toThrow(/no pass named 'nope'/);
  });
});

/** Index of the last kernel reading each buffer. */
function lastReaders(plan: KernelPlan): Map<number, number> {
  const last = new Map<number, number>();
  plan.kernels.forEach((k, i) => k.inputs.forEach((b) => last.set(b, i)));
  return last;
}

/** Checks the plan's frees and slots against the kernels' reads (generic invariants). */
function checkLifetimes(plan: KernelPlan): void {
  const last = lastReaders(plan);
  const written = new Map<number, number>();
  plan.kernels.forEach((k, i) => k.outputs.forEach((o) => written.set(o.buffer, i)));
  plan.frees.forEach((fs, i) => {
    for (const b of fs) {
      expect(plan.buffers[b].role).toBe('temp');
      expect(last.get(b)).toBe(i);
    }
  });
  for (const b of plan.buffers) {
    if (b.role === 'temp') expect(plan.frees.flat().filter((x) => x === b.id)).toHaveLength(last.has(b.id) ? 1 : 0);
  }
  // Buffers that share a slot are never alive at the same time.
  const live = (id: number): [number, number] => [
    written.get(id)!,
    plan.buffers[id].role === 'output' ? Infinity : (last.get(id) ?? written.get(id)!),
  ];
  const produced = [...written.keys()];
  for (const a of produced) {
    for (const b of produced) {
      if (a >= b || plan.buffers[a].slot !== plan.buffers[b].slot) continue;
      const [a0, a1] = live(a);
      const [b0, b1] = live(b);
      expect(a1 <= b0 || b1 <= a0, `buffers ${a} and ${b} share slot ${plan.buffers[a].slot} while both alive`).toBe(
        true,
      );
    }
  }
}

describe('schedule (unfused)', () => {
  it('gives one kernel per non-view primitive', () => {
    const g = parseGraph(
      text(
        'graph mix(%0: f32[4,5], %1: f32[5,3]) {',
        '  %2 = exp %0 : f32[4,5]',
        '  %3 = reshape %2 {shape=[5,4]} : f32[5,4]',
        '  %4 = permute %3 {perm=[1,0]} : f32[4,5]',
        '  %5 = mul %4, %0 : f32[4,5]',
        '  %6 = dot %5, %1 {batch=[[],[]], contract=[[1],[0]]} : f32[4,3]',
        '  %7 = sum %6 {axes=[1], keepdims=false} : f32[4]',
        '  %8 = pad %7 {pads=[[1,1]], value=0} : f32[6]',
        '  %9 = iota {shape=[6], axis=0} : i32[6]',
        '  %10 = cast %9 {dtype="f32"} : f32[6]',
        '  %11 = const 0.5 : f32[]',
        '  %12 = mul %10, %11 : f32[6]',
        '  %13 = slice %12 {starts=[5], steps=[-1], shape=[6]} : f32[6]',
        '  %14 = add %8, %13 : f32[6]',
        '  %15 = concat %14, %8 {axis=0} : f32[12]',
        '  %16 = expand %7 {shape=[4]} : f32[4]',
        '  %17 = max %16 {axes=[0], keepdims=true} : f32[1]',
        '  return %15, %17',
        '}',
      ),
    );
    const fused = fuse(g, UNFUSED);
    const plan = schedule(fused);
    const primitives = g.nodes.filter((n) => !VIEWS.has(n.op) && !LEAVES.has(n.op));
    expect(primitives.map((n) => n.op)).toEqual([
      'exp',
      'mul',
      'dot',
      'sum',
      'pad',
      'iota',
      'cast',
      'mul',
      'add',
      'concat',
      'max',
    ]);
    expect(fused.roots).toEqual(primitives);
    expect(plan.kernels).toHaveLength(primitives.length);
    plan.kernels.forEach((k, i) => {
      expect(k.ops[0]).toBe(primitives[i].op);
      for (const op of k.ops.slice(1)) expect(VIEWS.has(op), `${k.name} computes ${op}`).toBe(true);
    });
    expect(plan.outputs.map((b) => plan.buffers[b].role)).toEqual(['output', 'output']);
    checkLifetimes(plan);
  });

  it('materialises a function output that is a view', () => {
    const x = param('f32', [2, 3]);
    const e = emit('exp', [x.out]);
    const g = graphFrom('v', [x], [emit('permute', [e], { perm: [1, 0] })]);
    const plan = schedule(fuse(g, UNFUSED));
    expect(plan.kernels.map((k) => k.ops[0])).toEqual(['exp', 'permute']);
    expect(plan.buffers[plan.outputs[0]].shape).toEqual([3, 2]);
  });

  it('frees each temporary after its last reader', () => {
    const x = param('f32', [8]);
    const a = emit('exp', [x.out]);
    const b = emit('sin', [a]);
    const cc = emit('cos', [a]);
    const d = emit('add', [b, cc]);
    const e = emit('mul', [d, a]);
    const plan = schedule(fuse(graphFrom('diamond', [x], [e]), UNFUSED));
    const buf = (n: Node) => plan.kernels.findIndex((k) => k.ops[0] === n.op);
    const out = (i: number) => plan.kernels[i].outputs[0].buffer;
    const [ka, kb, kc, kd] = [a, b, cc, d].map((v) => buf(v.node));
    expect(plan.kernels.map((k) => k.ops[0])).toEqual(['exp', 'sin', 'cos', 'add', 'mul']);
    expect(plan.frees.map((f) => [...f].sort())).toEqual([
      [],
      [],
      [],
      [out(kb), out(kc)].sort(),
      [out(ka), out(kd)].sort(),
    ]);
    checkLifetimes(plan);
  });

  it('reuses dead temporaries: a chain of 6 elementwise ops needs 3 slots, not 6', () => {
    const x = param('f32', [8, 16]);
    let v = x.out;
    for (const op of ['exp', 'neg', 'sin', 'cos', 'tanh', 'abs']) v = emit(op, [v]);
    const fused = fuse(graphFrom('chain', [x], [v]), UNFUSED);
    const reuse = schedule(fused);
    const noReuse = schedule(fused, { reuse: false });
    expect(reuse.kernels).toHaveLength(6);
    const bytes = 8 * 16 * 4;
    expect(peakBytes(noReuse)).toBe(6 * bytes);
    expect(peakBytes(reuse)).toBe(3 * bytes); // two alternating temporaries and the output
    expect(peakBytes(reuse)).toBeLessThan(peakBytes(noReuse));
    checkLifetimes(reuse);
    checkLifetimes(noReuse);
    expect(new Set(noReuse.buffers.filter((b) => b.role !== 'input').map((b) => b.slot)).size).toBe(6);
  });

  it('never shares a slot between buffers of different sizes or dtypes', () => {
    const x = param('f32', [4, 4]);
    const a = emit('exp', [x.out]);
    const s = emit('sum', [a], { axes: [1], keepdims: false }); // f32[4]
    const b = emit('lt', [emit('neg', [s]), c(0)]); // bool[4]
    const d = emit('cast', [b], { dtype: 'f32' });
    const e = emit('add', [emit('sin', [s]), d]);
    const plan = schedule(fuse(graphFrom('mixed', [x], [e]), UNFUSED));
    checkLifetimes(plan);
    const bySlot = new Map<number, string>();
    for (const buf of plan.buffers) {
      if (buf.slot === undefined) continue;
      const key = `${buf.dtype}:${buf.size}`;
      expect(bySlot.get(buf.slot) ?? key).toBe(key);
      bySlot.set(buf.slot, key);
    }
  });

  it('copies a function output that is a parameter (x * 1 simplified to x)', () => {
    const x = param('f32', [3]);
    const g = simplify(graphFrom('id', [x], [emit('mul', [x.out, c(1)])]));
    expect(g.outputs[0]).toBe(x.out);
    for (const fusion of [false, true]) {
      const plan = schedule(fuse(g, { ...UNFUSED, fusion }));
      expect(plan.outputs).toHaveLength(1);
      const out = plan.buffers[plan.outputs[0]];
      expect(out?.role, `fusion=${fusion}`).toBe('output');
      expect(plan.kernels.map((k) => k.inputs)).toEqual([[0]]);
    }
  });

  it('keeps its invariants on 150 random optimised graphs, fused and unfused', () => {
    for (let seed = 0; seed < 150; seed++) {
      const g = dce(cse(simplify(autodiff(randomGraph(seed * 104729 + 3)))));
      const outputs = new Set(g.outputs.map((v) => v.node));
      const unfused = fuse(g, UNFUSED);
      const expected = [...g.params, ...g.nodes].filter(
        (n) => outputs.has(n) || !(LEAVES.has(n.op) || VIEWS.has(n.op)),
      );
      const plan = schedule(unfused);
      // Soft: a failure here (outputs that are parameters) must not hide the invariants below.
      expect.soft(plan.kernels.length, `seed ${seed}`).toBe(expected.length);
      for (const b of plan.outputs) expect.soft(plan.buffers[b]?.role, `seed ${seed}`).toBe('output');
      checkLifetimes(plan);
      const fusedPlan = schedule(fuse(g, { fusion: true, limits: { maxKernelInputs: 16, multiReduceKernels: false } }));
      expect(fusedPlan.kernels.length).toBeLessThanOrEqual(plan.kernels.length);
      checkLifetimes(fusedPlan);
      expect(peakBytes(plan)).toBeLessThanOrEqual(peakBytes(schedule(unfused, { reuse: false })));
    }
  });
});
