/**
 * Dropout: zeroes each element with probability `rate` and scales the rest
 * by 1 / (1 - rate), so the expected value is unchanged. The mask comes from
 * the seeded generator (rand), so under jit every call draws a fresh one
 * (the generator's key is an implicit input of the jitted program), and
 * runs are reproducible under manualSeed.
 */
import { LazygradError } from '../ir';
import { rand } from './creation';
import { needFloatTensor } from './nn-checks';
import { checkOptions, describeValue, rules } from './option-check';
import { where } from './ops';
import type { Tensor } from './tensor';

export interface DropoutOptions {
  /** false: the identity (evaluation); default true. */
  train?: boolean;
}

const DROPOUT_OPTIONS = { train: rules.boolean };

export function dropout(x: Tensor, rate: number, opts: DropoutOptions = {}): Tensor {
  const op = 'nn.dropout';
  const { train = true } = checkOptions<DropoutOptions>(op, opts, DROPOUT_OPTIONS);
  needFloatTensor(x, 'the input x', op);
  if (typeof rate !== 'number' || !(rate >= 0 && rate < 1))
    throw new LazygradError(
      `${op}: rate must be a number in [0, 1) (the probability of dropping an element), got ${describeValue(rate)}`,
    );
  if (!train || rate === 0) return x;
  // A uniform u in [0, 1) is >= rate with probability 1 - rate: keep those elements.
  const keep = rand(x.shape).ge(rate);
  return where(keep, x.mul(1 / (1 - rate)), 0);
}
