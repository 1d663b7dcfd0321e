/**
 * Names as fixed-length token sequences for a causal language model: the
 * input is the boundary token then the name's characters, the target the
 * characters then the boundary token (so position t predicts character t+1),
 * both padded to the context length; the mask is 1 on the name's positions
 * and 0 on padding, so padding never counts in a loss. Batches come as
 * tensors in a seeded order.
 */
import { LazygradError } from '../../ir';
import { fromValues } from '../creation';
import type { Tensor } from '../tensor';
import { BOUNDARY, type CharTokenizer } from './char-tokenizer';
import { seededShuffle } from './seeded-shuffle';

export interface SequenceSet {
  /** Input ids, row-major [count, context]. */
  readonly inputs: Int32Array;
  /** Target ids (the inputs shifted left by one), [count, context]. */
  readonly targets: Int32Array;
  /** 1 where a target is part of a name (its characters and its end), 0 on padding. */
  readonly mask: Float32Array;
  readonly count: number;
  readonly context: number;
}

export interface SequenceBatch {
  /** int32 [B, context] */
  inputs: Tensor;
  /** int32 [B, context] */
  targets: Tensor;
  /** float32 [B, context] */
  mask: Tensor;
}

/** The shortest context that holds every name with its boundary token. */
export function contextFor(names: readonly string[]): number {
  return names.reduce((longest, n) => Math.max(longest, [...n].length), 0) + 1;
}

export function encodeNames(names: readonly string[], tokenizer: CharTokenizer, context: number): SequenceSet {
  const count = names.length;
  const inputs = new Int32Array(count * context).fill(BOUNDARY);
  const targets = new Int32Array(count * context).fill(BOUNDARY);
  const mask = new Float32Array(count * context);
  names.forEach((name, row) => {
    const ids = tokenizer.encode(name);
    if (ids.length + 1 > context)
      throw new LazygradError(
        `encodeNames: ${JSON.stringify(name)} has ${ids.length} characters; a context of ${context} holds at most ${context - 1}`,
      );
    const at = row * context;
    inputs.set(ids, at + 1);
    targets.set(ids, at);
    mask.fill(1, at, at + ids.length + 1);
  });
  return { inputs, targets, mask, count, context };
}

export interface BatchOptions {
  /** Shuffle the rows with this seed (default: in order). */
  seed?: number;
  /**
   * What to do with a last partial batch: 'drop' it (default) or 'pad' it with
   * empty rows (mask 0), so every batch has one shape and a jitted function traces once.
   */
  remainder?: 'drop' | 'pad';
}

export function* sequenceBatches(
  set: SequenceSet,
  batchSize: number,
  opts: BatchOptions = {},
): Generator<SequenceBatch> {
  if (!Number.isInteger(batchSize) || batchSize <= 0)
    throw new LazygradError(`sequenceBatches: batchSize must be a positive integer, got ${batchSize}`);
  const rows = Array.from({ length: set.count }, (_, i) => i);
  const order = opts.seed === undefined ? rows : seededShuffle(rows, opts.seed);
  const { context: T } = set;
  for (let start = 0; start < set.count; start += batchSize) {
    const n = Math.min(batchSize, set.count - start);
    if (n < batchSize && (opts.remainder ?? 'drop') === 'drop') break;
    const inputs = new Int32Array(batchSize * T).fill(BOUNDARY);
    const targets = new Int32Array(batchSize * T).fill(BOUNDARY);
    const mask = new Float32Array(batchSize * T);
    for (let i = 0; i < n; i++) {
      const from = order[start + i] * T;
      inputs.set(set.inputs.subarray(from, from + T), i * T);
      targets.set(set.targets.subarray(from, from + T), i * T);
      mask.set(set.mask.subarray(from, from + T), i * T);
    }
    const shape = [batchSize, T];
    yield {
      inputs: fromValues(inputs, shape, 'i32'),
      targets: fromValues(targets, shape, 'i32'),
      mask: fromValues(mask, shape, 'f32'),
    };
  }
}
