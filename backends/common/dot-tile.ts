/**
 * Which kernels code generators run as a register-tiled dot: one output,
 * one sum-of-products reduction, and two output axes each read by only one
 * factor of the product (a matmul's rows and columns, a convolution's
 * spatial and channel axes), with any fused prologue inside the factors and
 * epilogue around the reduction.
 */
import { type Expr, type Kernel, type LoopVar, type ReduceExpr, exprArgs } from '../../ir';
import type { KernelAnalysis } from './analysis';

/** A dot-like kernel's reduction `r` = sum of a * b, with a varying along output axis vM and b along vN. */
export interface DotTile {
  readonly r: ReduceExpr;
  readonly a: Expr;
  readonly b: Expr;
  readonly vM: LoopVar;
  readonly vN: LoopVar;
}

/**
 * The tile of a dot-like kernel, or undefined: vM and vN are the last such
 * axes (a plain matmul tiles its last two, whatever order the output has),
 * b owning the innermost one. int32 dots are left to the generic loop (their
 * products must wrap).
 */
export function findDotTile(k: Kernel, an: KernelAnalysis): DotTile | undefined {
  if (k.vars.length < 2 || k.outputs.length !== 1) return undefined;
  const reduces: Expr[] = [];
  const seen = new Set<Expr>();
  const walk = (e: Expr) => {
    if (seen.has(e)) return;
    seen.add(e);
    if (e.kind === 'reduce') reduces.push(e);
    else exprArgs(e).forEach(walk);
  };
  walk(k.outputs[0].expr);
  const r = reduces[0];
  if (reduces.length !== 1 || r.kind !== 'reduce' || r.op !== 'sum' || r.dtype !== 'f32') return undefined;
  const body = r.body;
  if (body.kind !== 'op' || body.op !== 'mul') return undefined;
  const [x, y] = body.args;
  const fx = an.freeVars(x);
  const fy = an.freeVars(y);
  const only = (f: Set<LoopVar>, g: Set<LoopVar>) => k.vars.filter((v) => f.has(v) && !g.has(v) && v.size >= 4);
  const ox = only(fx, fy);
  const oy = only(fy, fx);
  if (!ox.length || !oy.length) return undefined;
  const yLast = k.vars.indexOf(oy[oy.length - 1]) > k.vars.indexOf(ox[ox.length - 1]);
  const [a, b, vM, vN] = yLast
    ? [x, y, ox[ox.length - 1], oy[oy.length - 1]]
    : [y, x, oy[oy.length - 1], ox[ox.length - 1]];
  // Small products are not worth packing.
  if (vM.size * vN.size < 64) return undefined;
  // Nothing else inside the tile may hold a reduction.
  if (an.hasReduction(a) || an.hasReduction(b)) return undefined;
  return { r, a, b, vM, vN };
}
