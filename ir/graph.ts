/**
 * Graph and node types. Nodes are immutable; a graph is a list of parameter
 * nodes, the other nodes in topological order, and the output values.
 */
import type { DType } from './dtype';
import type { Shape } from './shape';
import { GraphError } from './errors';

export interface TensorType {
  readonly dtype: DType;
  readonly shape: Shape;
}

export type AttrValue = number | boolean | string | null | readonly AttrValue[] | { readonly [k: string]: AttrValue };
export type Attrs = { readonly [name: string]: AttrValue };

let nextNodeId = 0;

/** One output of a node. Most nodes have exactly one. */
export class Value {
  constructor(
    readonly node: Node,
    readonly index: number,
  ) {}
  get type(): TensorType {
    return this.node.types[this.index];
  }
  get dtype(): DType {
    return this.node.types[this.index].dtype;
  }
  get shape(): Shape {
    return this.node.types[this.index].shape;
  }
}

export class Node {
  readonly id = nextNodeId++;
  readonly outs: readonly Value[];
  constructor(
    readonly op: string,
    readonly inputs: readonly Value[],
    readonly attrs: Attrs,
    readonly types: readonly TensorType[],
    /** The nested graph of a higher-order op (`vjp`). */
    readonly body?: Graph,
    /** Opaque payload of a `buffer` leaf: the realised data it stands for. */
    readonly data?: unknown,
  ) {
    this.outs = types.map((_, i) => new Value(this, i));
  }
  get out(): Value {
    return this.outs[0];
  }
}

export interface Graph {
  readonly name: string;
  /** Nodes with op `param`, in parameter order. */
  readonly params: readonly Node[];
  /** Every other node, each after its inputs. */
  readonly nodes: readonly Node[];
  readonly outputs: readonly Value[];
}

/**
 * Collects the nodes that `outputs` depend on into a graph, in topological
 * order (iterative, so long eager chains do not overflow the stack). Params
 * reached that are not listed in `params` are an error of the caller, unless
 * `allowAnyParam` (then they are listed among the nodes, for analyses).
 */
export function graphFrom(
  name: string,
  params: readonly Node[],
  outputs: readonly Value[],
  allowAnyParam = false,
): Graph {
  const paramSet = new Set(params);
  const seen = new Set<Node>();
  const order: Node[] = [];
  for (const root of outputs) {
    if (seen.has(root.node)) continue;
    const stack: [Node, number][] = [[root.node, 0]];
    seen.add(root.node);
    while (stack.length) {
      const top = stack[stack.length - 1];
      const [node, i] = top;
      if (i < node.inputs.length) {
        top[1]++;
        const child = node.inputs[i].node;
        if (!seen.has(child)) {
          seen.add(child);
          stack.push([child, 0]);
        }
      } else {
        stack.pop();
        if (node.op === 'param' && !allowAnyParam) {
          if (!paramSet.has(node)) throw new GraphError(`graph ${name} reaches a parameter that is not its own`);
        } else order.push(node);
      }
    }
  }
  return { name, params, nodes: order, outputs };
}

/** Number of uses of each value's node among the graph's nodes and outputs. */
export function useCounts(g: Graph): Map<Node, number> {
  const uses = new Map<Node, number>();
  for (const n of g.nodes) for (const v of n.inputs) uses.set(v.node, (uses.get(v.node) ?? 0) + 1);
  for (const v of g.outputs) uses.set(v.node, (uses.get(v.node) ?? 0) + 1);
  return uses;
}
