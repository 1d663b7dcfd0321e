/**
 * Kernel-plan types: what the lowering pass produces and backends consume.
 *
 * A kernel iterates over an output shape (one loop variable per axis) and
 * computes, per output element, one or more expressions (`Expr`) that share
 * that iteration space. Expressions read kernel inputs through symbolic
 * index expressions (views are index arithmetic, never copies) and may hold
 * reduction loops over fresh variables. Expressions are interned per kernel,
 * so a value used twice is the same object (common subexpressions) and a
 * backend can hoist whatever does not depend on inner loop variables.
 *
 * Indirect loads (`take`/`gather`): an index expression may hold `value`
 * atoms (ir/symbolic.ts) whose value is another expression of the kernel,
 * clamped into range (`ExprBuilder.indexValue`), so `x[ids[i] * D + j]`
 * is a load whose index contains the load `ids[i]`. Those expressions are
 * operands of the load (`exprArgs`), so every pass and code generator sees
 * them in dependency order, and their loop variables are the load's too
 * (`freeVars`): an embedding row index is computed once per token, outside
 * the loop over the row.
 */
import type { DType } from './dtype';
import { type Idx, type LoopVar, type ValueIdx, idxVars, num, valueAtoms, valueIdx } from './symbolic';

/** Elementwise operations a kernel expression may apply. */
export type ExprOp =
  | 'neg'
  | 'abs'
  | 'sign'
  | 'exp'
  | 'log'
  | 'sqrt'
  | 'sin'
  | 'cos'
  | 'tanh'
  | 'sigmoid'
  | 'log1p'
  | 'expm1'
  | 'floor'
  | 'ceil'
  | 'round'
  | 'not'
  | 'add'
  | 'sub'
  | 'mul'
  | 'div'
  | 'pow'
  | 'maximum'
  | 'minimum'
  | 'and'
  | 'or'
  | 'lt'
  | 'le'
  | 'gt'
  | 'ge'
  | 'eq'
  | 'ne'
  | 'where'
  | 'cast'
  | 'random';

export type Expr =
  /** Element `at` of kernel input slot `input` (value atoms of `at` are its operands: an indirect load). */
  | { readonly kind: 'load'; readonly input: number; readonly at: Idx; readonly dtype: DType; readonly id: number }
  /** Scalar kernel argument `slot` (graph constants travel this way). */
  | { readonly kind: 'arg'; readonly slot: number; readonly dtype: DType; readonly id: number }
  /** A structural literal (reduction identities, pad values, 0/1). */
  | { readonly kind: 'lit'; readonly value: number; readonly dtype: DType; readonly id: number }
  /** An index expression as an i32 value (iota, random counters, bounds checks); value atoms are its operands. */
  | { readonly kind: 'index'; readonly at: Idx; readonly dtype: DType; readonly id: number }
  /** Elementwise op; `cast` converts args[0] to `dtype`; `random` hashes (seed, counter) to f32 in [0,1). */
  | {
      readonly kind: 'op';
      readonly op: ExprOp;
      readonly args: readonly Expr[];
      readonly dtype: DType;
      readonly id: number;
    }
  /** Reduction of `body` over fresh loop variables. */
  | {
      readonly kind: 'reduce';
      readonly op: 'sum' | 'max';
      readonly vars: readonly LoopVar[];
      readonly body: Expr;
      readonly dtype: DType;
      readonly id: number;
    };

export type LoadExpr = Extract<Expr, { kind: 'load' }>;
export type OpExpr = Extract<Expr, { kind: 'op' }>;
export type ReduceExpr = Extract<Expr, { kind: 'reduce' }>;
export type ReduceOp = ReduceExpr['op'];

/** Every `ExprOp`, so tables and tests can enumerate them (typed: a missing op does not compile). */
export const EXPR_OPS: readonly ExprOp[] = Object.keys({
  neg: 0,
  abs: 0,
  sign: 0,
  exp: 0,
  log: 0,
  sqrt: 0,
  sin: 0,
  cos: 0,
  tanh: 0,
  sigmoid: 0,
  log1p: 0,
  expm1: 0,
  floor: 0,
  ceil: 0,
  round: 0,
  not: 0,
  add: 0,
  sub: 0,
  mul: 0,
  div: 0,
  pow: 0,
  maximum: 0,
  minimum: 0,
  and: 0,
  or: 0,
  lt: 0,
  le: 0,
  gt: 0,
  ge: 0,
  eq: 0,
  ne: 0,
  where: 0,
  cast: 0,
  random: 0,
} satisfies Record<ExprOp, 0>) as ExprOp[];

/** The value a reduction starts from: 0 for sum; for max the least value of the dtype. */
export function reduceIdentity(op: ReduceOp, dtype: DType): number {
  if (op === 'sum') return 0;
  return dtype === 'i32' ? -2147483648 : -Infinity;
}

/** The elementwise op that folds one more value into a reduction's accumulator. */
export function reduceCombine(op: ReduceOp): ExprOp {
  return op === 'sum' ? 'add' : 'maximum';
}

export interface KernelOutput {
  /** Plan buffer written contiguously at the output's flat index. */
  readonly buffer: number;
  readonly expr: Expr;
}

export interface Kernel {
  readonly name: string;
  /** The iteration space: one loop variable per output axis. */
  readonly shape: readonly number[];
  readonly vars: readonly LoopVar[];
  /** Plan buffers read, by input slot. */
  readonly inputs: readonly number[];
  /** Plan scalars passed, by argument slot. */
  readonly args: readonly number[];
  readonly outputs: readonly KernelOutput[];
  /** The IR ops computed by this kernel (for debug lines and the fused dump). */
  readonly ops: readonly string[];
}

export type BufferRole = 'input' | 'capture' | 'temp' | 'output';

export interface PlanBuffer {
  readonly id: number;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly size: number;
  readonly role: BufferRole;
  /** input: graph parameter index; capture: index into the plan's captured data. */
  readonly source?: number;
  /** Storage slot after buffer reuse: buffers with equal slots share memory. */
  slot?: number;
  /** An output written in place into this donated input buffer. */
  aliasOf?: number;
}

export interface PlanScalar {
  readonly dtype: DType;
  /** Value when the plan was built. */
  readonly value: number;
  /** Index into the lowered graph's list of constant nodes, when it came from one (so a new value can be passed in). */
  readonly source: number;
}

export interface KernelPlan {
  readonly buffers: readonly PlanBuffer[];
  readonly scalars: readonly PlanScalar[];
  readonly kernels: readonly Kernel[];
  /** After kernel i, these buffers are dead. */
  readonly frees: readonly (readonly number[])[];
  /** Plan buffers holding the graph outputs, in order. */
  readonly outputs: readonly number[];
  /** Opaque data of the graph's `buffer` leaves, by capture index. */
  readonly captures: readonly unknown[];
}

/** Interning builder of kernel expressions (one per kernel). */
export class ExprBuilder {
  private readonly table = new Map<string, Expr>();
  private counter = 0;

  private make<E extends Expr>(key: string, build: (id: number) => E): E {
    const hit = this.table.get(key);
    if (hit) return hit as E;
    const e = build(this.counter++);
    this.table.set(key, e);
    return e;
  }
  load(input: number, at: Idx, dtype: DType): Expr {
    return this.make(`L${input}:${at.key}`, (id) => ({ kind: 'load', input, at, dtype, id }));
  }
  arg(slot: number, dtype: DType): Expr {
    return this.make(`A${slot}`, (id) => ({ kind: 'arg', slot, dtype, id }));
  }
  lit(v: number, dtype: DType): Expr {
    return this.make(`C${dtype}:${Object.is(v, -0) ? '-0' : v}`, (id) => ({ kind: 'lit', value: v, dtype, id }));
  }
  index(at: Idx): Expr {
    return this.make(`I${at.key}`, (id) => ({ kind: 'index', at, dtype: 'i32', id }));
  }
  op(op: ExprOp, args: readonly Expr[], dtype: DType): Expr {
    return this.make(`O${op}:${dtype}(${args.map((a) => a.id).join(',')})`, (id) => ({
      kind: 'op',
      op,
      args,
      dtype,
      id,
    }));
  }
  /**
   * The index atom of an indirect load: i32 `value` clamped into [0, size - 1] (so a read never
   * leaves its buffer, whatever the data); a literal 0 for an axis of one element.
   */
  indexValue(value: Expr, size: number): Idx {
    if (size < 1) throw new Error(`indexValue: no element to index in an axis of ${size}`);
    if (size === 1) return num(0);
    const low = this.op('maximum', [value, this.lit(0, 'i32')], 'i32');
    return sourceIndex(this.op('minimum', [low, this.lit(size - 1, 'i32')], 'i32'), size);
  }
  reduce(op: 'sum' | 'max', vars: readonly LoopVar[], body: Expr, dtype: DType): Expr {
    // A reduction over no elements is its identity (and no target loops over its other axes).
    if (vars.some((v) => v.size === 0)) return this.lit(reduceIdentity(op, dtype), dtype);
    return this.make(`R${op}:${vars.map((v) => v.id).join(',')}(${body.id})`, (id) => ({
      kind: 'reduce',
      op,
      vars,
      body,
      dtype,
      id,
    }));
  }
}

/**
 * The index atom for `source`, an i32 expression already known to lie in [0, size - 1] (the clamped
 * expression `indexValue` built; passes that rebuild a kernel's expressions re-wrap theirs with it).
 */
export function sourceIndex(source: Expr, size: number): Idx {
  return valueIdx(source, freeVars(source), size);
}

/** The expression a value atom stands for (atoms are built from expressions only, by `sourceIndex`). */
export function atomSource(atom: ValueIdx): Expr {
  return atom.source as Expr;
}

const indexOperands = new WeakMap<Idx, readonly Expr[]>();

/** The expressions an index reads through its value atoms (none for plain index arithmetic). */
export function indexArgs(at: Idx): readonly Expr[] {
  let hit = indexOperands.get(at);
  if (!hit) indexOperands.set(at, (hit = valueAtoms(at).map(atomSource)));
  return hit;
}

/** Children of an expression: an op's operands, a reduction's body, the index values of a load or index. */
export function exprArgs(e: Expr): readonly Expr[] {
  if (e.kind === 'op') return e.args;
  if (e.kind === 'reduce') return [e.body];
  if (e.kind === 'load' || e.kind === 'index') return indexArgs(e.at);
  return [];
}

/** Free loop variables of an expression (a reduction binds its own). Memoised per call. */
export function freeVars(e: Expr, memo = new Map<Expr, Set<LoopVar>>()): Set<LoopVar> {
  const hit = memo.get(e);
  if (hit) return hit;
  let out: Set<LoopVar>;
  if (e.kind === 'load' || e.kind === 'index') out = idxVars(e.at);
  else if (e.kind === 'op') {
    out = new Set();
    for (const a of e.args) for (const v of freeVars(a, memo)) out.add(v);
  } else if (e.kind === 'reduce') {
    out = new Set(freeVars(e.body, memo));
    for (const v of e.vars) out.delete(v);
  } else out = new Set();
  memo.set(e, out);
  return out;
}

/** Number of reductions nested in an expression (counting shared ones once). */
export function countReductions(roots: readonly Expr[]): number {
  const seen = new Set<Expr>();
  let n = 0;
  const walk = (e: Expr) => {
    if (seen.has(e)) return;
    seen.add(e);
    if (e.kind === 'reduce') n++;
    exprArgs(e).forEach(walk);
  };
  roots.forEach(walk);
  return n;
}

/**
 * What a backend can run, as plain data for the passes (SPEC layering: the
 * fusion pass never imports a backend).
 */
export interface BackendLimits {
  /** Most distinct input buffers one kernel may read. */
  readonly maxKernelInputs: number;
  /** Whether one kernel may run several reductions (loop backends hoist them per row). */
  readonly multiReduceKernels: boolean;
  /** Whether `random` must be its own kernel, which the backend evaluates on the host. */
  readonly randomOnHost?: boolean;
  /** Whether a kernel may overwrite a donated input it reads at the element it writes. */
  readonly inPlaceWithinKernel?: boolean;
  /** Whether the code generator keeps costly row values for the row's output loop (`rowCaches`). */
  readonly rowCache?: boolean;
  /**
   * A dot of at least this many output elements that another reduction reads is stored, not fused
   * into it: a loop target would lose its register-tiled dot loop, a thread-per-element target would
   * rerun the whole dot per step of the outer reduction. Unset: such dots fuse like any reduction.
   */
  readonly minStoredInnerDot?: number;
  /**
   * The kernel-expression ops the target evaluates natively (unset: all of them). The others are
   * rewritten into native ones (passes/decompose.ts) before code generation.
   */
  readonly nativeOps?: ReadonlySet<ExprOp>;
}

/** Every kernel-expression op but `missing` (a target's `nativeOps`). */
export function opsExcept(...missing: ExprOp[]): ReadonlySet<ExprOp> {
  return new Set(EXPR_OPS.filter((op) => !missing.includes(op)));
}
