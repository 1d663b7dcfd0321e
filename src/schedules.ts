/**
 * Learning-rate schedules with optax's semantics (`optim.schedules.*`): each
 * returns a function of the step count, 0 at the first update, built from
 * tensor ops so that inside jit it is part of the traced step (the step is a
 * traced input: one trace serves every step). Called with a number, a
 * schedule gives a 0-d tensor, handy for plotting one.
 */
import { LazygradError } from '../ir';
import { full } from './creation';
import type { Schedule } from './learning-rate';
import { describeValue } from './option-check';
import { where } from './ops';
import { Tensor } from './tensor';

export type { Schedule } from './learning-rate';

/** A schedule's value at a step, as a 0-d tensor; the step may be a number or a 0-d tensor. */
export type ScheduleFn = (step: Tensor | number) => Tensor;

function checkValue(op: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
    throw new LazygradError(`${op}: ${name} must be a finite number >= 0, got ${describeValue(v)}`);
  return v;
}

function checkSteps(op: string, name: string, v: unknown, min: number): number {
  if (!Number.isInteger(v) || (v as number) < min)
    throw new LazygradError(
      `${op}: ${name} must be ${min === 0 ? 'a non-negative' : 'a positive'} integer, got ${describeValue(v)}`,
    );
  return v as number;
}

function stepTensor(op: string, step: unknown): Tensor {
  if (typeof step === 'number' && Number.isFinite(step)) return full([], step);
  if (step instanceof Tensor && step.ndim === 0 && step.dtype !== 'bool') return step;
  throw new LazygradError(`${op}: the step must be a number or a 0-d tensor, got ${describeValue(step)}`);
}

/** Wraps a formula on the step tensor as a schedule that also takes numbers. */
const schedule =
  (op: string, formula: (step: Tensor) => Tensor): ScheduleFn & Schedule =>
  (step: Tensor | number) =>
    formula(stepTensor(op, step));

/** The same value at every step (optax constant_schedule). */
export function constant(value: number): ScheduleFn & Schedule {
  const op = 'optim.schedules.constant';
  const v = checkValue(op, 'value', value);
  return schedule(op, () => full([], v));
}

/**
 * From `from` at step 0 to `to` at step `steps`, linearly, then `to` (optax linear_schedule:
 * (from - to) * (1 - min(step, steps) / steps) + to).
 */
export function linear(from: number, to: number, steps: number): ScheduleFn & Schedule {
  const op = 'optim.schedules.linear';
  const a = checkValue(op, 'from', from);
  const b = checkValue(op, 'to', to);
  const n = checkSteps(op, 'steps', steps, 1);
  return schedule(op, (step) => linearAt(step, a, b, n));
}

function linearAt(step: Tensor, from: number, to: number, steps: number): Tensor {
  const left = step.maximum(0).minimum(steps).div(steps).neg().add(1);
  return left.mul(from - to).add(to);
}

/**
 * Cosine decay from `value` at step 0 to 0 at step `steps`, then 0 (optax cosine_decay_schedule
 * with alpha 0: value * (1 + cos(pi * min(step, steps) / steps)) / 2).
 */
export function cosine(value: number, steps: number): ScheduleFn & Schedule {
  const op = 'optim.schedules.cosine';
  const v = checkValue(op, 'value', value);
  const n = checkSteps(op, 'steps', steps, 1);
  return schedule(op, (step) => cosineAt(step, v, n));
}

function cosineAt(step: Tensor, value: number, steps: number): Tensor {
  return step
    .minimum(steps)
    .mul(Math.PI / steps)
    .cos()
    .add(1)
    .mul(value / 2);
}

/**
 * Linear warm-up from 0 to `peak` over `warmup` steps, then cosine decay to 0 at step `steps`
 * (optax warmup_cosine_decay_schedule with init and end value 0): `steps` counts the warm-up,
 * so the decay lasts `steps - warmup` steps, and step 0 has rate 0 when there is a warm-up.
 */
export function warmupCosine(peak: number, warmup: number, steps: number): ScheduleFn & Schedule {
  const op = 'optim.schedules.warmupCosine';
  const p = checkValue(op, 'peak', peak);
  const w = checkSteps(op, 'warmup', warmup, 0);
  const n = checkSteps(op, 'steps', steps, 1);
  if (n <= w)
    throw new LazygradError(
      `${op}: steps (${n}) must be greater than warmup (${w}): steps counts the warm-up too, as in optax`,
    );
  if (w === 0) return schedule(op, (step) => cosineAt(step, p, n));
  return schedule(op, (step) => where(step.lt(w), linearAt(step, 0, p, w), cosineAt(step.sub(w), p, n - w)));
}
