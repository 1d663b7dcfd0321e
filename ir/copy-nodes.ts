/**
 * The loop every graph rewrite shares: copy nodes, in topological order,
 * onto the substitutes of their inputs. Passes rewrite whole graphs with it,
 * autodiff re-emits a `vjp` body over the primal inputs, and tracing swaps
 * leaves for parameters.
 */
import { makeNode } from './builder';
import type { Node, Value } from './graph';

/**
 * Decides a node's copy from its (already substituted) inputs: returns the
 * values that replace its outputs, or undefined to keep `rebuild()`, which
 * is the node itself when no input changed.
 */
export type NodeRewriter = (node: Node, inputs: Value[], rebuild: () => Node) => readonly Value[] | undefined;

/**
 * Copies `nodes` onto substituted inputs. `substitutes` maps old values to
 * new ones (the caller seeds it, e.g. parameters to arguments) and gains an
 * entry for every output of every node copied. A node whose inputs are all
 * unchanged is kept, so leaves and untouched subgraphs keep their identity.
 * Returns the lookup from a value to its copy (the value itself when it has
 * none).
 */
export function copyNodes(
  nodes: readonly Node[],
  substitutes: Map<Value, Value>,
  rewriteNode?: NodeRewriter,
): (v: Value) => Value {
  const get = (v: Value) => substitutes.get(v) ?? v;
  for (const n of nodes) {
    const inputs = n.inputs.map(get);
    const same = inputs.every((v, i) => v === n.inputs[i]);
    const rebuild = () => (same ? n : makeNode(n.op, inputs, n.attrs, n.body, n.data));
    const outs = rewriteNode?.(n, inputs, rebuild) ?? rebuild().outs;
    n.outs.forEach((v, i) => substitutes.set(v, outs[i]));
  }
  return get;
}
