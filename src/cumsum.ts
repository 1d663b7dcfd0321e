/**
 * cumsum(axis): inclusive prefix sums along an axis (numpy's cumsum; no
 * axis: of the flattened tensor). bool sums as int32; int32 sums wrap, as
 * `sum` does.
 *
 * Lowering. There is no scan primitive, and a scan by log2(n) shifted
 * additions (Hillis-Steele) would be a chain that fusion either
 * materialises step by step or inlines into n evaluations per element. The
 * prefix sum is instead a blocked, masked reduction:
 *  - a row of n <= BLOCK elements is one masked sum, out[i] = Σ_j [j <= i] x[j]:
 *    one fused reduction kernel, n terms per element, no n×n buffer;
 *  - a longer row is padded to blocks of BLOCK, each block scanned as above,
 *    and every block offset by the exclusive prefix sum of the block totals,
 *    computed by the same method (recursively, for rows longer than BLOCK²).
 * The work is about BLOCK + 1 terms per element (each level has BLOCK times
 * fewer elements than the one before), O(n · BLOCK) in all, against n²/2 for
 * a triangular matmul: a row of 4,096 takes levels of 4,096, 128 and 4
 * elements, about 33 terms per element instead of 2,048, in a few kernels. Sums run in the order of the masked reductions (within a
 * block, then over block totals), so float32 results differ from a
 * sequential float64 prefix sum by rounding only. The gradient (a reversed
 * prefix sum) comes from autodiff of the same masked reductions.
 */
import { emit } from '../ir';
import { axisOf, binary, cast, pad, reshape, slice, sum, transpose, unsqueeze, where } from './ops';
import { Tensor } from './tensor-class';

/** Elements per block: rows up to this length are one masked reduction. */
const BLOCK = 32;

/** Masked prefix sums of the last axis (length n): inclusive (j <= i) or exclusive (j < i). */
function maskedScan(x: Tensor, exclusive: boolean): Tensor {
  const n = x.shape[x.ndim - 1];
  const rows = new Tensor(emit('iota', [], { shape: [n, n], axis: 0 }));
  const cols = new Tensor(emit('iota', [], { shape: [n, n], axis: 1 }));
  const keep = binary(exclusive ? 'lt' : 'le', cols, rows);
  // [..., n] -> [..., 1, n] broadcast to [..., n(i), n(j)], masked to j <= i, summed over j.
  return sum(where(keep, unsqueeze(x, -2), 0), -1, false);
}

/** Prefix sums of the last axis. */
function scanLast(x: Tensor, exclusive: boolean): Tensor {
  const n = x.shape[x.ndim - 1];
  if (n <= BLOCK) return maskedScan(x, exclusive);
  const lead = x.shape.slice(0, -1);
  const blocks = Math.ceil(n / BLOCK);
  const padded = pad(
    x,
    x.shape.map((_, d) => (d === x.ndim - 1 ? [0, blocks * BLOCK - n] : [0, 0])),
    0,
  );
  const grid = reshape(padded, [...lead, blocks, BLOCK]);
  const within = maskedScan(grid, exclusive);
  const offsets = scanLast(sum(grid, -1, false), true);
  const scanned = reshape(binary('add', within, unsqueeze(offsets, -1)), [...lead, blocks * BLOCK]);
  return slice(
    scanned,
    lead.map(() => null),
    [...lead.map(() => null), n],
  );
}

export function cumsum(x: Tensor, axis?: number): Tensor {
  x._check('cumsum');
  const xs = x._dtype === 'bool' ? cast(x, 'int32') : x;
  if (axis === undefined || axis === null) return cumsum(reshape(xs, [-1]), 0);
  const ax = axisOf('cumsum', axis, xs.ndim);
  const last = xs.ndim - 1;
  if (xs.shape[ax] === 0) return xs;
  // Move the axis last (a view), scan, and move it back.
  const perm = xs.shape.map((_, d) => d).filter((d) => d !== ax);
  perm.push(ax);
  const moved = ax === last ? xs : transpose(xs, perm);
  const scanned = scanLast(moved, false);
  if (ax === last) return scanned;
  const inverse = perm.map((_, d) => perm.indexOf(d));
  return transpose(scanned, inverse);
}
