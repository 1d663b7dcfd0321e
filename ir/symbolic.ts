/**
 * Symbolic index arithmetic for kernels: affine sums of loop variables with
 * floor division and modulo by constants. Views (reshape, permute, expand,
 * slice, pad, concat) become such expressions; the simplifier folds the
 * div/mod that contiguous reshapes introduce, so generated code stays flat.
 * Expressions are interned, so equal expressions are the same object.
 *
 * A `value` atom is an integer the kernel computes at run time (the index
 * operand of an indirect load, `take`/`gather`): opaque here, with the loop
 * variables it depends on and a range [0, size - 1] that its builder
 * guarantees (ir/kernel.ts clamps it), so range analysis, div/mod folding
 * and bounds checks treat it like a loop variable of that extent.
 */

export interface LoopVar {
  readonly id: number;
  readonly size: number;
}

export type Idx =
  | { readonly kind: 'num'; readonly value: number; readonly key: string }
  | { readonly kind: 'var'; readonly variable: LoopVar; readonly key: string }
  | { readonly kind: 'add'; readonly terms: readonly Idx[]; readonly key: string }
  | { readonly kind: 'mul'; readonly operand: Idx; readonly constant: number; readonly key: string }
  | { readonly kind: 'div'; readonly operand: Idx; readonly constant: number; readonly key: string }
  | { readonly kind: 'mod'; readonly operand: Idx; readonly constant: number; readonly key: string }
  | ValueIdx;

/** A data-dependent index atom: `source` (a kernel expression, opaque here) computed over loop variables `vars`, in [0, size - 1]. */
export interface ValueIdx {
  readonly kind: 'value';
  readonly source: object;
  readonly vars: readonly LoopVar[];
  readonly size: number;
  readonly key: string;
}

const interned = new Map<string, Idx>();
function intern<T extends Idx>(x: T): T {
  const hit = interned.get(x.key);
  if (hit) return hit as T;
  if (interned.size > 200_000) interned.clear();
  interned.set(x.key, x);
  return x;
}

const loopVars = new Map<string, LoopVar>();

/** The loop variable with this id and extent (interned, so equal ids and sizes are one object). */
export function loopVar(id: number, size: number): LoopVar {
  const key = `${id}_${size}`;
  let x = loopVars.get(key);
  if (!x) loopVars.set(key, (x = { id, size }));
  return x;
}

/** A serial number per value source: the atom's key must tell apart equal-looking expressions of different kernels. */
const sourceSerials = new WeakMap<object, number>();
let nextSourceSerial = 0;

/**
 * The index atom whose value `source` computes at run time, depending on `vars`; the caller
 * guarantees the value lies in [0, size - 1] (size >= 1).
 */
export function valueIdx(source: object, vars: Iterable<LoopVar>, size: number): Idx {
  let serial = sourceSerials.get(source);
  if (serial === undefined) sourceSerials.set(source, (serial = nextSourceSerial++));
  const sorted = [...vars].sort((a, b) => a.id - b.id || a.size - b.size);
  return intern({ kind: 'value', source, vars: sorted, size, key: `@${serial}<${size}` });
}

export const num = (v: number): Idx => intern({ kind: 'num', value: v, key: String(v) });
export const idxVar = (x: LoopVar): Idx =>
  intern({ kind: 'var', variable: loopVar(x.id, x.size), key: `v${x.id}_${x.size}` });

/** Inclusive [min, max] of an expression over its variables' ranges. */
export function range(e: Idx): [number, number] {
  switch (e.kind) {
    case 'num':
      return [e.value, e.value];
    case 'var':
      return [0, Math.max(0, e.variable.size - 1)];
    case 'value':
      return [0, e.size - 1];
    case 'add': {
      let lo = 0,
        hi = 0;
      for (const t of e.terms) {
        const [a, b] = range(t);
        lo += a;
        hi += b;
      }
      return [lo, hi];
    }
    case 'mul': {
      const [a, b] = range(e.operand);
      return e.constant >= 0 ? [a * e.constant, b * e.constant] : [b * e.constant, a * e.constant];
    }
    case 'div': {
      const [a, b] = range(e.operand);
      return [Math.floor(a / e.constant), Math.floor(b / e.constant)];
    }
    case 'mod': {
      const [a, b] = range(e.operand);
      if (a >= 0 && b < e.constant && Math.floor(a / e.constant) === Math.floor(b / e.constant))
        return [a % e.constant, b % e.constant];
      return [0, e.constant - 1];
    }
  }
}

/** Affine view: sum of coeff * atom plus a constant. Atoms are vars, divs, mods. */
function affine(e: Idx): { atoms: Map<Idx, number>; c: number } {
  const atoms = new Map<Idx, number>();
  let c = 0;
  const walk = (x: Idx, m: number) => {
    if (x.kind === 'num') c += m * x.value;
    else if (x.kind === 'add') x.terms.forEach((t) => walk(t, m));
    else if (x.kind === 'mul') walk(x.operand, m * x.constant);
    else atoms.set(x, (atoms.get(x) ?? 0) + m);
  };
  walk(e, 1);
  return { atoms, c };
}

function build(atoms: Map<Idx, number>, c: number): Idx {
  // k*c*floor(y/c) + k*(y mod c) = k*y (div() gives floor(y/c) its canonical, interned form).
  for (const [m, mm] of atoms) {
    if (m.kind !== 'mod' || mm === 0) continue;
    const d = div(m.operand, m.constant);
    if (atoms.get(d) !== mm * m.constant) continue;
    atoms = new Map(atoms);
    atoms.delete(d);
    atoms.delete(m);
    const y = affine(m.operand);
    for (const [k, v] of y.atoms) atoms.set(k, (atoms.get(k) ?? 0) + v * mm);
    return build(atoms, c + y.c * mm);
  }
  const terms: Idx[] = [];
  const sorted = [...atoms.entries()]
    .filter(([, m]) => m !== 0)
    .sort((a, b) => (a[0].key < b[0].key ? -1 : a[0].key > b[0].key ? 1 : 0));
  for (const [a, m] of sorted)
    terms.push(m === 1 ? a : intern({ kind: 'mul', operand: a, constant: m, key: `${a.key}*${m}` }));
  if (c !== 0) terms.push(num(c));
  if (terms.length === 0) return num(0);
  if (terms.length === 1) return terms[0];
  return intern({ kind: 'add', terms, key: `(${terms.map((t) => t.key).join('+')})` });
}

export function add(...xs: Idx[]): Idx {
  const atoms = new Map<Idx, number>();
  let c = 0;
  for (const x of xs) {
    const a = affine(x);
    c += a.c;
    for (const [k, m] of a.atoms) atoms.set(k, (atoms.get(k) ?? 0) + m);
  }
  return build(atoms, c);
}

export function mul(x: Idx, c: number): Idx {
  if (c === 0) return num(0);
  const a = affine(x);
  for (const [k, m] of a.atoms) a.atoms.set(k, m * c);
  return build(a.atoms, a.c * c);
}

/** Splits an affine view as g * q + r, r holding the atoms g does not divide and the constant mod g. */
function splitBy(a: { atoms: Map<Idx, number>; c: number }, g: number): { q: Idx; r: Idx } {
  const qa = new Map<Idx, number>();
  const ra = new Map<Idx, number>();
  for (const [k, m] of a.atoms) (m % g === 0 ? qa : ra).set(k, m % g === 0 ? m / g : m);
  const cq = Math.floor(a.c / g);
  return { q: build(qa, cq), r: build(ra, a.c - cq * g) };
}

const inRange = (e: Idx, c: number) => {
  const [lo, hi] = range(e);
  return lo >= 0 && hi < c;
};

/** Divisors of c between 2 and c - 1, largest first (trial division up to sqrt(c)). */
function divisors(c: number): number[] {
  const out: number[] = [];
  for (let g = 2; g * g <= c; g++) {
    if (c % g !== 0) continue;
    out.push(g);
    if (g * g !== c) out.push(c / g);
  }
  return out.sort((p, q) => q - p);
}

/** Floor division by a positive constant, simplified where the terms split cleanly. */
export function div(x: Idx, c: number): Idx {
  if (c === 1) return x;
  if (inRange(x, c)) return num(0);
  if (x.kind === 'div') return div(x.operand, x.constant * c);
  const a = affine(x);
  // x = c*q + r exactly, so floor(x / c) = q + floor(r / c).
  const { q, r } = splitBy(a, c);
  if (inRange(r, c)) return q;
  if (r !== x) return add(q, div(r, c));
  // A common factor g | c with x = g*q + r, 0 <= r < g: floor(x / c) = floor(q / (c / g)).
  for (const g of divisors(c)) {
    const s = splitBy(a, g);
    if (inRange(s.r, g)) return div(s.q, c / g);
  }
  return intern({ kind: 'div', operand: x, constant: c, key: `(${x.key}/${c})` });
}

/** Non-negative modulo by a positive constant, simplified by ranges. */
export function mod(x: Idx, c: number): Idx {
  if (c === 1) return num(0);
  const a = affine(x);
  const rest = new Map<Idx, number>();
  for (const [k, m] of a.atoms) if (m % c !== 0) rest.set(k, m);
  const c0 = ((a.c % c) + c) % c;
  let r = build(rest, c0);
  const [lo, hi] = range(r);
  if (lo >= 0 && hi < c) return r;
  // A common factor g | c with r = g*q + s, 0 <= s < g: r mod c = g * (q mod (c / g)) + s.
  for (const g of divisors(c)) {
    const sp = splitBy(affine(r), g);
    if (inRange(sp.r, g)) return add(mul(mod(sp.q, c / g), g), sp.r);
  }
  // Kernels render mod as `%`, which keeps the sign: keep the argument non-negative.
  if (lo < 0) r = build(rest, c0 + Math.ceil(-lo / c) * c);
  return intern({ kind: 'mod', operand: r, constant: c, key: `(${r.key}%${c})` });
}

/** Variables an index expression depends on. */
export function idxVars(e: Idx, out: Set<LoopVar> = new Set()): Set<LoopVar> {
  switch (e.kind) {
    case 'num':
      break;
    case 'var':
      out.add(e.variable);
      break;
    case 'value':
      for (const x of e.vars) out.add(x);
      break;
    case 'add':
      e.terms.forEach((t) => idxVars(t, out));
      break;
    default:
      idxVars(e.operand, out);
  }
  return out;
}

/**
 * `e` with loop variable `from` replaced by `to`, re-simplified (so equal results are the same object).
 * A value atom computed from `from` cannot be renamed here (its value is an expression): callers check
 * `valueAtoms` first.
 */
export function substitute(e: Idx, from: LoopVar, to: LoopVar): Idx {
  switch (e.kind) {
    case 'num':
      return e;
    case 'value':
      if (e.vars.some((x) => x.id === from.id && x.size === from.size))
        throw new Error(`substitute: index value ${e.key} depends on loop variable ${from.id}`);
      return e;
    case 'var':
      return e.variable.id === from.id && e.variable.size === from.size ? idxVar(to) : e;
    case 'add':
      return add(...e.terms.map((t) => substitute(t, from, to)));
    case 'mul':
      return mul(substitute(e.operand, from, to), e.constant);
    case 'div':
      return div(substitute(e.operand, from, to), e.constant);
    case 'mod':
      return mod(substitute(e.operand, from, to), e.constant);
  }
}

/** Row-major flat offset of a multi-index into a contiguous array of `shape`. */
export function flatIndex(idx: readonly Idx[], shape: readonly number[]): Idx {
  let acc = num(0);
  let stride = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1) acc = add(acc, mul(idx[d], stride));
    stride *= shape[d];
  }
  return acc;
}

/** Inverse of flatIndex: the multi-index of `flat` in `shape`. */
export function unflatten(flat: Idx, shape: readonly number[]): Idx[] {
  const out: Idx[] = new Array(shape.length);
  let stride = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    out[d] = shape[d] === 1 ? num(0) : mod(div(flat, stride), shape[d]);
    stride *= shape[d];
  }
  return out;
}

/** The value atoms of an index expression, each once, in order of first appearance. */
export function valueAtoms(e: Idx, out: ValueIdx[] = []): ValueIdx[] {
  switch (e.kind) {
    case 'num':
    case 'var':
      break;
    case 'value':
      if (!out.includes(e)) out.push(e);
      break;
    case 'add':
      e.terms.forEach((t) => valueAtoms(t, out));
      break;
    default:
      valueAtoms(e.operand, out);
  }
  return out;
}

/** `e` with every value atom replaced by `f(atom)`, re-simplified. */
export function mapValueAtoms(e: Idx, f: (atom: ValueIdx) => Idx): Idx {
  switch (e.kind) {
    case 'num':
    case 'var':
      return e;
    case 'value':
      return f(e);
    case 'add':
      return add(...e.terms.map((t) => mapValueAtoms(t, f)));
    case 'mul':
      return mul(mapValueAtoms(e.operand, f), e.constant);
    case 'div':
      return div(mapValueAtoms(e.operand, f), e.constant);
    case 'mod':
      return mod(mapValueAtoms(e.operand, f), e.constant);
  }
}
