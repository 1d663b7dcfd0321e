/**
 * Row caches. A row kernel that reduces over a row and then writes that row
 * (softmax: the sum of exp(x - max), then exp(x - max) / sum) would evaluate
 * a costly value twice per element: once inside the reduction loop and once
 * inside the output loop that follows it. A loop backend can instead store
 * the value in a row-long scratch array as the reduction computes it and
 * read it back in the output loop, as a hand-written softmax does.
 *
 * `rowCaches` finds those pairs in a kernel's expressions. Fusion (which
 * keeps such a value inside the kernel rather than storing it to memory)
 * and code generation (which emits the scratch array) ask the same
 * question, so they always agree.
 */
import { type Expr, exprArgs, freeVars } from './kernel';
import { type LoopVar, substitute, valueAtoms } from './symbolic';

/** Elementwise ops costly enough that computing an element twice is worse than a store and a load. */
export const TRANSCENDENTAL_OPS: ReadonlySet<string> = new Set([
  'exp',
  'log',
  'tanh',
  'sigmoid',
  'sin',
  'cos',
  'pow',
  'log1p',
  'expm1',
]);

/** Longest row cached (a scratch array of float64 per cache, allocated once per compiled kernel). */
export const MAX_ROW_CACHE = 1 << 16;

export interface RowCache {
  /** The reduction, over one loop variable, whose loop stores the value. */
  readonly reduce: Expr & { readonly kind: 'reduce' };
  /** The value at the reduction's index, stored by every iteration. */
  readonly stored: Expr;
  /** The same value at the output loop's index, read back instead of computed. */
  readonly read: Expr;
  /** The output axis indexing the cache: the loop right inside the one the reduction runs in. */
  readonly outVar: LoopVar;
}

/**
 * The row caches of a kernel over output axes `vars` computing `roots`.
 * A reduction over `v` that depends only on the first d output axes runs
 * once per iteration of axis d - 1, before the loop over axis d (`u`); a
 * costly value f(v) in its body, also needed at f(u) by the output (same
 * extent, no deeper axes), is the same number for the same row and element.
 */
export function rowCaches(vars: readonly LoopVar[], roots: readonly Expr[]): RowCache[] {
  const memo = new Map<Expr, Set<LoopVar>>();
  const fv = (e: Expr) => freeVars(e, memo);
  const position = new Map(vars.map((x, i) => [x, i]));
  const all: Expr[] = [];
  const seen = new Set<Expr>();
  const collect = (e: Expr) => {
    if (seen.has(e)) return;
    seen.add(e);
    all.push(e);
    exprArgs(e).forEach(collect);
  };
  roots.forEach(collect);
  const costly = (e: Expr) => e.kind === 'op' && TRANSCENDENTAL_OPS.has(e.op);
  /** The output axis a reduction's loop sits right outside of, if it only depends on output axes. */
  const nextAxis = (r: Expr): LoopVar | undefined => {
    let depth = 0;
    for (const x of fv(r)) {
      const p = position.get(x);
      if (p === undefined) return undefined;
      depth = Math.max(depth, p + 1);
    }
    return vars[depth];
  };
  /** Whether `a` with `v` replaced by `u` is `b`. */
  const sameUnder = (a: Expr, b: Expr, v: LoopVar, u: LoopVar): boolean => {
    if (a === b) return !fv(a).has(v);
    if (a.kind !== b.kind || a.dtype !== b.dtype) return false;
    // An index value computed from v is an expression the index cannot rename: no cache (recomputed).
    if ((a.kind === 'load' || a.kind === 'index') && valueAtoms(a.at).some((x) => x.vars.includes(v))) return false;
    if (a.kind === 'load' && b.kind === 'load') return a.input === b.input && substitute(a.at, v, u) === b.at;
    if (a.kind === 'index' && b.kind === 'index') return substitute(a.at, v, u) === b.at;
    if (a.kind === 'op' && b.kind === 'op')
      return a.op === b.op && a.args.every((x, i) => sameUnder(x, b.args[i], v, u));
    return false;
  };
  const out: RowCache[] = [];
  const taken = new Set<Expr>();
  for (const r of all) {
    if (r.kind !== 'reduce' || r.vars.length !== 1) continue;
    const v = r.vars[0];
    const u = nextAxis(r);
    if (!u || u.size !== v.size || v.size > MAX_ROW_CACHE) continue;
    const rowVars = new Set([...fv(r), u]);
    const reads = all.filter(
      (e) => costly(e) && !taken.has(e) && fv(e).has(u) && [...fv(e)].every((x) => rowVars.has(x)),
    );
    if (!reads.length) continue;
    const inRow = new Set([...fv(r), v]);
    const visited = new Set<Expr>();
    const walk = (e: Expr) => {
      if (visited.has(e) || e.kind === 'reduce') return;
      visited.add(e);
      if (costly(e) && fv(e).has(v) && [...fv(e)].every((x) => inRow.has(x))) {
        const read = reads.find((c) => !taken.has(c) && sameUnder(e, c, v, u));
        if (read) {
          taken.add(read);
          out.push({ reduce: r, stored: e, read, outVar: u });
          return;
        }
      }
      exprArgs(e).forEach(walk);
    };
    walk(r.body);
  }
  return out;
}
