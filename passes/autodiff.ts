/**
 * Reverse-mode autodiff as a graph pass: every `vjp` node is expanded
 * (innermost first, so `grad(grad(f))` works) into the forward nodes of its
 * body, wired to the node's primal inputs, followed by the backward nodes
 * that the VJP rules emit in a reverse walk over the body. Cotangents of a
 * value used more than once are summed.
 */
import { type Graph, type Node, type Value, copyNodes, emit, isOp } from '../ir';
import { rewrite } from './rewrite';
import { VJP_RULES, zerosLike } from './vjp-rules';

export function autodiff(g: Graph): Graph {
  if (!hasVjp(g)) return g;
  return rewrite(g, (n, inputs) => (n.op === 'vjp' ? expandVjp(n, inputs) : undefined));
}

function hasVjp(g: Graph): boolean {
  return g.nodes.some((n) => n.op === 'vjp');
}

/** Replaces one `vjp` node by its forward and backward nodes; returns its outputs' values. */
export function expandVjp(node: Node, inputs: readonly Value[]): Value[] {
  const body = autodiff(node.body!);
  const np = body.params.length;
  const primals = inputs.slice(0, np);
  const cotangents = inputs.slice(np);
  const wrt = node.attrs.wrt as number[];

  // Forward: re-emit the body over the primal inputs.
  const get = copyNodes(body.nodes, new Map(body.params.map((p, i) => [p.out, primals[i]])));

  // Which body values depend on a differentiated parameter.
  const active = new Set<Value>(wrt.map((w) => body.params[w].out));
  for (const n of body.nodes) if (n.inputs.some((v) => active.has(v))) n.outs.forEach((v) => active.add(v));

  // Backward: reverse walk, summing cotangents per value.
  const ct = new Map<Value, Value>();
  const accumulate = (v: Value, c: Value) => {
    const prev = ct.get(v);
    ct.set(v, prev ? emit('add', [prev, c]) : c);
  };
  body.outputs.forEach((o, i) => {
    if (active.has(o) && o.dtype === 'f32') accumulate(o, cotangents[i]);
  });
  for (let i = body.nodes.length - 1; i >= 0; i--) {
    const n = body.nodes[i];
    if (n.outs.length !== 1) throw new Error(`autodiff: ${n.op} has several outputs`);
    const g = ct.get(n.out);
    if (!g) continue;
    if (!isOp(n.op)) throw new Error(`autodiff: unknown op ${n.op}`);
    const rule = VJP_RULES[n.op];
    if (rule === 'leaf') continue;
    const grads = rule({ node: n, x: n.inputs.map(get), y: get(n.out), g });
    n.inputs.forEach((v, k) => {
      const gk = grads[k];
      if (gk && active.has(v) && v.dtype === 'f32') accumulate(v, gk);
    });
  }
  const results = wrt.map((w) => ct.get(body.params[w].out) ?? zerosLike(body.params[w].types[0].shape));
  return [...body.outputs.map(get), ...results];
}
