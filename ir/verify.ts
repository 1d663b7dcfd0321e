/**
 * The verifier: rejects a malformed graph (unknown op, wrong arity, a type
 * that disagrees with the op's rule, a value used before it is defined or
 * not in the graph at all, a cycle) with a message naming the node.
 */
import { GraphError } from './errors';
import type { Graph, Node, Value } from './graph';
import { isOp, OPS } from './ops';
import { fmtType } from './printer';

export function verifyGraph(g: Graph): void {
  const defined = new Set<Value>();
  const where = (n: Node, i: number) => `${g.name}: node ${i} (${n.op})`;
  g.params.forEach((p, i) => {
    if (p.op !== 'param') throw new GraphError(`${g.name}: parameter list holds a ${p.op} node`);
    if (defined.has(p.out)) throw new GraphError(`${g.name}: parameter ${i} is listed twice`);
    let want: string;
    try {
      want = OPS.param.infer([], p.attrs).map(fmtType).join(', ');
    } catch (e) {
      throw new GraphError(`${g.name}: parameter ${i}: ${(e as Error).message}`);
    }
    const got = p.types.map(fmtType).join(', ');
    if (got !== want) throw new GraphError(`${g.name}: parameter ${i} has type ${got}, its attributes say ${want}`);
    defined.add(p.out);
  });
  const seen = new Set<Node>();
  g.nodes.forEach((n, i) => {
    if (seen.has(n)) throw new GraphError(`${where(n, i)} appears twice (a cycle or duplicate)`);
    seen.add(n);
    if (!isOp(n.op)) throw new GraphError(`${where(n, i)}: unknown op`);
    const def = OPS[n.op];
    if (def.kind === 'leaf' && n.op === 'param')
      throw new GraphError(`${where(n, i)}: a param node among the body nodes`);
    if (def.arity >= 0 && n.inputs.length !== def.arity) {
      throw new GraphError(`${where(n, i)}: expected ${def.arity} operand(s), got ${n.inputs.length}`);
    }
    n.inputs.forEach((v, k) => {
      if (!defined.has(v)) {
        const later = g.nodes.indexOf(v.node);
        throw new GraphError(
          later >= i
            ? `${where(n, i)}: operand ${k} is defined later, by node ${later} (${v.node.op}): a cycle or bad order`
            : `${where(n, i)}: operand ${k} (${v.node.op}) is not defined in this graph (dangling reference)`,
        );
      }
    });
    let types;
    try {
      types = def.infer(
        n.inputs.map((v) => v.type),
        n.attrs,
        n.body,
      );
    } catch (e) {
      throw new GraphError(`${where(n, i)}: ${(e as Error).message}`);
    }
    const got = n.types.map(fmtType).join(', ');
    const want = types.map(fmtType).join(', ');
    if (got !== want) throw new GraphError(`${where(n, i)}: has type ${got}, the op's rule gives ${want}`);
    if (n.body) {
      try {
        verifyGraph(n.body);
      } catch (e) {
        throw new GraphError(`${where(n, i)}: in its body: ${(e as Error).message}`);
      }
    }
    n.outs.forEach((v) => defined.add(v));
  });
  g.outputs.forEach((v, k) => {
    if (!defined.has(v)) throw new GraphError(`${g.name}: output ${k} (${v.node.op}) is not defined in the graph`);
  });
}
