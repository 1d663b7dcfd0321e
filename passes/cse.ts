/**
 * Common-subexpression elimination: nodes with the same op, inputs and
 * attributes are merged (structural hashing). Constant nodes are never
 * merged by value: each is a kernel argument that a cached plan refills
 * from a later graph of the same structure, where the values may differ.
 */
import { type Graph, type Node, type Value, fmtAttr } from '../ir';
import { rewrite } from './rewrite';

const NEVER_MERGE = new Set(['param', 'buffer', 'const']);

export function cse(g: Graph): Graph {
  const ids = new Map<Value, string>();
  let counter = 0;
  const idOf = (v: Value) => {
    let id = ids.get(v);
    if (id === undefined) ids.set(v, (id = `#${counter++}`));
    return id;
  };
  const table = new Map<string, Node>();
  return rewrite(g, (n, inputs, rebuild) => {
    if (NEVER_MERGE.has(n.op) || n.body) return undefined;
    const key = `${n.op}(${inputs.map(idOf).join(',')})${fmtAttr(n.attrs)}`;
    const hit = table.get(key);
    if (hit) return hit.outs;
    const node = rebuild();
    table.set(key, node);
    return node.outs;
  });
}
