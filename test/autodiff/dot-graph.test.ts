/**
 * The VJP of `dot` is made of `dot`s: expanding a vjp node over a matmul
 * body never builds a broadcast product (an [M,K,N] intermediate). Built
 * with the IR directly: a `vjp` node over a body graph, expanded by the
 * autodiff pass, dead code removed.
 */
import { describe, it, expect } from 'vitest';
import { type Graph, type Attrs, graphFrom, makeNode, param } from '../../ir';
import { autodiff, dce } from '../../passes';
import * as lg from '../../src/index';
import { compileGraph, runProgram } from '../../src/compile';
import { backendByName } from '../../src/settings';
import { fromFlat, rand, values, expectClose } from './helpers';

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** Outer graph: params (primals..., cotangent) -> vjp over body `dot(a, b)` -> outputs (y, da, db). */
function dotVjpGraph(sa: number[], sb: number[], attrs: Attrs): Graph {
  const a = param('f32', sa);
  const b = param('f32', sb);
  const body = graphFrom('matmul', [a, b], [makeNode('dot', [a.out, b.out], attrs).out]);
  const pa = param('f32', sa);
  const pb = param('f32', sb);
  const pg = param('f32', body.outputs[0].shape);
  const node = makeNode('vjp', [pa.out, pb.out, pg.out], { wrt: [0, 1] }, body);
  return graphFrom('grad_matmul', [pa, pb, pg], node.outs);
}

function checkExpanded(g: Graph): Graph {
  const before = g.nodes.map((n) => n.op);
  expect(before).toEqual(['vjp']);
  const out = dce(autodiff(g));
  expect(out.nodes.some((n) => n.op === 'vjp')).toBe(false);
  const limit = Math.max(...g.params.map((p) => size(p.types[0].shape)), ...g.outputs.map((o) => size(o.shape)));
  for (const n of out.nodes) {
    for (const t of n.types)
      expect(size(t.shape), `${n.op} ${JSON.stringify(t.shape)} exceeds ${limit}`).toBeLessThanOrEqual(limit);
  }
  // Forward plus one dot per differentiated operand; no elementwise broadcast product.
  expect(out.nodes.filter((n) => n.op === 'dot').length).toBe(3);
  expect(out.nodes.some((n) => n.op === 'mul')).toBe(false);
  expect(out.nodes.some((n) => n.op === 'expand')).toBe(false);
  expect(out.nodes.some((n) => n.op === 'sum')).toBe(false);
  return out;
}

describe('the gradient of dot is dots', () => {
  const [M, K, N] = [64, 32, 48];
  it(`matmul [${M},${K}] @ [${K},${N}]`, () => {
    const out = checkExpanded(dotVjpGraph([M, K], [K, N], { batch: [[], []], contract: [[1], [0]] }));
    // Output types: y [M,N], da [M,K], db [K,N].
    expect(out.outputs.map((o) => o.shape)).toEqual([
      [M, N],
      [M, K],
      [K, N],
    ]);
  });
  it('batched matmul [B,M,K] @ [B,K,N]', () => {
    const out = checkExpanded(dotVjpGraph([4, M, K], [4, K, N], { batch: [[0], [0]], contract: [[2], [1]] }));
    expect(out.nodes.some((n) => n.op === 'mul' && n.out.shape.length === 3)).toBe(false);
    expect(out.outputs.map((o) => o.shape)).toEqual([
      [4, M, N],
      [4, M, K],
      [4, K, N],
    ]);
  });
  it('transposed operands (a^T b^T) and a batch axis that is not leading', () => {
    checkExpanded(dotVjpGraph([K, M], [N, K], { batch: [[], []], contract: [[0], [1]] }));
    checkExpanded(dotVjpGraph([M, 3, K], [K, 3, N], { batch: [[1], [1]], contract: [[2], [0]] }));
  });
  it('several contracted axes (as in conv2d)', () => {
    checkExpanded(
      dotVjpGraph([2, 3, 5, 4, 4], [6, 3, 4, 4], {
        batch: [[], []],
        contract: [
          [1, 3, 4],
          [1, 2, 3],
        ],
      }),
    );
  });
  it('through the public API: the lazy gradient of a @ b is made of dots, no rank-3 mul', () => {
    const a = rand([M, K], -1, 1, 1);
    const b = rand([K, N], -1, 1, 2);
    const [ga, gb] = lg.grad((a: lg.Tensor, b: lg.Tensor) => a.matmul(b).sum(), { argnums: [0, 1] })(
      a,
      b,
    ) as lg.Tensor[];
    const g = graphFrom('grads', [], [ga._value, gb._value]);
    expect(g.nodes.filter((n) => n.op === 'dot').length).toBeGreaterThanOrEqual(2);
    expect(g.nodes.some((n) => n.op === 'mul' && n.out.shape.length === 3)).toBe(false);
    for (const n of g.nodes) expect(size(n.out.shape)).toBeLessThanOrEqual(M * N);
    // d/da sum(a @ b) = rowsums of b broadcast over rows.
    const small = lg.grad((a: lg.Tensor) => a.matmul(fromFlat([1, 2, 3, 4, 5, 6], [2, 3])).sum())(rand([2, 2]));
    expectClose(small, [6, 15, 6, 15]);
  });
  it('the unexpanded vjp graph runs through the compile pipeline (autodiff as a pass) and gives G B^T, A^T G', () => {
    const [m, k, n] = [5, 4, 3];
    const g = dotVjpGraph([m, k], [k, n], { batch: [[], []], contract: [[1], [0]] });
    const A = values([m, k], -1, 1, 1);
    const B = values([k, n], -1, 1, 2);
    const G = values([m, n], -1, 1, 3);
    const js = backendByName('js');
    const prog = compileGraph(g, { backend: js, fusion: true });
    expect(prog.grad.nodes.some((nd) => nd.op === 'vjp')).toBe(false);
    const outs = runProgram(
      prog,
      g,
      [A, B, G].map((d) => js.upload('f32', d)),
      () => {
        throw new Error('no captures expected');
      },
    ).map((b) => Array.from(js.download(b)));
    const at = (X: number[], cols: number, i: number, j: number) => X[i * cols + j];
    const y: number[] = [],
      da: number[] = [],
      db: number[] = [];
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++)
        y.push(Array.from({ length: k }, (_, p) => at(A, k, i, p) * at(B, n, p, j)).reduce((a, c) => a + c));
    for (let i = 0; i < m; i++)
      for (let p = 0; p < k; p++)
        da.push(Array.from({ length: n }, (_, j) => at(G, n, i, j) * at(B, n, p, j)).reduce((a, c) => a + c));
    for (let p = 0; p < k; p++)
      for (let j = 0; j < n; j++)
        db.push(Array.from({ length: m }, (_, i) => at(A, k, i, p) * at(G, n, i, j)).reduce((a, c) => a + c));
    expectClose(outs[0], y, 1e-5, 1e-5, 'y');
    expectClose(outs[1], da, 1e-5, 1e-5, 'da');
    expectClose(outs[2], db, 1e-5, 1e-5, 'db');
  });
});
