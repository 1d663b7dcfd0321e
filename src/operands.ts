/**
 * Operands of tensor ops: a JS number or boolean becomes a 0-d tensor of
 * the dtype weak typing gives it next to a tensor, and a value is broadcast
 * to a shape with explicit reshape + expand (the IR broadcasts only 0-d
 * operands implicitly).
 */
import { type DType, type Value, LazygradError, constant, emit } from '../ir';
import { Tensor, type TensorLike } from './tensor-class';

/** The dtype a JS number or boolean takes next to a tensor of dtype `other` (weak typing). */
function weakDType(x: number | boolean, other: DType): DType {
  if (typeof x === 'boolean') return other === 'bool' ? 'bool' : other;
  if (!Number.isInteger(x) || other === 'f32') return 'f32';
  return other === 'bool' ? 'i32' : other;
}

export function scalarTensor(x: number | boolean, dtype: DType): Tensor {
  return new Tensor(constant(typeof x === 'boolean' ? (x ? 1 : 0) : x, dtype));
}

export function toTensor(x: TensorLike, like: DType, op: string): Tensor {
  if (x instanceof Tensor) return x;
  if (typeof x === 'number' || typeof x === 'boolean') return scalarTensor(x, weakDType(x, like));
  throw new LazygradError(`${op}: expected a Tensor, number or boolean operand, got ${typeof x}`);
}

/** Broadcasts a value to `shape` with explicit reshape + expand. */
export function broadcastValue(v: Value, shape: readonly number[]): Value {
  let cur = v;
  if (cur.shape.length < shape.length)
    cur = emit('reshape', [cur], { shape: [...Array(shape.length - cur.shape.length).fill(1), ...cur.shape] });
  if (cur.shape.some((d, i) => d !== shape[i])) cur = emit('expand', [cur], { shape: [...shape] });
  return cur;
}
