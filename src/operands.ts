/**
 * Operands of tensor ops: a JS number or boolean becomes a 0-d tensor of
 * the dtype weak typing gives it next to a tensor, and a value is broadcast
 * to a shape with explicit reshape + expand (the IR broadcasts only 0-d
 * operands implicitly).
 */
import { type DType, type Value, DTypeError, INT32_MAX, INT32_MIN, LazygradError, constant, emit } from '../ir';
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
  if (typeof x === 'number' || typeof x === 'boolean') {
    const dt = weakDType(x, like);
    // An integer next to an int32 (or bool) tensor is weakly typed int32: one it cannot hold would wrap silently.
    if (dt === 'i32' && typeof x === 'number' && (x < INT32_MIN || x > INT32_MAX))
      throw new DTypeError(
        `${op}: the number ${x} is outside the int32 range [${INT32_MIN}, ${INT32_MAX}] of the ${like === 'bool' ? 'bool (promoted to int32)' : 'int32'} operand; cast the tensor to float32 first (x.cast('float32'))`,
      );
    return scalarTensor(x, dt);
  }
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
