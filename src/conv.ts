/**
 * Convolution and pooling as compositions of primitives. `windows` builds
 * the sliding-window view of an axis from expand, reshape, pad and a strided
 * slice only, so the lowering turns it into plain index arithmetic
 * (x[i*stride + j]) and no im2col buffer is ever materialised.
 */
import { ShapeError, DTypeError, emit, fmtShape, show } from '../ir';
import { Tensor } from './tensor';
import { apply, stack } from './ops';
import { checkOptions, rules } from './option-check';

/**
 * Sliding windows along `axis`: [..., n, ...] -> [..., o, ..., k] with the
 * window axis appended last, out[..., i, ..., j] = x[..., i*stride + j, ...].
 * When the windows tile the axis (k == stride) this is a reshape; otherwise
 * the k strided slices x[j :: stride] are stacked. Either way the lowering
 * sees plain index arithmetic, and no im2col buffer is materialised unless
 * fusion decides to keep one.
 */
function windows(x: Tensor, axis: number, k: number, stride: number): Tensor {
  const n = x.shape[axis];
  const o = Math.floor((n - k) / stride) + 1;
  const nd = x.ndim;
  const moveLast = (t: Tensor, from: number) =>
    t.transpose([...Array(t.ndim).keys()].filter((i) => i !== from).concat(from));
  if (k === stride) {
    // Trim to o*k, split the axis into [o, k], move k last.
    const starts = x.shape.map(() => 0);
    const ends = x.shape.map((d, i) => (i === axis ? o * k : d));
    const split = x.slice(starts, ends).reshape([...x.shape.slice(0, axis), o, k, ...x.shape.slice(axis + 1)]);
    return moveLast(split, axis + 1);
  }
  const pieces = Array.from({ length: k }, (_, j) => {
    const starts = x.shape.map((_, i) => (i === axis ? j : 0));
    const ends = x.shape.map((d, i) => (i === axis ? j + (o - 1) * stride + 1 : d));
    const steps = x.shape.map((_, i) => (i === axis ? stride : 1));
    return x.slice(starts, ends, steps);
  });
  return stack(pieces, nd);
}

interface ConvOptions {
  stride?: number;
  padding?: number;
}

/** The options object: unknown keys and ill-typed values are errors naming the option. */
function convOptions(op: string, opts: unknown): ConvOptions {
  return checkOptions<ConvOptions>(op, opts, { stride: rules.positiveInt, padding: rules.nonNegativeInt });
}

/** An input or weight tensor of rank 4, or a ShapeError naming the layout expected. */
function check4d(op: string, t: unknown, what: string, layout: string): Tensor {
  if (!(t instanceof Tensor)) throw new ShapeError(`${op}: expected a 4-D ${what} tensor ${layout}, got ${show(t)}`);
  if (t.ndim !== 4)
    throw new ShapeError(
      `${op}: expected a 4-D ${what} ${layout}, got ${fmtShape(t.shape)}` +
        (what === 'NCHW input' && t.ndim === 3 ? ' (add a batch axis: x.unsqueeze(0))' : ''),
    );
  return t;
}

function checkInt(v: number, name: string, op: string, min: number): number {
  if (!Number.isInteger(v) || v < min)
    throw new ShapeError(`${op}: ${name} must be an integer >= ${min}, got ${show(v)}`);
  return v;
}

/** [N, C, H, W] -> windows [N, C, OH, OW, KH, KW] of a padded input. */
function windows2d(
  x: Tensor,
  kh: number,
  kw: number,
  stride: number,
  padding: number,
  padValue: number,
  op: string,
): Tensor {
  check4d(op, x, 'NCHW input', '[N, C, H, W]');
  const [, , h, w] = x.shape;
  if (h + 2 * padding < kh || w + 2 * padding < kw) {
    throw new ShapeError(
      `${op}: kernel ${kh}x${kw} is larger than the padded input ${h + 2 * padding}x${w + 2 * padding} (input ${fmtShape(x.shape)})`,
    );
  }
  const xp = padding
    ? x.pad(
        [
          [0, 0],
          [0, 0],
          [padding, padding],
          [padding, padding],
        ],
        padValue,
      )
    : x;
  // windows over H: [N, C, OH, W, KH]; then over W (axis 3): [N, C, OH, OW, KH, KW].
  return windows(windows(xp, 2, kh, stride), 3, kw, stride);
}

export function conv2d(x: Tensor, w: Tensor, opts: ConvOptions = {}): Tensor {
  opts = convOptions('conv2d', opts);
  const stride = checkInt(opts.stride ?? 1, 'stride', 'conv2d', 1);
  const padding = checkInt(opts.padding ?? 0, 'padding', 'conv2d', 0);
  check4d('conv2d', x, 'NCHW input', '[N, C, H, W]');
  check4d('conv2d', w, 'OIHW weight', '[O, C, KH, KW]');
  if (x.shape[1] !== w.shape[1]) {
    throw new ShapeError(
      `conv2d: input ${fmtShape(x.shape)} (NCHW) has ${x.shape[1]} channels but weights ${fmtShape(w.shape)} (OIHW) expect ${w.shape[1]}`,
    );
  }
  if (x._dtype !== 'f32' || w._dtype !== 'f32')
    throw new DTypeError(`conv2d: expected float32 input and weights, got ${x.dtype} and ${w.dtype}`);
  const [, , kh, kw] = w.shape;
  const win = windows2d(x, kh, kw, stride, padding, 0, 'conv2d');
  // out[n, oh, ow, o] = sum over c, kh, kw of win[n, c, oh, ow, kh, kw] * w[o, c, kh, kw]
  const out = apply('conv2d', [win, w], (a, b) =>
    emit('dot', [a, b], {
      batch: [[], []],
      contract: [
        [1, 4, 5],
        [1, 2, 3],
      ],
    }),
  );
  return out.transpose([0, 3, 1, 2]);
}

function poolArgs(kernel: number, opts: ConvOptions, op: string): { k: number; stride: number; padding: number } {
  opts = convOptions(op, opts);
  const k = checkInt(kernel, 'kernel', op, 1);
  const stride = checkInt(opts.stride ?? k, 'stride', op, 1);
  const padding = checkInt(opts.padding ?? 0, 'padding', op, 0);
  if (padding * 2 > k) throw new ShapeError(`${op}: padding ${padding} must be at most half the kernel size ${k}`);
  return { k, stride, padding };
}

export function maxPool2d(x: Tensor, kernel: number, opts: ConvOptions = {}): Tensor {
  const { k, stride, padding } = poolArgs(kernel, opts, 'maxPool2d');
  return windows2d(x, k, k, stride, padding, -Infinity, 'maxPool2d').max([4, 5]);
}

export function avgPool2d(x: Tensor, kernel: number, opts: ConvOptions = {}): Tensor {
  const { k, stride, padding } = poolArgs(kernel, opts, 'avgPool2d');
  // Padding counts as zeros in the average (PyTorch's default count_include_pad).
  return windows2d(x.cast('float32'), k, k, stride, padding, 0, 'avgPool2d')
    .sum([4, 5])
    .div(k * k);
}
