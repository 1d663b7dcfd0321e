/** Building nodes: every node passes its op's shape/dtype rule when built. */
import type { DType } from './dtype';
import { GraphError } from './errors';
import { type Attrs, type Graph, Node, type Value } from './graph';
import { opDef } from './ops';
import { type Shape, checkSize } from './shape';

export function makeNode(op: string, inputs: readonly Value[], attrs: Attrs = {}, body?: Graph, data?: unknown): Node {
  const def = opDef(op);
  if (def.arity >= 0 && inputs.length !== def.arity) {
    throw new GraphError(`${op}: expected ${def.arity} operand(s), got ${inputs.length}`);
  }
  const types = def.infer(
    inputs.map((v) => v.type),
    attrs,
    body,
  );
  for (const t of types) checkSize(t.shape, op);
  return new Node(op, inputs, attrs, types, body, data);
}

/** Shorthand for a single-output node's value. */
export function emit(op: string, inputs: readonly Value[], attrs: Attrs = {}): Value {
  return makeNode(op, inputs, attrs).out;
}

export function param(dtype: DType, shape: Shape): Node {
  return makeNode('param', [], { dtype, shape: [...shape] });
}

/** A 0-d constant; int32 values wrap and bool values become 0/1, as stored. */
export function constant(value: number, dtype: DType): Value {
  if (dtype === 'i32') value = value | 0;
  else if (dtype === 'bool') value = value ? 1 : 0;
  return makeNode('const', [], { value, dtype }).out;
}

export function bufferLeaf(dtype: DType, shape: Shape, data: unknown): Value {
  return makeNode('buffer', [], { dtype, shape: [...shape] }, undefined, data).out;
}
