/**
 * A helper for passes that rebuild a graph node by node: `rewrite` walks the
 * nodes in order and lets the pass map each node's (already rewritten)
 * inputs to new values. Leaves are kept as they are, so constant and buffer
 * nodes keep their identity through the pipeline.
 */
import { type Graph, type Node, type Value, graphFrom, makeNode } from '../ir';

export type NodeRewriter = (node: Node, inputs: Value[], rebuild: () => Node) => readonly Value[] | undefined;

export function rewrite(g: Graph, fn: NodeRewriter): Graph {
  const map = new Map<Value, Value>();
  const get = (v: Value) => map.get(v) ?? v;
  for (const n of g.nodes) {
    const inputs = n.inputs.map(get);
    const same = inputs.every((v, i) => v === n.inputs[i]);
    const rebuild = () => (same ? n : makeNode(n.op, inputs, n.attrs, n.body, n.data));
    const outs = fn(n, inputs, rebuild) ?? rebuild().outs;
    n.outs.forEach((v, i) => map.set(v, outs[i]));
  }
  return graphFrom(g.name, g.params, g.outputs.map(get));
}
