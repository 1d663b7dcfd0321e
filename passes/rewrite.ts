/**
 * A helper for passes that rebuild a graph node by node: `rewrite` walks the
 * nodes in order and lets the pass map each node's (already rewritten)
 * inputs to new values. Leaves are kept as they are, so constant and buffer
 * nodes keep their identity through the pipeline (the loop itself is
 * ir/copy-nodes.ts, shared with autodiff and tracing).
 */
import { type Graph, type NodeRewriter, copyNodes, graphFrom } from '../ir';

export function rewrite(g: Graph, fn: NodeRewriter): Graph {
  const get = copyNodes(g.nodes, new Map(), fn);
  return graphFrom(g.name, g.params, g.outputs.map(get));
}
