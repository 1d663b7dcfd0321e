/**
 * Learning rates of the optimisers: a number, a 0-d tensor (a jit argument,
 * so a changing rate does not retrace) or a schedule, a function of the step
 * count evaluated on the optimiser state's step tensor. Inside jit that step
 * is a traced input, so a scheduled step traces once and every later step
 * only changes the number flowing through it, as optax's schedules do.
 */
import { LazygradError } from '../ir';
import { full } from './creation';
import { type OptionRule, describeValue } from './option-check';
import { Tensor } from './tensor';

/** A schedule: the step count (0 at the first update) to the learning rate for that update. */
export type Schedule = (step: Tensor) => Tensor | number;

/** A learning rate: a number, a 0-d tensor, or a schedule of the step count. */
export type LearningRate = number | Tensor | Schedule;

const isRateTensor = (v: unknown): v is Tensor =>
  v instanceof Tensor && v.ndim === 0 && (v.dtype === 'float32' || v.dtype === 'int32');

export const learningRateRule: OptionRule = {
  expected: 'a positive number, a 0-d float32 tensor or a schedule (step: Tensor) => Tensor | number',
  ok: (v) => (typeof v === 'number' ? Number.isFinite(v) && v > 0 : typeof v === 'function' || isRateTensor(v)),
  required: true,
};

export const isSchedule = (lr: LearningRate): lr is Schedule => typeof lr === 'function';

/** What a schedule returned, checked: a finite number or a 0-d numeric tensor (never broadcast into the update). */
function checkedRate(op: string, rate: unknown): Tensor | number {
  if ((typeof rate === 'number' && Number.isFinite(rate)) || isRateTensor(rate)) return rate;
  throw new LazygradError(
    `${op}: the learning-rate schedule returned ${describeValue(rate)}; ` +
      'a schedule must return a finite number or a 0-d float32 tensor',
  );
}

/**
 * Checks a schedule once, when the optimiser is made (at step 0, on a lazy constant that is
 * never computed), so a schedule of the wrong kind fails at the call that passed it in.
 */
export function probeSchedule(op: string, lr: LearningRate): void {
  if (isSchedule(lr)) checkedRate(op, lr(full([], 0)));
}

/** The learning rate for the update at `step` (the count of updates before this one). */
export function learningRateAt(op: string, lr: LearningRate, step: Tensor): Tensor | number {
  return isSchedule(lr) ? checkedRate(op, lr(step)) : lr;
}
