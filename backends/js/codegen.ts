/**
 * JavaScript code generation for one kernel.
 *
 * The kernel is a loop nest over its output axes. Every expression is placed
 * in the outermost loop where all its variables are bound (loop-invariant
 * code motion), so a reduction broadcast back over a row (softmax's max and
 * sum) runs once per row, before the inner loop: a row kernel runs several
 * reductions in sequence and then writes the row. Values used more than
 * once, reductions and hoisted values become `const` temporaries (float64
 * locals); everything else is inlined. A costly value that a row reduction
 * computes and the row's output loop needs again (ir/row-cache.ts) is
 * stored in a row-long Float64Array by the reduction loop and read back.
 *
 * A kernel whose innermost value is a sum of products that varies along the
 * last two output axes (a `dot`, with any fused prologue and epilogue) gets a
 * register-tiled loop instead: operands packed once per call (A as 4-row
 * panels, B as 4-column panels, each prologue evaluated once per element),
 * a 4x4 block of float64 accumulators held in locals over the reduction,
 * then the epilogue applied per element.
 */
import {
  type Expr,
  type Kernel,
  type LoopVar,
  type ReduceExpr,
  type ValueIdx,
  atomSource,
  exprArgs,
  reduceCombine,
  reduceIdentity,
  sym,
  type Idx,
} from '../../ir';
import { KernelAnalysis, type Loop } from '../common/analysis';
import { type DotTile, findDotTile } from '../common/dot-tile';
import { JS_OPS, jsIndex, jsLiteral } from './op-table';

const { flatIndex, idxVar } = sym;

type Names = (x: LoopVar) => string;

const defaultName: Names = (x) => `i${x.id}`;
/** Copies of the innermost loop body per iteration (loops of at least twice this are unrolled). */
const UNROLL = 4;

/** Source of a factory `(rnd, sigmoid, roundEven) => kernel(ins, outs, args)` (op-table.ts's KERNEL_HELPERS). */
export function generateKernelSource(k: Kernel): string {
  return new KernelEmitter(k).source();
}

class KernelEmitter {
  private readonly an: KernelAnalysis;
  /** Statements of each loop body, in order. */
  private readonly loopStmts = new Map<Loop, string[]>();
  private readonly temps = new Map<Expr, string>();
  private readonly outFlat: Idx;
  private readonly roots: readonly Expr[];
  private readonly preamble: string[] = [];
  /** Row-cache reads: the cache array and the output axis indexing it. */
  private readonly cacheReads = new Map<Expr, { readonly cache: string; readonly x: LoopVar }>();

  constructor(private readonly k: Kernel) {
    this.an = new KernelAnalysis(k);
    this.outFlat = flatIndex(k.vars.map(idxVar), k.shape);
    this.roots = this.an.roots;
  }

  private stmts(loop: Loop): string[] {
    let list = this.loopStmts.get(loop);
    if (!list) this.loopStmts.set(loop, (list = []));
    return list;
  }

  source(): string {
    const k = this.k;
    const head = [
      ...k.inputs.map((_, i) => `const in${i} = ins[${i}];`),
      ...k.outputs.map((_, i) => `const out${i} = outs[${i}];`),
      ...k.args.map((_, i) => `const a${i} = args[${i}];`),
    ];
    const tiled = this.an.rowCaches.length ? undefined : findDotTile(k, this.an);
    const body = tiled ? this.emitTiled(tiled) : this.emitGeneric();
    return [
      '"use strict";',
      ...this.preamble,
      `return function ${k.name}(ins, outs, args) {`,
      ...head.map((l) => '  ' + l),
      ...body.map((l) => '  ' + l),
      '};',
    ].join('\n');
  }

  // ---- generic loop nest ----

  private emitGeneric(): string[] {
    const k = this.k;
    const innermost = k.vars.length ? this.an.outputLoops[k.vars.length - 1] : this.an.top;
    const done = new Set<Expr>();
    // Row caches: the reduction loop stores the value, the output loop reads it (and never computes it).
    const storeTo = new Map<Expr, string>();
    this.an.rowCaches.forEach((c, i) => {
      this.preamble.push(`const rc${i} = new Float64Array(${c.outVar.size});`);
      storeTo.set(c.stored, `rc${i}[i${c.reduce.vars[0].id}]`);
      this.cacheReads.set(c.read, { cache: `rc${i}`, x: c.outVar });
      done.add(c.read);
    });
    // Temporaries of the innermost loop body, in order (the unrolled copies rename them).
    const innerTemps: Expr[] = [];
    let innerLoops = false;
    const visit = (e: Expr) => {
      if (done.has(e)) return;
      done.add(e);
      exprArgs(e).forEach(visit);
      const cacheSlot = storeTo.get(e);
      if (!this.an.isTemporary(e) && !cacheSlot) return;
      const name = `t${e.id}`;
      const block = this.an.loopOf(e);
      if (block === innermost) {
        if (e.kind === 'reduce') innerLoops = true;
        else innerTemps.push(e);
      }
      if (e.kind === 'reduce') this.stmts(block).push(...this.reduceLoop(e, name));
      else this.stmts(block).push(`const ${name} = ${this.inline(e, defaultName)};`);
      if (cacheSlot) this.stmts(block).push(`${cacheSlot} = ${name};`);
      this.temps.set(e, name);
    };
    this.roots.forEach(visit);

    const lines: string[] = [...this.stmts(this.an.top)];
    const stores = k.outputs.map((o, i) => `out${i}[o] = ${this.ref(o.expr, defaultName)};`);
    if (k.vars.length === 0) return [...lines, 'const o = 0;', ...stores];
    lines.push('let o = 0;');
    const last = k.vars[k.vars.length - 1];
    const unroll = !innerLoops && last.size >= 2 * UNROLL;
    let indent = '';
    k.vars.forEach((x, i) => {
      if (unroll && x === last) return;
      lines.push(`${indent}for (let i${x.id} = 0; i${x.id} < ${x.size}; i${x.id}++) {`);
      indent += '  ';
      lines.push(...this.stmts(this.an.outputLoops[i]).map((s) => indent + s));
    });
    if (unroll) lines.push(...this.unrolledLoop(last, innerTemps).map((s) => indent + s));
    else lines.push(...stores.map((s) => indent + s), `${indent}o++;`);
    for (let i = k.vars.length - (unroll ? 2 : 1); i >= 0; i--) lines.push(`${'  '.repeat(i)}}`);
    return lines;
  }

  /**
   * The innermost output loop, its body repeated UNROLL times per iteration
   * (element i + u of copy u), then the remaining elements one at a time.
   * V8 does not unroll or vectorise: this halves the loop overhead that
   * dominates cheap elementwise kernels.
   */
  private unrolledLoop(x: LoopVar, temps: readonly Expr[]): string[] {
    const i = `i${x.id}`;
    const copy = (u: number): string[] => {
      const names: Names = (v) => (v === x && u ? `(${i} + ${u})` : `i${v.id}`);
      const flat = u ? `o + ${u}` : 'o';
      const subst = new Map<Expr, string>();
      const out: string[] = [];
      for (const e of temps) {
        const name = `t${e.id}_${u}`;
        out.push(`const ${name} = ${this.inline(e, names, subst, flat)};`);
        subst.set(e, name);
      }
      this.k.outputs.forEach((o, j) => out.push(`out${j}[${flat}] = ${this.ref(o.expr, names, subst, flat)};`));
      return out;
    };
    const body: string[] = [];
    for (let u = 0; u < UNROLL; u++) body.push(...copy(u));
    const lines = [
      `let ${i} = 0;`,
      `for (; ${i} < ${x.size - UNROLL + 1}; ${i} += ${UNROLL}) {`,
      ...body.map((s) => '  ' + s),
      `  o += ${UNROLL};`,
      '}',
    ];
    if (x.size % UNROLL)
      lines.push(`for (; ${i} < ${x.size}; ${i}++) {`, ...copy(0).map((s) => '  ' + s), '  o++;', '}');
    return lines;
  }

  private reduceLoop(e: ReduceExpr, name: string): string[] {
    const inner = this.stmts(this.an.bodyLoop(e));
    const init = jsLiteral(reduceIdentity(e.op, e.dtype));
    const update = `${name} = ${JS_OPS[reduceCombine(e.op)]([name, this.ref(e.body, defaultName)], e.dtype, e.dtype)};`;
    const lines = [`let ${name} = ${init};`];
    let indent = '';
    for (const x of e.vars) {
      lines.push(`${indent}for (let i${x.id} = 0; i${x.id} < ${x.size}; i${x.id}++) {`);
      indent += '  ';
    }
    lines.push(...inner.map((s) => indent + s), indent + update);
    for (let i = e.vars.length - 1; i >= 0; i--) lines.push(`${'  '.repeat(i)}}`);
    return lines;
  }

  /**
   * How `e` is written: a substituted name, a temporary, a row-cache read or
   * inline code. `flat` is how the output's flat index is written (`o` in the
   * plain loop nest).
   */
  private ref(e: Expr, names: Names, subst?: Map<Expr, string>, flat?: string): string {
    const s = subst?.get(e);
    if (s !== undefined) return s;
    const cached = this.cacheReads.get(e);
    if (cached) return `${cached.cache}[${names(cached.x)}]`;
    return this.temps.get(e) ?? this.inline(e, names, subst, flat);
  }

  private inline(
    e: Expr,
    names: Names,
    subst?: Map<Expr, string>,
    flat = names === defaultName ? 'o' : undefined,
  ): string {
    const r = (x: Expr) => this.ref(x, names, subst, flat);
    // An indirect load's index values are expressions of the kernel, written like any operand.
    const value = (atom: ValueIdx) => r(atomSource(atom));
    switch (e.kind) {
      case 'lit':
        return jsLiteral(e.value);
      case 'arg':
        return `a${e.slot}`;
      case 'index':
        return jsIndex(e.at, names, value);
      case 'load':
        return `in${e.input}[${flat !== undefined && e.at === this.outFlat && this.outFlat.kind !== 'num' ? flat : jsIndex(e.at, names, value)}]`;
      case 'reduce':
        throw new Error('codegen: a reduction must be a temporary');
      case 'op':
        return JS_OPS[e.op](e.args.map(r), e.dtype, e.args[0].dtype);
    }
  }

  // ---- register-tiled dot ----

  private emitTiled(t: DotTile): string[] {
    const k = this.k;
    const { vM, vN } = t;
    const M = vM.size;
    const N = vN.size;
    const rvars = t.r.vars;
    const R = rvars.reduce((acc, x) => acc * x.size, 1);
    const NP = Math.ceil(N / 4) * 4;
    // Packed operands: B as panels of 4 columns (k-major), A as 4 rows (k-major).
    this.preamble.push(
      `const PB = new Float64Array(${R * NP});`,
      `const PA = new Float64Array(${R * 4});`,
      'const T = new Float64Array(16);',
    );
    const outer = k.vars.filter((x) => x !== vM && x !== vN);
    const outerSet = new Set(outer);
    // Values that depend only on outer axes are computed once per outer iteration.
    const hoist = new Map<Expr, string>();
    const seen = new Set<Expr>();
    const collect = (e: Expr) => {
      if (seen.has(e) || e === t.r) return;
      seen.add(e);
      const fv = this.an.freeVars(e);
      if (e.kind === 'op' && fv.size > 0 && [...fv].every((x) => outerSet.has(x))) {
        hoist.set(e, `h${e.id}`);
        return;
      }
      exprArgs(e).forEach(collect);
    };
    for (const e of [t.a, t.b, k.outputs[0].expr]) collect(e);
    const names =
      (m: string, nn: string): Names =>
      (x) =>
        x === vM ? m : x === vN ? nn : `i${x.id}`;
    const reduceLoops = (body: string[]): string[] => {
      const lines = ['let kk = 0;'];
      rvars.forEach((x, d) =>
        lines.push(`${'  '.repeat(d)}for (let i${x.id} = 0; i${x.id} < ${x.size}; i${x.id}++) {`),
      );
      const ind = '  '.repeat(rvars.length);
      lines.push(...body.map((l) => ind + l), `${ind}kk++;`);
      for (let d = rvars.length - 1; d >= 0; d--) lines.push(`${'  '.repeat(d)}}`);
      return ['{', ...lines.map((l) => '  ' + l), '}'];
    };
    const epilogue = (m: string, nn: string, acc: string) => {
      const subst = new Map(hoist);
      subst.set(t.r, acc);
      const nm = names(m, nn);
      return `out0[${jsIndex(this.outFlat, nm)}] = ${this.ref(k.outputs[0].expr, nm, subst)};`;
    };
    const body: string[] = [];
    for (const [e, name] of hoist) body.push(`const ${name} = ${this.inline(e, defaultName, hoist)};`);
    const packB = [
      ...(NP !== N ? ['PB.fill(0);'] : []),
      `for (let iN = 0; iN < ${N}; iN++) {`,
      ...reduceLoops([
        `PB[((iN >> 2) * ${R} + kk) * 4 + (iN & 3)] = ${this.inline(t.b, names('?', 'iN'), hoist)};`,
      ]).map((l) => '  ' + l),
      '}',
    ];
    // B is packed once per call when it does not vary with the outer (batch) axes.
    const bOuter = [...this.an.freeVars(t.b)].some((x) => outerSet.has(x));
    if (bOuter) body.push(...packB);
    body.push(`for (let iM = 0; iM < ${M}; iM += 4) {`);
    for (let q = 0; q < 4; q++) {
      body.push(`  if (iM + ${q} < ${M}) {`);
      body.push(
        ...reduceLoops([`PA[kk * 4 + ${q}] = ${this.inline(t.a, names(`(iM + ${q})`, '?'), hoist)};`]).map(
          (l) => '    ' + l,
        ),
      );
      body.push(`  } else for (let kk = 0; kk < ${R}; kk++) PA[kk * 4 + ${q}] = 0;`);
    }
    const cs: string[] = [];
    for (let q = 0; q < 4; q++) for (let c = 0; c < 4; c++) cs.push(`c${q}${c}`);
    body.push(`  for (let jN = 0; jN < ${N}; jN += 4) {`);
    body.push(`    let ${cs.map((c) => `${c} = 0`).join(', ')};`);
    body.push(`    const base = (jN >> 2) * ${R * 4};`);
    body.push(`    for (let kk = 0; kk < ${R}; kk++) {`);
    body.push('      const pa = kk * 4, pb = base + kk * 4;');
    body.push('      const a0 = PA[pa], a1 = PA[pa + 1], a2 = PA[pa + 2], a3 = PA[pa + 3];');
    body.push('      const b0 = PB[pb], b1 = PB[pb + 1], b2 = PB[pb + 2], b3 = PB[pb + 3];');
    for (let q = 0; q < 4; q++) body.push(`      ${[0, 1, 2, 3].map((c) => `c${q}${c} += a${q} * b${c};`).join(' ')}`);
    body.push('    }');
    body.push(`    if (iM + 4 <= ${M} && jN + 4 <= ${N}) {`);
    for (let q = 0; q < 4; q++)
      for (let c = 0; c < 4; c++) body.push(`      ${epilogue(`(iM + ${q})`, `(jN + ${c})`, `c${q}${c}`)}`);
    body.push('    } else {');
    body.push(`      ${cs.map((c, i) => `T[${i}] = ${c};`).join(' ')}`);
    body.push(
      `      for (let q = 0; q < Math.min(4, ${M} - iM); q++) for (let c = 0; c < Math.min(4, ${N} - jN); c++) {`,
    );
    body.push(`        ${epilogue('(iM + q)', '(jN + c)', 'T[q * 4 + c]')}`);
    body.push('      }');
    body.push('    }');
    body.push('  }');
    body.push('}');
    const lines: string[] = bOuter ? [] : packB;
    outer.forEach((x, d) => lines.push(`${'  '.repeat(d)}for (let i${x.id} = 0; i${x.id} < ${x.size}; i${x.id}++) {`));
    lines.push(...body.map((l) => '  '.repeat(outer.length) + l));
    for (let d = outer.length - 1; d >= 0; d--) lines.push(`${'  '.repeat(d)}}`);
    return lines;
  }
}
