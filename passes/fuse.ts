/**
 * Fusion: decides which nodes are materialised (kernel roots); every other
 * node is computed inside the kernel of its consumer.
 *
 * Rules, in order:
 *  1. Graph outputs are materialised (an output that is a view is copied).
 *  2. Parameters, captured buffers and constants are never kernels; views
 *     (reshape, permute, expand, slice) are always index arithmetic.
 *  3. Unfused mode: every other node is its own kernel.
 *  4. Fused mode: a node is inlined into its consumers when they all belong
 *     to one kernel (elementwise chains, elementwise producers of a reduction
 *     or dot, elementwise epilogues). A node needed by two kernels is
 *     materialised once, unless it is as cheap as a load (constants, iota).
 *  5. Lowering then checks what rules 1-4 proposed and materialises more,
 *     until nothing is left to fix (one function each, below), in tiers: the
 *     dot-operand rule, the reduction rules, the costly-value rules
 *     (costlyValuesInForeignLoops, transcendentalsAtSeveralIndices), the
 *     input count; a later tier only when the earlier ones found nothing
 *     (what an earlier fix stores may make a later one moot):
 *     - reducedDotOperands: on a loop backend, a dot operand that is
 *       computed from a reduction (softmax(q kᵀ) @ v): the operand is stored,
 *       so the softmax is one row kernel and the dot reads plain values;
 *     - reductionsInForeignLoops: on a loop backend, a reduction that would
 *       sit inside a loop it does not depend on, even after hoisting (it would
 *       be recomputed per iteration: a matmul feeding a matmul, a column sum
 *       broadcast over rows); a row reduction broadcast along its own row is
 *       fine;
 *     - overReadReductions: a reduction of 16 or more terms that would run
 *       more often than it has elements (read through a many-to-one view, as a
 *       max-pool gradient reads each pooled value at every position of its
 *       window);
 *     - costlyValuesInForeignLoops: a transcendental (exp, tanh, ...) or random
 *       value inside loops it does not depend on;
 *     - reductionsAtSeveralIndices: a reduction evaluated at several indices
 *       in one kernel (it would run once per use);
 *     - transcendentalsAtSeveralIndices: likewise a transcendental; on a
 *       backend with row caches (ir/row-cache.ts) one computed in a row
 *       reduction and again by the row's output loop counts once, so a row
 *       softmax is one kernel that evaluates exp once per element;
 *     - innerDots: a matmul of at least the backend's `minStoredInnerDot`
 *       elements read inside another reduction (it would lose the code
 *       generator's tiled loop); no size set, no such rule;
 *     - reductionsPerThread: on a backend without multi-reduction kernels (one
 *       thread per element), any second reduction, or one whose result is
 *       broadcast, in a kernel;
 *     - tooManyInputs: a kernel reading more buffers than the backend allows:
 *       the inlined producer that reads the most buffers is materialised;
 *     - randomOnHost: on a backend that evaluates `random` on the host, it is
 *       its own kernel (applied before rule 4).
 *  6. A chain of inlined nodes deeper than MAX_INLINE_DEPTH is cut: deep
 *     expressions compile slowly (and gpu.js rejects them).
 *  On loop backends a reduction broadcast back over its row (softmax's max
 *  and sum) stays in the kernel: the code generator hoists it out of the
 *  inner loop, so a row kernel runs its reductions in sequence.
 */
import {
  type BackendLimits,
  type Expr,
  exprArgs,
  freeVars,
  type Graph,
  type LoopVar,
  type Node,
  OPS,
  TRANSCENDENTAL_OPS,
  isOp,
  rowCaches,
  sizeOf,
  sym,
} from '../ir';
import { KernelLowering } from './lower-expr';

const { idxVar } = sym;

export interface FusionOptions {
  readonly fusion: boolean;
  readonly limits: BackendLimits;
}

export const VIEW_OPS = new Set(['reshape', 'permute', 'expand', 'slice', 'detach']);
const NEVER_KERNELS = new Set(['param', 'buffer', 'const']);
const CHEAP = new Set(['const', 'iota']);
const EXPENSIVE = new Set([...TRANSCENDENTAL_OPS, 'random']);
const MAX_INLINE_DEPTH = 40;
/** Reductions at least this long are stored rather than run more often than they have elements. */
const MIN_STORED_REDUCTION = 16;

const reduceLength = (e: Expr & { kind: 'reduce' }) => e.vars.reduce((p, x) => p * x.size, 1);

export interface FusionResult {
  readonly graph: Graph;
  /** Materialised nodes in graph order (a parameter only when it is also an output: it is copied). */
  readonly roots: readonly Node[];
}

export function fuse(g: Graph, opts: FusionOptions): FusionResult {
  const outputs = new Set(g.outputs.map((v) => v.node));
  const roots = new Set<Node>();
  if (!opts.fusion) {
    for (const n of g.nodes) if (outputs.has(n) || !(NEVER_KERNELS.has(n.op) || VIEW_OPS.has(n.op))) roots.add(n);
    return { graph: g, roots: [...g.params.filter((p) => outputs.has(p)), ...g.nodes.filter((n) => roots.has(n))] };
  }
  for (const n of outputs) roots.add(n);
  for (const n of randomOnHost(g, opts.limits)) roots.add(n);
  proposeRoots(g, roots);
  // Rule 5: lower each kernel and materialise what it cannot hold well.
  for (let round = 0; round < 1000; round++) {
    const extra = new Set<Node>();
    for (const root of g.nodes) {
      if (!roots.has(root)) continue;
      for (const n of violations(root, roots, opts.limits)) extra.add(n);
    }
    if (extra.size === 0) break;
    for (const n of extra) roots.add(n);
    proposeRoots(g, roots);
  }
  // An output that is a parameter is copied (params are not among the nodes).
  return { graph: g, roots: [...g.params.filter((p) => outputs.has(p)), ...g.nodes.filter((n) => roots.has(n))] };
}

/** Random nodes that the backend evaluates on the host: each is its own kernel. */
function randomOnHost(g: Graph, limits: BackendLimits): Node[] {
  // A host-evaluated `random` (gpujs) is uploaded as a buffer, so it cannot be fused into a kernel.
  return limits.randomOnHost ? g.nodes.filter((n) => n.op === 'random') : [];
}

/** Rule 4: in reverse order, find the kernels each node's value flows into. */
function proposeRoots(g: Graph, roots: Set<Node>): void {
  const consumers = new Map<Node, Node[]>();
  for (const n of g.nodes)
    for (const v of n.inputs) {
      const list = consumers.get(v.node);
      if (list) list.push(n);
      else consumers.set(v.node, [n]);
    }
  const kernelsOf = new Map<Node, Set<Node>>();
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i];
    if (roots.has(n)) {
      kernelsOf.set(n, new Set([n]));
      continue;
    }
    const ks = new Set<Node>();
    for (const c of consumers.get(n) ?? []) for (const k of kernelsOf.get(c) ?? []) ks.add(k);
    if (ks.size > 1 && !NEVER_KERNELS.has(n.op) && !VIEW_OPS.has(n.op) && !CHEAP.has(n.op)) {
      roots.add(n);
      kernelsOf.set(n, new Set([n]));
    } else kernelsOf.set(n, ks);
  }
  // Rule 6: cut chains that are too deep.
  const depth = new Map<Node, number>();
  for (const n of g.nodes) {
    let d = 0;
    for (const v of n.inputs) if (!roots.has(v.node)) d = Math.max(d, depth.get(v.node) ?? 0);
    if (d + 1 > MAX_INLINE_DEPTH && !NEVER_KERNELS.has(n.op)) {
      roots.add(n);
      depth.set(n, 0);
    } else depth.set(n, d + 1);
  }
}

/** One kernel as rule 5 sees it: the root's lowered expression, walked once. */
interface KernelReview {
  readonly root: Node;
  readonly lowering: KernelLowering;
  /** Loop variables of the output axes. */
  readonly vars: readonly LoopVar[];
  readonly expr: Expr;
  /** Every subexpression with the reductions it sits in, once per distinct chain of them. */
  readonly visits: readonly { readonly e: Expr; readonly enclosing: readonly Expr[] }[];
  /** The distinct reductions, in walk order. */
  readonly reduces: readonly Expr[];
  freeVars(e: Expr): Set<LoopVar>;
  /** How often `e` runs: the product of the loops it sits in once hoisted as far out as its variables allow. */
  runs(e: Expr, enclosing: readonly Expr[]): number;
  /** Whether `e` sits in a loop (of more than one iteration) that it does not depend on. */
  recomputed(e: Expr, enclosing: readonly Expr[]): boolean;
  /** The node an expression computes inside this kernel (not the root itself), if any. */
  inlined(e: Expr): Node | undefined;
}

function reviewKernel(root: Node, roots: ReadonlySet<Node>): KernelReview {
  const ids = new Map<Node, number>();
  const lowering = new KernelLowering(
    {
      bufferOf: (n) => {
        if (!(roots.has(n) || n.op === 'param' || n.op === 'buffer')) return undefined;
        if (!ids.has(n)) ids.set(n, ids.size);
        return ids.get(n);
      },
      scalarOf: () => 0,
    },
    root,
  );
  const vars = lowering.outputVars(root.types[0].shape);
  const expr = lowering.at(root.out, vars.map(idxVar));
  const memo = new Map<Expr, Set<LoopVar>>();
  const outIndex = new Map(vars.map((x, i) => [x, i]));
  const enclosingLoops = (r: Expr, chain: readonly Expr[]): LoopVar[] => {
    const fv = freeVars(r, memo);
    for (let k = chain.length - 1; k >= 0; k--) {
      const outer = chain[k];
      if (outer.kind === 'reduce' && outer.vars.some((x) => fv.has(x)))
        return [...enclosingLoops(outer, chain.slice(0, k)), ...outer.vars];
    }
    let deepest = -1;
    for (const x of fv) deepest = Math.max(deepest, outIndex.get(x) ?? -1);
    return vars.slice(0, deepest + 1);
  };
  const visits: { e: Expr; enclosing: readonly Expr[] }[] = [];
  const reduces: Expr[] = [];
  const seen = new Set<string>();
  const walk = (e: Expr, enclosing: readonly Expr[]) => {
    const key = `${e.id}|${enclosing.map((r) => r.id).join(',')}`;
    if (seen.has(key)) return;
    seen.add(key);
    visits.push({ e, enclosing });
    if (e.kind === 'reduce' && !reduces.includes(e)) reduces.push(e);
    const inner = e.kind === 'reduce' ? [...enclosing, e] : enclosing;
    exprArgs(e).forEach((c) => walk(c, inner));
  };
  walk(expr, []);
  return {
    root,
    lowering,
    vars,
    expr,
    visits,
    reduces,
    freeVars: (e) => freeVars(e, memo),
    runs: (e, enclosing) => enclosingLoops(e, enclosing).reduce((p, x) => p * x.size, 1),
    recomputed: (e, enclosing) => {
      const fv = freeVars(e, memo);
      return enclosingLoops(e, enclosing).some((x) => x.size > 1 && !fv.has(x));
    },
    inlined: (e) => {
      const n = lowering.nodeOf.get(e);
      return n && n !== root ? n : undefined;
    },
  };
}

/** Rule 5: nodes to materialise so that `root`'s kernel is well formed. */
function violations(root: Node, roots: ReadonlySet<Node>, limits: BackendLimits): Node[] {
  const k = reviewKernel(root, roots);
  // Fixed first: a stored dot operand takes its reductions and transcendentals out of the dot's
  // loops, and its own kernel is then reviewed on its own (a whole row softmax).
  const operands = reducedDotOperands(k, limits);
  if (operands.length) return operands;
  const out = new Set<Node>([
    ...reductionsInForeignLoops(k, limits),
    ...overReadReductions(k),
    ...reductionsAtSeveralIndices(k),
    ...innerDots(k, limits),
    ...reductionsPerThread(k, limits),
  ]);
  // Then costly elementwise values: a stored reduction may already have taken them out of the loops
  // they were repeated in (exp(dot - max) of a softmax over a matmul becomes a row-cached row kernel).
  if (out.size === 0)
    for (const n of [...costlyValuesInForeignLoops(k), ...transcendentalsAtSeveralIndices(k, limits)]) out.add(n);
  // Too many inputs is fixed last: materialising anything above may already change what the kernel reads.
  if (out.size === 0) for (const n of tooManyInputs(k, limits)) out.add(n);
  return [...out];
}

/** Reductions that a loop backend would recompute in every iteration of a loop they do not depend on. */
function reductionsInForeignLoops(k: KernelReview, limits: BackendLimits): Node[] {
  // Recomputed once per iteration (a matmul feeding a matmul, a column sum broadcast over rows): store it instead.
  if (!limits.multiReduceKernels) return [];
  const found: Node[] = [];
  for (const { e, enclosing } of k.visits) {
    const n = k.inlined(e);
    if (e.kind === 'reduce' && n && k.recomputed(e, enclosing)) found.push(n);
  }
  return found;
}

/** Reductions of MIN_STORED_REDUCTION or more terms that run more often than they have elements. */
function overReadReductions(k: KernelReview): Node[] {
  // Read through a many-to-one view (the gradient of a 2x2 max-pool reads each pooled value at
  // four positions), a reduction runs more often than it has elements: store it once instead.
  const found: Node[] = [];
  for (const { e, enclosing } of k.visits) {
    const n = k.inlined(e);
    if (
      e.kind === 'reduce' &&
      n &&
      reduceLength(e) >= MIN_STORED_REDUCTION &&
      k.runs(e, enclosing) > sizeOf(n.types[0].shape)
    )
      found.push(n);
  }
  return found;
}

/** Random bits and transcendentals inside loops they do not depend on. */
function costlyValuesInForeignLoops(k: KernelReview): Node[] {
  // exp(a) feeding a matmul would run once per output column: compute it once into a buffer.
  const found: Node[] = [];
  for (const { e, enclosing } of k.visits) {
    const n = k.inlined(e);
    if (e.kind === 'op' && n && EXPENSIVE.has(n.op) && k.recomputed(e, enclosing)) found.push(n);
  }
  return found;
}

/** Reductions evaluated at several different indices in one kernel. */
function reductionsAtSeveralIndices(k: KernelReview): Node[] {
  // A matmul read by both the max and the sum of a softmax would run once per use: store it.
  const uses = new Map<Node, number>();
  for (const r of k.reduces) {
    const n = k.inlined(r);
    if (n) uses.set(n, (uses.get(n) ?? 0) + 1);
  }
  return [...uses].filter(([, count]) => count > 1).map(([n]) => n);
}

/** Transcendentals evaluated at several indices, unless a row cache keeps their values. */
function transcendentalsAtSeveralIndices(k: KernelReview, limits: BackendLimits): Node[] {
  // softmax's exp(x - max), read by the row sum and by the output: computing it once into a buffer
  // beats computing it twice, unless the code generator keeps the row's values for the output loop.
  const caches = limits.rowCache ? rowCaches(k.vars, [k.expr]) : [];
  const evaluations = caches.length
    ? evaluationsWithout(
        k.expr,
        caches.map((c) => c.read),
        k.lowering,
      )
    : k.lowering.evaluations;
  const found: Node[] = [];
  for (const [n, count] of evaluations) if (count > 1 && n !== k.root && TRANSCENDENTAL_OPS.has(n.op)) found.push(n);
  return found;
}

/** Dots of at least the backend's `minStoredInnerDot` elements read inside another reduction. */
function innerDots(k: KernelReview, limits: BackendLimits): Node[] {
  // Fused into the outer reduction, a sizeable matmul would lose its tiled loop (or, one thread per
  // element, rerun whole): store it. Backends that set no size fuse such dots like any reduction.
  const minSize = limits.minStoredInnerDot;
  if (minSize === undefined) return [];
  const found: Node[] = [];
  for (const { e, enclosing } of k.visits) {
    const n = k.inlined(e);
    if (e.kind === 'reduce' && n && n.op === 'dot' && enclosing.length > 0 && sizeOf(n.types[0].shape) >= minSize)
      found.push(n);
  }
  return found;
}

/** On a backend without multi-reduction kernels: any second reduction, or one broadcast over the output. */
function reductionsPerThread(k: KernelReview, limits: BackendLimits): Node[] {
  // One thread per output element would recompute each such reduction for every element.
  if (limits.multiReduceKernels) return [];
  const broadcast = (r: Expr) => {
    const fv = k.freeVars(r);
    return k.vars.some((x) => x.size > 1 && !fv.has(x));
  };
  if (!(k.reduces.length > 1 || (k.reduces.length === 1 && broadcast(k.reduces[0])))) return [];
  return k.reduces.map((r) => k.inlined(r)).filter((n): n is Node => n !== undefined);
}

/** Whether a reduction is computed inside `e` within this kernel (loads end the search). */
function containsReduction(e: Expr, seen = new Set<Expr>()): boolean {
  if (seen.has(e)) return false;
  seen.add(e);
  if (e.kind === 'reduce') return true;
  return exprArgs(e).some((c) => containsReduction(c, seen));
}

/** On a loop backend, dot operands computed from a reduction (a row softmax feeding a matmul). */
function reducedDotOperands(k: KernelReview, limits: BackendLimits): Node[] {
  // Inlined, the operand's division by its row sum would run in the dot's innermost loop, once per
  // multiply-add; stored, it is one row kernel and the dot reads plain values.
  if (!limits.multiReduceKernels) return [];
  const found: Node[] = [];
  for (const r of k.reduces) {
    if (r.kind !== 'reduce' || k.lowering.nodeOf.get(r)?.op !== 'dot') continue;
    for (const operand of exprArgs(r.body)) {
      const n = k.inlined(operand);
      if (n && operand.kind === 'op' && containsReduction(operand)) found.push(n);
    }
  }
  return found;
}

/** A kernel reading more buffers than the backend allows: its widest inlined producer. */
function tooManyInputs(k: KernelReview, limits: BackendLimits): Node[] {
  // Backends bind a fixed number of inputs per kernel (gpu.js: 16 textures).
  if (k.lowering.inputs.length <= limits.maxKernelInputs) return [];
  const best = widestProducer(k.root, k.lowering);
  return best ? [best] : [];
}

/** Distinct indices each node is computed at once the row-cached `reads` are loads (not computed). */
function evaluationsWithout(root: Expr, reads: readonly Expr[], lowering: KernelLowering): Map<Node, number> {
  const skip = new Set(reads);
  const seen = new Set<Expr>();
  const counts = new Map<Node, number>();
  const walk = (e: Expr) => {
    if (seen.has(e) || skip.has(e)) return;
    seen.add(e);
    const n = lowering.nodeOf.get(e);
    if (n) counts.set(n, (counts.get(n) ?? 0) + 1);
    exprArgs(e).forEach(walk);
  };
  walk(root);
  return counts;
}

/** The inlined non-view producer in a kernel that reads the most distinct buffers. */
function widestProducer(root: Node, lowering: KernelLowering): Node | undefined {
  const reads = new Map<Node, Set<Node>>();
  const visit = (n: Node): Set<Node> => {
    let s = reads.get(n);
    if (s) return s;
    s = new Set();
    reads.set(n, s);
    for (const v of n.inputs) {
      if (lowering.materialised(v.node)) s.add(v.node);
      else for (const x of visit(v.node)) s.add(x);
    }
    return s;
  };
  visit(root);
  let best: Node | undefined;
  let bestCount = 1;
  for (const [n, s] of reads) {
    if (
      n === root ||
      lowering.materialised(n) ||
      VIEW_OPS.has(n.op) ||
      CHEAP.has(n.op) ||
      !isOp(n.op) ||
      OPS[n.op].kind === 'leaf'
    )
      continue;
    if (s.size > bestCount) {
      best = n;
      bestCount = s.size;
    }
  }
  return best;
}
