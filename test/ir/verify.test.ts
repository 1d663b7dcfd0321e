import { describe, expect, it } from 'vitest';
import {
  DTypeError,
  type Graph,
  GraphError,
  LazygradError,
  Node,
  ShapeError,
  type TensorType,
  type Value,
  constant,
  emit,
  graphFrom,
  makeNode,
  param,
  parseGraph,
  verifyGraph,
} from '../../ir';

const f32 = (...shape: number[]): TensorType => ({ dtype: 'f32', shape });
const graph = (params: Node[], nodes: Node[], outputs: Value[], name = 'bad'): Graph => ({
  name,
  params,
  nodes,
  outputs,
});

/** Runs `fn`, expects an error of class `cls`, returns its message. */
function errorOf(fn: () => unknown, cls: new (...a: never[]) => Error): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(cls);
    expect(e).toBeInstanceOf(LazygradError);
    return (e as Error).message;
  }
  throw new Error('expected an error, none was thrown');
}

describe('verifyGraph', () => {
  it('accepts a well-formed graph (so the rejections below are about the defect)', () => {
    const x = param('f32', [2, 3]);
    const y = emit('sum', [emit('exp', [x.out])], { axes: [1], keepdims: false });
    expect(() => verifyGraph(graphFrom('ok', [x], [y]))).not.toThrow();
  });

  it('rejects wrong arity, naming the node', () => {
    const x = param('f32', [2]);
    const n = new Node('add', [x.out], {}, [f32(2)]);
    const msg = errorOf(() => verifyGraph(graph([x], [n], [n.out])), GraphError);
    expect(msg).toMatch(/node 0 \(add\)/);
    expect(msg).toMatch(/expected 2 operand/);
  });

  it('rejects a type that disagrees with the op rule (shape, dtype, multi-output count)', () => {
    const x = param('f32', [2, 3]);
    const wrongShape = new Node('exp', [x.out], {}, [f32(3, 2)]);
    let msg = errorOf(() => verifyGraph(graph([x], [wrongShape], [wrongShape.out])), GraphError);
    expect(msg).toMatch(/node 0 \(exp\)/);
    expect(msg).toContain('f32[3,2]');
    expect(msg).toContain('f32[2,3]');

    const e = emit('exp', [x.out]).node;
    const wrongDtype = new Node('lt', [e.out, x.out], {}, [f32(2, 3)]);
    msg = errorOf(() => verifyGraph(graph([x], [e, wrongDtype], [wrongDtype.out])), GraphError);
    expect(msg).toMatch(/node 1 \(lt\)/);
    expect(msg).toContain('bool[2,3]');

    const keep = new Node('sum', [x.out], { axes: [1], keepdims: true }, [f32(2)]);
    msg = errorOf(() => verifyGraph(graph([x], [keep], [keep.out])), GraphError);
    expect(msg).toMatch(/node 0 \(sum\)/);
    expect(msg).toContain('f32[2,1]');
  });

  it('rejects attributes the op rule refuses, wrapping the rule message', () => {
    const x = param('f32', [2, 3]);
    const n = new Node('permute', [x.out], { perm: [0, 0] }, [f32(2, 2)]);
    const msg = errorOf(() => verifyGraph(graph([x], [n], [n.out])), GraphError);
    expect(msg).toMatch(/node 0 \(permute\)/);
    expect(msg).toContain('[0,0]');
  });

  it('rejects a dangling reference: an operand from another graph', () => {
    const x = param('f32', [2]);
    const other = param('f32', [2]);
    const foreign = emit('neg', [other.out]); // a node that is in no graph's node list here
    const n = new Node('add', [x.out, foreign], {}, [f32(2)]);
    let msg = errorOf(() => verifyGraph(graph([x], [n], [n.out])), GraphError);
    expect(msg).toMatch(/node 0 \(add\)/);
    expect(msg).toMatch(/operand 1 \(neg\).*dangling/);

    // A parameter that is not the graph's own.
    const m = new Node('add', [x.out, other.out], {}, [f32(2)]);
    msg = errorOf(() => verifyGraph(graph([x], [m], [m.out])), GraphError);
    expect(msg).toMatch(/node 0 \(add\): operand 1 \(param\).*dangling/);
  });

  it('rejects nodes out of topological order and cycles', () => {
    const x = param('f32', [2]);
    const a = new Node('exp', [x.out], {}, [f32(2)]);
    const b = new Node('neg', [a.out], {}, [f32(2)]);
    let msg = errorOf(() => verifyGraph(graph([x], [b, a], [b.out])), GraphError);
    expect(msg).toMatch(/node 0 \(neg\): operand 0 is defined later, by node 1 \(exp\)/);

    // Nodes are immutable, so a cycle needs a mutated inputs array.
    const ins: Value[] = [];
    const c = new Node('neg', ins, {}, [f32(2)]);
    const d = new Node('exp', [c.out], {}, [f32(2)]);
    ins.push(d.out);
    msg = errorOf(() => verifyGraph(graph([x], [c, d], [d.out])), GraphError);
    expect(msg).toMatch(/node 0 \(neg\).*cycle/);

    const selfIns: Value[] = [];
    const s = new Node('exp', selfIns, {}, [f32(2)]);
    selfIns.push(s.out);
    msg = errorOf(() => verifyGraph(graph([x], [s], [s.out])), GraphError);
    expect(msg).toMatch(/node 0 \(exp\).*cycle/);

    msg = errorOf(() => verifyGraph(graph([x], [a, a], [a.out])), GraphError);
    expect(msg).toMatch(/node 1 \(exp\) appears twice/);
  });

  it('rejects an unknown op', () => {
    const x = param('f32', [2]);
    const n = new Node('frobnicate', [x.out], {}, [f32(2)]);
    const msg = errorOf(() => verifyGraph(graph([x], [n], [n.out])), GraphError);
    expect(msg).toMatch(/node 0 \(frobnicate\): unknown op/);
  });

  it('rejects an output that the graph does not define', () => {
    const x = param('f32', [2]);
    const a = emit('exp', [x.out]);
    const stray = emit('neg', [x.out]);
    const msg = errorOf(() => verifyGraph(graph([x], [a.node], [a, stray])), GraphError);
    expect(msg).toMatch(/output 1 \(neg\) is not defined/);
  });

  it('rejects bad parameter lists', () => {
    const x = param('f32', [2]);
    const c = constant(1, 'f32').node;
    expect(errorOf(() => verifyGraph(graph([c], [], [c.out])), GraphError)).toMatch(/parameter list holds a const/);
    expect(errorOf(() => verifyGraph(graph([x], [x], [x.out])), GraphError)).toMatch(/node 0 \(param\)/);
    const lying = new Node('param', [], { dtype: 'f32', shape: [2] }, [{ dtype: 'i32', shape: [3] }]);
    expect(errorOf(() => verifyGraph(graph([lying], [], [lying.out])), GraphError)).toMatch(
      /parameter 0 has type i32\[3\]/,
    );
  });

  it('checks vjp bodies and names the vjp node', () => {
    const bx = param('f32', [2]);
    const bad = new Node('exp', [bx.out], {}, [f32(5)]);
    const body = graph([bx], [bad], [bad.out], 'body');
    const x = param('f32', [2]);
    const ct = param('f32', [5]);
    const v = new Node('vjp', [x.out, ct.out], { wrt: [0] }, [f32(5), f32(2)], body);
    const msg = errorOf(() => verifyGraph(graph([x, ct], [v], [v.outs[1]])), GraphError);
    expect(msg).toMatch(/node 0 \(vjp\)/);
    expect(msg).toMatch(/body: node 0 \(exp\)/);

    // A body may not reach outer values except through its parameters.
    const outer = emit('neg', [x.out]);
    const leaky = new Node('add', [bx.out, outer], {}, [f32(2)]);
    const v2 = new Node(
      'vjp',
      [x.out, x.out],
      { wrt: [0] },
      [f32(2), f32(2)],
      graph([bx], [leaky], [leaky.out], 'body'),
    );
    expect(errorOf(() => verifyGraph(graph([x], [outer.node, v2], [v2.outs[0]])), GraphError)).toMatch(/dangling/);
  });
});

describe('parseGraph rejects malformed text with GraphError', () => {
  const good = ['graph f(%0: f32[2,3]) {', '  %1 = exp %0 : f32[2,3]', '  return %1', '}'];
  const withLine = (i: number, line: string) => good.map((l, k) => (k === i ? line : l)).join('\n');

  it('parses the unmodified text (control)', () => {
    expect(parseGraph(good.join('\n')).nodes).toHaveLength(1);
  });

  it.each([
    ['bad dtype', withLine(0, 'graph f(%0: f64[2,3]) {'), /bad type 'f64\[2,3\]'/],
    ['bad dims', withLine(0, 'graph f(%0: f32[2,,3]) {'), /bad type/],
    ['bad type syntax', withLine(1, '  %1 = exp %0 : f32(2,3)'), /bad type/],
    ['undefined value', withLine(1, '  %1 = exp %7 : f32[2,3]'), /undefined value %7/],
    ['undefined return', withLine(2, '  return %9'), /undefined value %9/],
    ['missing return', [good[0], good[1]].join('\n'), /missing its return/],
    ['missing brace', good.slice(0, 3).join('\n'), /expected `}`/],
    [
      'declared type mismatch',
      withLine(1, '  %1 = exp %0 : f32[3,2]'),
      /declared type f32\[3,2\] but the op gives f32\[2,3\]/,
    ],
    ['declared dtype mismatch', withLine(1, '  %1 = exp %0 : i32[2,3]'), /declared type i32\[2,3\]/],
    ['unknown op', withLine(1, '  %1 = frob %0 : f32[2,3]'), /unknown op 'frob'/],
    ['wrong arity', withLine(1, '  %1 = add %0 : f32[2,3]'), /expected 2 operand/],
    ['bad attribute value', withLine(1, '  %1 = sum %0 {axes=[1,} : f32[2]'), /bad attribute value/],
    ['op rule failure', withLine(1, '  %1 = reshape %0 {shape=[4]} : f32[4]'), /cannot reshape/],
    ['redefined name', withLine(1, '  %0 = exp %0 : f32[2,3]'), /%0 is defined twice/],
    ['bad header', withLine(0, 'grph f(%0: f32[2,3]) {'), /expected `graph name\(params\) \{`/],
    ['trailing text', good.join('\n') + '\n%5 = exp %0 : f32[2,3]', /unexpected text after the graph/],
    ['bad const value', withLine(1, '  %1 = const abc : f32[]'), /bad number 'abc'/],
    ['buffer without #k', withLine(1, '  %1 = buffer 3 : f32[2,3]'), /buffer needs/],
  ])('%s', (_name, text, re) => {
    expect(errorOf(() => parseGraph(text), GraphError)).toMatch(re);
  });

  it('rejects `buffer #k` with no data for k', () => {
    const text = ['graph f() {', '  %0 = buffer #2 : f32[2]', '  return %0', '}'].join('\n');
    expect(errorOf(() => parseGraph(text, { buffers: [{}, {}] }), GraphError)).toMatch(/no data for buffer #2/);
  });
});

describe('op rules fail at build time, naming the op and both shapes', () => {
  const x23 = () => param('f32', [2, 3]).out;

  it('binary shape mismatch', () => {
    const msg = errorOf(() => emit('add', [x23(), param('f32', [3, 2]).out]), ShapeError);
    expect(msg).toMatch(/^add:/);
    expect(msg).toContain('[2,3]');
    expect(msg).toContain('[3,2]');
    // A 0-d operand broadcasts; equal shapes are fine.
    expect(emit('add', [x23(), constant(1, 'f32')]).shape).toEqual([2, 3]);
  });

  it('binary dtype mismatch', () => {
    const msg = errorOf(() => emit('mul', [x23(), param('i32', [2, 3]).out]), DTypeError);
    expect(msg).toMatch(/^mul:/);
    expect(msg).toContain('f32[2,3]');
    expect(msg).toContain('i32[2,3]');
    expect(errorOf(() => emit('exp', [param('i32', [2]).out]), DTypeError)).toMatch(/exp/);
  });

  it('reshape to another element count', () => {
    const msg = errorOf(() => emit('reshape', [x23()], { shape: [4] }), ShapeError);
    expect(msg).toMatch(/^reshape:/);
    expect(msg).toContain('[2,3]');
    expect(msg).toContain('[4]');
  });

  it('bad permutations', () => {
    for (const perm of [[0, 0], [0], [1, 2], [0, 1, 2]]) {
      const msg = errorOf(() => emit('permute', [x23()], { perm }), ShapeError);
      expect(msg).toMatch(/^permute:/);
      expect(msg).toContain(JSON.stringify(perm));
      expect(msg).toContain('[2,3]');
    }
  });

  it('dot contraction size mismatch and bad axes', () => {
    const msg = errorOf(
      () => emit('dot', [x23(), param('f32', [4, 5]).out], { batch: [[], []], contract: [[1], [0]] }),
      ShapeError,
    );
    expect(msg).toMatch(/^dot:/);
    expect(msg).toContain('[2,3]');
    expect(msg).toContain('[4,5]');
    const axes = errorOf(
      () => emit('dot', [x23(), param('f32', [3, 5]).out], { batch: [[], []], contract: [[2], [0]] }),
      ShapeError,
    );
    expect(axes).toMatch(/^dot: bad axes/);
    expect(emit('dot', [x23(), param('f32', [3, 5]).out], { batch: [[], []], contract: [[1], [0]] }).shape).toEqual([
      2, 5,
    ]);
  });

  it('slice out of range and step 0', () => {
    const bad = [
      { starts: [0, 3], steps: [1, 1], shape: [2, 1] }, // start past the end
      { starts: [0, 0], steps: [1, 2], shape: [2, 3] }, // last index 4 > 2
      { starts: [1, 0], steps: [-1, 1], shape: [3, 3] }, // runs below 0
    ];
    for (const attrs of bad) {
      const msg = errorOf(() => emit('slice', [x23()], attrs), ShapeError);
      expect(msg).toMatch(/^slice: axis \d reads outside f32\[2,3\]/);
    }
    expect(errorOf(() => emit('slice', [x23()], { starts: [0, 0], steps: [0, 1], shape: [1, 3] }), ShapeError)).toMatch(
      /^slice: step 0 on axis 0 of f32\[2,3\]/,
    );
    expect(emit('slice', [x23()], { starts: [1, 2], steps: [-1, -2], shape: [2, 2] }).shape).toEqual([2, 2]);
  });

  it('concat mismatch', () => {
    const msg = errorOf(() => emit('concat', [x23(), param('f32', [3, 3]).out], { axis: 1 }), ShapeError);
    expect(msg).toMatch(/^concat:/);
    expect(msg).toContain('[2,3]');
    expect(msg).toContain('[3,3]');
    expect(errorOf(() => emit('concat', [x23(), param('i32', [2, 3]).out], { axis: 0 }), DTypeError)).toMatch(
      /^concat: dtypes differ/,
    );
    expect(emit('concat', [x23(), param('f32', [2, 1]).out], { axis: 1 }).shape).toEqual([2, 4]);
  });

  it('wrong arity and unknown ops from the builder', () => {
    expect(errorOf(() => makeNode('where', [x23(), x23()]), GraphError)).toMatch(/^where: expected 3 operand/);
    expect(errorOf(() => emit('frobnicate', [x23()]), GraphError)).toMatch(/unknown op 'frobnicate'/);
  });
});
