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
 *     until nothing is left to fix:
 *     - on a loop backend, a reduction that would sit inside a loop it does
 *       not depend on, even after hoisting (it would be recomputed per
 *       iteration: a matmul feeding a matmul, a column sum broadcast over
 *       rows); a row reduction broadcast along its own row is fine;
 *     - a reduction of 16 or more terms that would run more often than it has
 *       elements (read through a many-to-one view, as a max-pool gradient
 *       reads each pooled value at every position of its window);
 *     - a reduction, or a transcendental (exp, tanh, ...), evaluated at several
 *       indices in one kernel (it would run once per use), or a transcendental
 *       or random value inside loops it does not depend on; on a backend with
 *       row caches (ir/row-cache.ts) a transcendental computed in a row
 *       reduction and again by the row's output loop counts once, so a
 *       row softmax is one kernel that evaluates exp once per element;
 *     - a matmul of 256 or more elements read inside another reduction (it
 *       would lose the code generator's tiled loop);
 *     - on a backend without multi-reduction kernels (one thread per element),
 *       any second reduction, or one whose result is broadcast, in a kernel;
 *     - a kernel reading more buffers than the backend allows: the inlined
 *       producer that reads the most buffers is materialised;
 *     - on a backend that evaluates `random` on the host, it is its own kernel.
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
  if (opts.limits.randomOnHost) for (const n of g.nodes) if (n.op === 'random') roots.add(n);
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

/** Rule 5: nodes to materialise so that `root`'s kernel is well formed. */
function violations(root: Node, roots: ReadonlySet<Node>, limits: BackendLimits): Node[] {
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
  const out = new Set<Node>();
  const memo = new Map<Expr, Set<LoopVar>>();
  const reduces: Expr[] = [];
  const seen = new Set<string>();
  const outIndex = new Map(vars.map((x, i) => [x, i]));
  /** Loops a reduction sits in once hoisted as far out as its variables allow. */
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
  const runs = (e: Expr, enclosing: readonly Expr[]) => enclosingLoops(e, enclosing).reduce((p, x) => p * x.size, 1);
  const recomputed = (e: Expr, enclosing: readonly Expr[]) => {
    const fv = freeVars(e, memo);
    return enclosingLoops(e, enclosing).some((x) => x.size > 1 && !fv.has(x));
  };
  const walk = (e: Expr, enclosing: readonly Expr[]) => {
    const key = `${e.id}|${enclosing.map((r) => r.id).join(',')}`;
    if (seen.has(key)) return;
    seen.add(key);
    const n = lowering.nodeOf.get(e);
    if (e.kind === 'reduce') {
      if (!reduces.includes(e)) reduces.push(e);
      // Recomputed once per iteration of a loop it does not depend on: materialise it instead.
      if (n && n !== root && limits.multiReduceKernels && recomputed(e, enclosing)) out.add(n);
      // Read through a many-to-one view (the gradient of a 2x2 max-pool reads each pooled value at
      // four positions), a reduction runs more often than it has elements: store it once instead.
      if (n && n !== root && reduceLength(e) >= MIN_STORED_REDUCTION && runs(e, enclosing) > sizeOf(n.types[0].shape))
        out.add(n);
      // A sizeable matmul read inside another reduction would lose its tiled loop: store it.
      if (n && n !== root && n.op === 'dot' && enclosing.length > 0 && sizeOf(n.types[0].shape) >= 256) out.add(n);
    } else if (e.kind === 'op' && n && n !== root && EXPENSIVE.has(n.op) && recomputed(e, enclosing)) {
      // Likewise a costly elementwise value (random bits, a transcendental) inside loops it does
      // not depend on, e.g. exp(a) feeding a matmul would run once per output column.
      out.add(n);
    }
    const inner = e.kind === 'reduce' ? [...enclosing, e] : enclosing;
    exprArgs(e).forEach((c) => walk(c, inner));
  };
  walk(expr, []);
  // A reduction evaluated at several different indices in one kernel (say, a matmul read by
  // both the max and the sum of a softmax) would run once per use: materialise it.
  const uses = new Map<Node, number>();
  for (const r of reduces) {
    const n = lowering.nodeOf.get(r);
    if (n && n !== root) uses.set(n, (uses.get(n) ?? 0) + 1);
  }
  for (const [n, count] of uses) if (count > 1) out.add(n);
  // Likewise a transcendental evaluated at several indices (softmax's exp(x - max), read by the
  // row sum and by the output): computing it once into a buffer beats computing it twice, unless
  // the code generator keeps the row's values for the output loop (a row cache) anyway.
  const caches = limits.rowCache ? rowCaches(vars, [expr]) : [];
  const evaluations = caches.length
    ? evaluationsWithout(
        expr,
        caches.map((c) => c.read),
        lowering,
      )
    : lowering.evaluations;
  for (const [n, count] of evaluations) if (count > 1 && n !== root && TRANSCENDENTAL_OPS.has(n.op)) out.add(n);
  if (!limits.multiReduceKernels) {
    const broadcast = (r: Expr) => {
      const fv = freeVars(r, memo);
      return vars.some((x) => x.size > 1 && !fv.has(x));
    };
    if (reduces.length > 1 || (reduces.length === 1 && broadcast(reduces[0]))) {
      for (const r of reduces) {
        const n = lowering.nodeOf.get(r);
        if (n && n !== root) out.add(n);
      }
    }
  }
  if (out.size === 0 && lowering.inputs.length > limits.maxKernelInputs) {
    const best = widestProducer(root, lowering);
    if (best) out.add(best);
  }
  return [...out];
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
