/**
 * What every code generator needs to know about a kernel before it prints a
 * line: each interned expression once (operands first), how often each is
 * used, its free loop variables, the loop it belongs in, and the row caches.
 *
 * Loop placement: an expression is computed in the innermost loop that binds
 * one of its free variables (loop-invariant code motion), so a reduction
 * broadcast back over a row (softmax's max and sum) runs once per row. On a
 * loop target every output axis has a loop of its own (depth 1, 2, ...); on a
 * thread-per-element target (`flatOutputs`) all output axes are known at the
 * top level. A reduction's body runs in a loop one deeper than the reduction.
 * An indirect load's index values are its operands (`exprArgs`), placed by
 * their own variables: an embedding's row index is computed once per token,
 * in the token's loop, before the loop over the row that reads it.
 */
import {
  type Expr,
  type Kernel,
  type LoopVar,
  type ReduceExpr,
  type RowCache,
  exprArgs,
  freeVars,
  rowCaches,
} from '../../ir';

/** A loop of the generated code: the kernel's top level, an output axis's loop, or a reduction's body. */
export interface Loop {
  readonly depth: number;
  /** The output axis this loop runs over. */
  readonly outputAxis?: LoopVar;
  /** The reduction whose body runs in this loop. */
  readonly reduce?: ReduceExpr;
}

export interface AnalysisOptions {
  /** One thread per output element: output axes are bound at the top level, not by loops. */
  readonly flatOutputs?: boolean;
  /** Reduction variables the target binds at the top level (gpujs's split reductions). */
  readonly boundAtTop?: readonly LoopVar[];
}

export class KernelAnalysis {
  readonly roots: readonly Expr[];
  /** Every expression once, operands before their users. */
  readonly order: readonly Expr[];
  readonly top: Loop = { depth: 0 };
  /** The loop of each output axis, outermost first (all `top` when outputs are flat). */
  readonly outputLoops: readonly Loop[];
  private readonly useCounts = new Map<Expr, number>();
  private readonly freeVarMemo = new Map<Expr, Set<LoopVar>>();
  private readonly loopMemo = new Map<Expr, Loop>();
  private readonly varLoops = new Map<LoopVar, Loop>();
  private readonly bodyLoops = new Map<ReduceExpr, Loop>();
  private readonly owners = new Map<LoopVar, ReduceExpr>();
  private readonly reductionMemo = new Map<Expr, boolean>();
  private caches?: readonly RowCache[];
  private readers?: Map<Expr, Loop[]>;

  constructor(
    readonly kernel: Kernel,
    opts: AnalysisOptions = {},
  ) {
    this.roots = kernel.outputs.map((o) => o.expr);
    this.outputLoops = kernel.vars.map((x, i) => (opts.flatOutputs ? this.top : { depth: i + 1, outputAxis: x }));
    kernel.vars.forEach((x, i) => this.varLoops.set(x, this.outputLoops[i]));
    for (const x of opts.boundAtTop ?? []) this.varLoops.set(x, this.top);
    const order: Expr[] = [];
    const visit = (e: Expr) => {
      const n = (this.useCounts.get(e) ?? 0) + 1;
      this.useCounts.set(e, n);
      if (n > 1) return;
      if (e.kind === 'reduce') for (const x of e.vars) this.owners.set(x, e);
      exprArgs(e).forEach(visit);
      order.push(e);
    };
    this.roots.forEach(visit);
    this.order = order;
  }

  /** References to `e`: one per operand slot that holds it, one per kernel output. */
  uses(e: Expr): number {
    return this.useCounts.get(e) ?? 0;
  }

  freeVars(e: Expr): Set<LoopVar> {
    return freeVars(e, this.freeVarMemo);
  }

  /** The reductions of the kernel, operands first. */
  get reductions(): ReduceExpr[] {
    return this.order.filter((e): e is ReduceExpr => e.kind === 'reduce');
  }

  /** Costly row values kept for the row's output loop (loop targets with the `rowCache` limit). */
  get rowCaches(): readonly RowCache[] {
    return (this.caches ??= rowCaches(this.kernel.vars, this.roots));
  }

  loopOfVar(x: LoopVar): Loop {
    let loop = this.varLoops.get(x);
    if (!loop) {
      const owner = this.owners.get(x);
      if (!owner) throw new Error(`kernel ${this.kernel.name}: loop variable ${x.id} is bound by no loop`);
      this.bodyLoop(owner);
      loop = this.varLoops.get(x)!;
    }
    return loop;
  }

  /** The innermost of the loops binding `vars`. */
  loopOfVars(vars: Iterable<LoopVar>): Loop {
    let loop = this.top;
    for (const x of vars) {
      const l = this.loopOfVar(x);
      if (l.depth > loop.depth) loop = l;
    }
    return loop;
  }

  /** The loop in which `e` is computed. */
  loopOf(e: Expr): Loop {
    let loop = this.loopMemo.get(e);
    if (!loop) this.loopMemo.set(e, (loop = this.loopOfVars(this.freeVars(e))));
    return loop;
  }

  /** The loop in which reduction `r`'s body runs (and its variables are bound). */
  bodyLoop(r: ReduceExpr): Loop {
    let loop = this.bodyLoops.get(r);
    if (!loop) {
      loop = { depth: this.loopOf(r).depth + 1, reduce: r };
      this.bodyLoops.set(r, loop);
      for (const x of r.vars) if (!this.varLoops.has(x)) this.varLoops.set(x, loop);
    }
    return loop;
  }

  /** The loop in which `parent` reads its operands. */
  operandLoop(parent: Expr): Loop {
    return parent.kind === 'reduce' ? this.bodyLoop(parent) : this.loopOf(parent);
  }

  /** The loops in which `e` is read: its users' operand loops, and the innermost output loop for a kernel output. */
  readLoops(e: Expr): readonly Loop[] {
    if (!this.readers) {
      this.readers = new Map();
      const note = (child: Expr, loop: Loop) => {
        const list = this.readers!.get(child);
        if (list) list.push(loop);
        else this.readers!.set(child, [loop]);
      };
      const innermost = this.outputLoops.length ? this.outputLoops[this.outputLoops.length - 1] : this.top;
      for (const r of this.roots) note(r, innermost);
      for (const parent of this.order) for (const c of exprArgs(parent)) note(c, this.operandLoop(parent));
    }
    return this.readers.get(e) ?? [];
  }

  /**
   * Whether a loop target keeps `e` in a local rather than writing it inline
   * where it is read: every reduction, a value used more than once (index
   * arithmetic excepted: recomputing it is cheaper), and a value read in
   * another loop than its own (hoisted out of it).
   */
  isTemporary(e: Expr): boolean {
    if (e.kind === 'lit' || e.kind === 'arg') return false;
    if (e.kind === 'reduce') return true;
    if (this.uses(e) > 1 && e.kind !== 'index') return true;
    const mine = this.loopOf(e);
    return this.readLoops(e).some((l) => l !== mine);
  }

  /** Whether any expression under `e` (or `e` itself) is a reduction. */
  hasReduction(e: Expr): boolean {
    let has = this.reductionMemo.get(e);
    if (has === undefined) {
      has = e.kind === 'reduce' || exprArgs(e).some((c) => this.hasReduction(c));
      this.reductionMemo.set(e, has);
    }
    return has;
  }
}
