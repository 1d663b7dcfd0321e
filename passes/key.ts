/**
 * Structural key of a graph, for compile caches: ops, wiring, attributes and
 * types, but not the values of constants (they are kernel arguments), except
 * the values that `simplify` treats specially (0 and 1), which can change the
 * optimised graph. Buffers and parameters are keyed by type and position.
 */
import { type Graph, type Node, type Value, fmtAttr } from '../ir';

export function structuralKey(g: Graph): string {
  const ids = new Map<Value, number>();
  let counter = 0;
  const parts: string[] = [g.params.map((p) => `${p.types[0].dtype}[${p.types[0].shape}]`).join(';')];
  for (const p of g.params) ids.set(p.out, counter++);
  for (const n of g.nodes) {
    parts.push(nodeKey(n, ids));
    for (const v of n.outs) ids.set(v, counter++);
  }
  parts.push('->' + g.outputs.map((v) => ids.get(v)).join(','));
  return parts.join('\n');
}

function nodeKey(n: Node, ids: Map<Value, number>): string {
  const t = n.types.map((x) => `${x.dtype}[${x.shape}]`).join(',');
  if (n.op === 'const') {
    const v = n.attrs.value as number;
    return `c ${v === 0 || v === 1 ? v : '?'} ${t}`;
  }
  const body = n.body ? `{${structuralKey(n.body)}}` : '';
  return `${n.op} ${n.inputs.map((v) => ids.get(v)).join(',')} ${fmtAttr(n.attrs)} ${t}${body}`;
}
