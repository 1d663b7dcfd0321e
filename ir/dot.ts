/** Graphviz DOT export of a graph, nested `vjp` bodies as clusters. */
import type { Graph, Value } from './graph';
import { attrText, fmtNumber, fmtType } from './printer';

const esc = (s: string) => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"');

export function graphToDot(g: Graph): string {
  const lines = [`digraph "${esc(g.name)}" {`, '  node [shape=box, fontname="monospace", fontsize=10];'];
  let counter = 0;
  emitGraph(g, '  ');
  lines.push('}');
  return lines.join('\n');

  function emitGraph(graph: Graph, indent: string): Map<Value, string> {
    const ids = new Map<Value, string>();
    for (const p of graph.params) {
      const id = `n${counter++}`;
      ids.set(p.out, id);
      lines.push(`${indent}${id} [label="param\\n${fmtType(p.types[0])}", shape=ellipse];`);
    }
    for (const n of graph.nodes) {
      const id = `n${counter++}`;
      n.outs.forEach((v) => ids.set(v, id));
      const head = n.op === 'const' ? `const ${fmtNumber(n.attrs.value as number)}` : n.op;
      lines.push(`${indent}${id} [label="${esc(head + attrText(n))}\\n${n.types.map(fmtType).join(', ')}"];`);
      n.inputs.forEach((v, k) => lines.push(`${indent}${ids.get(v)} -> ${id} [label="${k}"];`));
      if (n.body) {
        lines.push(`${indent}subgraph cluster_${id} {`, `${indent}  label="${esc(n.body.name)}"; style=dashed;`);
        emitGraph(n.body, indent + '  ');
        lines.push(`${indent}}`);
      }
    }
    graph.outputs.forEach((v, k) => {
      const id = `n${counter++}`;
      lines.push(`${indent}${id} [label="out ${k}", shape=plaintext];`, `${indent}${ids.get(v)} -> ${id};`);
    });
    return ids;
  }
}
