/**
 * Scaled dot-product attention: softmax(q kᵀ / √d) v over operands
 * [..., T, d] (batch and head axes broadcast, as matmul's). A bool mask
 * (broadcast to the scores [..., Tq, Tk]) keeps the scores where it is true;
 * `causal` keeps key j for query i only where j <= i (PyTorch's is_causal,
 * aligned at the top left). A masked score is -Infinity, so it gets weight
 * exactly 0 and no gradient; a query whose every key is masked gets NaN, as
 * in PyTorch.
 *
 * The scale and the mask are the epilogue of the scores' dot, and the
 * softmax is one row kernel on loop backends (the row's max, its sum of
 * exponentials kept in a row cache, then the division), before the dot with v.
 */
import { DTypeError, ShapeError, broadcastShapes, emit, fmtShape } from '../ir';
import { needFloatTensor } from './nn-checks';
import { checkOptions, describeValue, rules } from './option-check';
import { guard, where } from './ops';
import { Tensor } from './tensor';

export interface AttentionOptions {
  /** bool, broadcast to [..., Tq, Tk]: true keeps a score. */
  mask?: Tensor;
  /** Mask the future: query i sees keys 0..i. */
  causal?: boolean;
}

const ATTENTION_OPTIONS = {
  mask: { expected: 'a bool tensor', ok: (v: unknown) => v instanceof Tensor },
  causal: rules.boolean,
};

const lastTwo = (t: Tensor) => t.shape.slice(-2);

export function attention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): Tensor {
  const op = 'nn.attention';
  const { mask, causal = false } = checkOptions<AttentionOptions>(op, opts, ATTENTION_OPTIONS);
  needFloatTensor(q, 'q', op);
  needFloatTensor(k, 'k', op);
  needFloatTensor(v, 'v', op);
  const shapes = `q ${fmtShape(q.shape)}, k ${fmtShape(k.shape)}, v ${fmtShape(v.shape)}`;
  if (q.ndim < 2 || k.ndim < 2 || v.ndim < 2)
    throw new ShapeError(`${op}: q, k and v must be [..., T, d] (at least 2-D), got ${shapes}`);
  const [tq, d] = lastTwo(q);
  const [tk, dk] = lastTwo(k);
  if (dk !== d) throw new ShapeError(`${op}: q and k must have the same last axis d, got ${shapes}`);
  if (v.shape[v.ndim - 2] !== tk)
    throw new ShapeError(`${op}: k and v must have the same number of keys (axis -2), got ${shapes}`);
  const scoreShape = broadcastShapes(q.shape.slice(0, -2), k.shape.slice(0, -2));
  if (!scoreShape || !broadcastShapes(scoreShape, v.shape.slice(0, -2)))
    throw new ShapeError(`${op}: the batch axes (all but the last two) do not broadcast: ${shapes}`);
  const scores = [...scoreShape, tq, tk];
  if (mask !== undefined) {
    if (mask.dtype !== 'bool')
      throw new DTypeError(`${op}: mask must be a bool tensor (true keeps a score), got ${describeValue(mask)}`);
    const joint = broadcastShapes(mask.shape, scores);
    if (!joint || joint.some((n, i) => n !== scores[i]))
      throw new ShapeError(
        `${op}: mask ${fmtShape(mask.shape)} does not broadcast to the scores ${fmtShape(scores)} ([..., Tq, Tk] for ${shapes})`,
      );
  }
  return guard(op, () => {
    let keep: Tensor | undefined = mask;
    if (causal) {
      const rows = new Tensor(emit('iota', [], { shape: [tq, tk], axis: 0 }));
      const cols = new Tensor(emit('iota', [], { shape: [tq, tk], axis: 1 }));
      const past = cols.le(rows);
      keep = keep ? keep.logicalAnd(past) : past;
    }
    const batchAxes = k.shape.slice(0, -2).map((_, i) => i);
    const kT = k.transpose([...batchAxes, k.ndim - 1, k.ndim - 2]);
    let s = q.matmul(kT).mul(1 / Math.sqrt(d));
    if (keep) s = where(keep, s, -Infinity);
    return s.softmax(-1).matmul(v);
  });
}
