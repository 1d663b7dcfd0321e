/**
 * Tracing state (jit and grad traces) and graph surgery on traced values:
 * substituting leaves, and lifting values of an enclosing trace into a
 * body's parameters so that a body refers to outer values only through its
 * node's inputs.
 */
import { type Node, type Value, copyNodes, param, graphFrom, type Graph } from '../ir';

export interface Trace {
  readonly kind: 'jit' | 'grad';
  /** jit: the generator key parameter, created on the first random op. */
  rngKey?: Node;
  /** jit: counters drawn so far in this trace. */
  rngOffset: number;
}

const stack: Trace[] = [];

export function withTrace<T>(t: Trace, f: () => T): T {
  stack.push(t);
  try {
    return f();
  } finally {
    stack.pop();
  }
}

export function isTracing(): boolean {
  return stack.length > 0;
}

export function currentJitTrace(): Trace | undefined {
  for (let i = stack.length - 1; i >= 0; i--) if (stack[i].kind === 'jit') return stack[i];
  return undefined;
}

/** Rebuilds `outputs` with the nodes in `map` replaced by the given values. */
export function substitute(outputs: readonly Value[], map: ReadonlyMap<Node, Value>): Value[] {
  const substitutes = new Map<Value, Value>();
  for (const [n, v] of map) for (const out of n.outs) substitutes.set(out, v);
  const order = graphFrom('substitute', [], outputs, true).nodes.filter((n) => !map.has(n));
  return outputs.map(copyNodes(order, substitutes));
}

/** Params reachable from `outputs` that are not in `own` (values of an enclosing trace). */
function foreignParams(outputs: readonly Value[], own: ReadonlySet<Node>): Node[] {
  return graphFrom('scan', [], outputs, true).nodes.filter((n) => n.op === 'param' && !own.has(n));
}

/**
 * Makes a body graph from traced outputs. Values of an enclosing trace that
 * the body reaches become extra parameters; their outer values are returned
 * so the caller passes them as inputs.
 */
export function makeBody(
  name: string,
  params: readonly Node[],
  outputs: readonly Value[],
): { body: Graph; lifted: Value[] } {
  const foreign = foreignParams(outputs, new Set(params));
  if (!foreign.length) return { body: graphFrom(name, params, outputs), lifted: [] };
  const fresh = foreign.map((p) => param(p.types[0].dtype, p.types[0].shape));
  const outs = substitute(outputs, new Map(foreign.map((p, i) => [p, fresh[i].out])));
  return { body: graphFrom(name, [...params, ...fresh], outs), lifted: foreign.map((p) => p.out) };
}
