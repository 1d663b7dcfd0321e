/**
 * Options objects of public functions: a misspelt (unknown) key or a value of
 * the wrong type is an error naming the function and the option, never
 * silently ignored. Also how user-supplied values are described in messages
 * (a tensor by its type, and as traced when it is).
 */
import { LazygradError, fmtShape, show } from '../ir';
// The class itself (tensor-class.ts), not tensor.ts: the op modules that tensor.ts installs check options too.
import { Tensor } from './tensor-class';
import { isTraced } from './traced';

/** One option: what it must be (for the message) and the test a given value must pass. */
export interface OptionRule {
  readonly expected: string;
  readonly ok: (v: unknown) => boolean;
  readonly required?: boolean;
}

/** A user-supplied value as a message names it. */
export function describeValue(v: unknown): string {
  if (v instanceof Tensor) {
    const type = `${v.dtype}${fmtShape(v.shape)}`;
    return isTraced(v) ? `a traced tensor ${type}` : `a tensor ${type}`;
  }
  if (typeof v === 'function') return 'a function';
  if (v === undefined) return 'undefined';
  if (typeof v === 'string') return `the string ${JSON.stringify(v)}`;
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  if (typeof v === 'bigint') return `the bigint ${v}n`;
  // Containers by their outline: JSON of a tensor inside one would print its internals.
  if (Array.isArray(v))
    return v.every((x) => x === null || typeof x !== 'object') && v.length <= 8
      ? show(v)
      : `an array of ${v.length} item${v.length === 1 ? '' : 's'}`;
  if (isPlainObject(v)) return `an object with keys {${Object.keys(v).join(', ')}}`;
  if (v !== null && typeof v === 'object') return `a ${v.constructor?.name ?? 'object'}`;
  return show(v);
}

/** Edit distance, to suggest the option a misspelt key meant. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return row[b.length];
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (x === null || typeof x !== 'object') return false;
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

/**
 * Checks an options object against its rules and returns it. `undefined`
 * stands for "no options"; an option set to `undefined` counts as absent.
 */
export function checkOptions<T extends object>(
  op: string,
  opts: unknown,
  rules: { readonly [K in keyof T]-?: OptionRule },
): T {
  const names = Object.keys(rules);
  const list = names.join(', ');
  if (opts === undefined) opts = {};
  if (!isPlainObject(opts))
    throw new LazygradError(`${op}: expected an options object with keys among {${list}}, got ${describeValue(opts)}`);
  for (const key of Object.keys(opts)) {
    if (key in rules) continue;
    const dist = (n: string) => distance(n.toLowerCase(), key.toLowerCase());
    const near = names.filter((n) => dist(n) <= 2).sort((a, b) => dist(a) - dist(b));
    const hint = near.length ? `; did you mean '${near[0]}'?` : '';
    throw new LazygradError(`${op}: unknown option '${key}' (options are: ${list})${hint}`);
  }
  for (const key of names) {
    const rule = (rules as Record<string, OptionRule>)[key];
    const v = opts[key];
    if (v === undefined) {
      if (rule.required) throw new LazygradError(`${op}: option ${key} is required (${rule.expected})`);
      continue;
    }
    if (!rule.ok(v)) throw new LazygradError(`${op}: option ${key} must be ${rule.expected}, got ${describeValue(v)}`);
  }
  return opts as T;
}

// Rules shared by several functions.
export const rules = {
  positiveInt: { expected: 'a positive integer', ok: (v: unknown) => Number.isInteger(v) && (v as number) > 0 },
  nonNegativeInt: { expected: 'a non-negative integer', ok: (v: unknown) => Number.isInteger(v) && (v as number) >= 0 },
  nonNegative: {
    expected: 'a finite number >= 0',
    ok: (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v >= 0,
  },
  unitInterval: {
    expected: 'a number in [0, 1)',
    ok: (v: unknown) => typeof v === 'number' && v >= 0 && v < 1,
  },
  boolean: { expected: 'true or false', ok: (v: unknown) => typeof v === 'boolean' },
  dtype: {
    expected: "'float32', 'int32' or 'bool'",
    ok: (v: unknown) => v === 'float32' || v === 'int32' || v === 'bool',
  },
} satisfies Record<string, OptionRule>;
