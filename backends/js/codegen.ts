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
  type RowCache,
  exprArgs,
  freeVars,
  rowCaches,
  sym,
  type Idx,
} from '../../ir';

const { renderIdx, flatIndex, idxVar } = sym;

interface Block {
  readonly depth: number;
  readonly stmts: string[];
}

const UNARY_F: Record<string, string> = {
  exp: 'Math.exp',
  log: 'Math.log',
  sqrt: 'Math.sqrt',
  sin: 'Math.sin',
  cos: 'Math.cos',
  tanh: 'Math.tanh',
  log1p: 'Math.log1p',
  expm1: 'Math.expm1',
  sigmoid: 'sigmoid',
  sign: 'Math.sign',
};
const COMPARE: Record<string, string> = { lt: '<', le: '<=', gt: '>', ge: '>=', eq: '===', ne: '!==' };

function literal(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '-Infinity';
  if (Object.is(v, -0)) return '-0';
  return v < 0 ? `(${v})` : String(v);
}

type Names = (x: LoopVar) => string;

/** A dot-like kernel's reduction `r` = sum of a * b, with a varying along output axis vM and b along vN. */
interface TilePlan {
  readonly r: Expr & { readonly kind: 'reduce' };
  readonly a: Expr;
  readonly b: Expr;
  readonly vM: LoopVar;
  readonly vN: LoopVar;
}
const defaultName: Names = (x) => `i${x.id}`;
/** Copies of the innermost loop body per iteration (loops of at least twice this are unrolled). */
const UNROLL = 4;

/** Source of a factory `(rnd, sigmoid) => kernel(ins, outs, args)`. */
export function generateKernelSource(k: Kernel): string {
  return new KernelEmitter(k).source();
}

class KernelEmitter {
  private readonly fvMemo = new Map<Expr, Set<LoopVar>>();
  private readonly uses = new Map<Expr, number>();
  private readonly blockMemo = new Map<Expr, Block>();
  private readonly varBlock = new Map<LoopVar, Block>();
  private readonly reduceInner = new Map<Expr, Block>();
  private readonly owner = new Map<LoopVar, Expr>();
  private readonly temps = new Map<Expr, string>();
  private readonly levels: Block[];
  private readonly outFlat: Idx;
  private readonly roots: readonly Expr[];
  private readonly preamble: string[] = [];
  private readonly caches: readonly RowCache[];
  /** Row-cache reads: the cache array and the output axis indexing it. */
  private readonly cacheReads = new Map<Expr, { readonly cache: string; readonly x: LoopVar }>();

  constructor(private readonly k: Kernel) {
    this.levels = [{ depth: 0, stmts: [] }, ...k.vars.map((_, i) => ({ depth: i + 1, stmts: [] }))];
    k.vars.forEach((x, i) => this.varBlock.set(x, this.levels[i + 1]));
    this.outFlat = flatIndex(k.vars.map(idxVar), k.shape);
    this.roots = k.outputs.map((o) => o.expr);
    for (const r of this.roots) this.count(r);
    this.caches = rowCaches(k.vars, this.roots);
  }

  private count(e: Expr): void {
    const n = (this.uses.get(e) ?? 0) + 1;
    this.uses.set(e, n);
    if (n > 1) return;
    if (e.kind === 'reduce') for (const x of e.vars) this.owner.set(x, e);
    exprArgs(e).forEach((c) => this.count(c));
  }

  private fv(e: Expr): Set<LoopVar> {
    return freeVars(e, this.fvMemo);
  }

  private blockOfVar(x: LoopVar): Block {
    let b = this.varBlock.get(x);
    if (!b) {
      const r = this.owner.get(x);
      if (!r) throw new Error(`codegen: loop variable ${x.id} has no loop`);
      this.blockOf(r);
      b = this.varBlock.get(x)!;
    }
    return b;
  }

  private blockOf(e: Expr): Block {
    let b = this.blockMemo.get(e);
    if (b) return b;
    b = this.levels[0];
    for (const x of this.fv(e)) {
      const xb = this.blockOfVar(x);
      if (xb.depth > b.depth) b = xb;
    }
    this.blockMemo.set(e, b);
    if (e.kind === 'reduce') {
      const inner: Block = { depth: b.depth + 1, stmts: [] };
      this.reduceInner.set(e, inner);
      for (const x of e.vars) this.varBlock.set(x, inner);
    }
    return b;
  }

  /** The block in which `child` is used by `parent`. */
  private useBlock(parent: Expr): Block {
    return parent.kind === 'reduce' ? this.reduceInner.get(parent)! : this.blockOf(parent);
  }

  source(): string {
    const k = this.k;
    const head = [
      ...k.inputs.map((_, i) => `const in${i} = ins[${i}];`),
      ...k.outputs.map((_, i) => `const out${i} = outs[${i}];`),
      ...k.args.map((_, i) => `const a${i} = args[${i}];`),
    ];
    const tiled = this.caches.length ? undefined : this.tiledPlan();
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
    const innermost = this.levels[this.levels.length - 1];
    const visited = new Set<Expr>();
    const userBlocks = new Map<Expr, Block[]>();
    const noteUses = (e: Expr) => {
      if (visited.has(e)) return;
      visited.add(e);
      for (const c of exprArgs(e)) {
        const list = userBlocks.get(c) ?? [];
        list.push(this.useBlock(e));
        userBlocks.set(c, list);
        noteUses(c);
      }
    };
    for (const r of this.roots) {
      const list = userBlocks.get(r) ?? [];
      list.push(innermost);
      userBlocks.set(r, list);
      noteUses(r);
    }
    const isTemp = (e: Expr) => {
      if (e.kind === 'lit' || e.kind === 'arg') return false;
      if (e.kind === 'reduce') return true;
      if ((this.uses.get(e) ?? 0) > 1 && e.kind !== 'index') return true;
      const mine = this.blockOf(e);
      return (userBlocks.get(e) ?? []).some((b) => b !== mine);
    };
    const done = new Set<Expr>();
    // Row caches: the reduction loop stores the value, the output loop reads it (and never computes it).
    const storeTo = new Map<Expr, string>();
    this.caches.forEach((c, i) => {
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
      if (!isTemp(e) && !cacheSlot) return;
      const name = `t${e.id}`;
      const block = this.blockOf(e);
      if (block === innermost) {
        if (e.kind === 'reduce') innerLoops = true;
        else innerTemps.push(e);
      }
      if (e.kind === 'reduce') block.stmts.push(...this.reduceLoop(e, name));
      else block.stmts.push(`const ${name} = ${this.inline(e, defaultName)};`);
      if (cacheSlot) block.stmts.push(`${cacheSlot} = ${name};`);
      this.temps.set(e, name);
    };
    this.roots.forEach(visit);

    const lines: string[] = [...this.levels[0].stmts];
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
      lines.push(...this.levels[i + 1].stmts.map((s) => indent + s));
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

  private reduceLoop(e: Expr & { kind: 'reduce' }, name: string): string[] {
    const inner = this.reduceInner.get(e)!;
    const init = e.op === 'sum' ? '0' : e.dtype === 'i32' ? '-2147483648' : '-Infinity';
    const body = this.ref(e.body, defaultName);
    const update =
      e.op === 'max'
        ? `${name} = Math.max(${name}, ${body});`
        : e.dtype === 'i32'
          ? `${name} = (${name} + ${body}) | 0;`
          : `${name} += ${body};`;
    const lines = [`let ${name} = ${init};`];
    let indent = '';
    for (const x of e.vars) {
      lines.push(`${indent}for (let i${x.id} = 0; i${x.id} < ${x.size}; i${x.id}++) {`);
      indent += '  ';
    }
    lines.push(...inner.stmts.map((s) => indent + s), indent + update);
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
    switch (e.kind) {
      case 'lit':
        return literal(e.value);
      case 'arg':
        return `a${e.slot}`;
      case 'index':
        return renderIdx(e.at, names);
      case 'load':
        return `in${e.input}[${flat !== undefined && e.at === this.outFlat && this.outFlat.kind !== 'num' ? flat : renderIdx(e.at, names)}]`;
      case 'reduce':
        throw new Error('codegen: a reduction must be a temporary');
      case 'op': {
        const a = e.args.map(r);
        const int = e.dtype === 'i32';
        switch (e.op) {
          case 'neg':
            return int ? `((-${a[0]}) | 0)` : `(-${a[0]})`;
          case 'abs':
            return int ? `(Math.abs(${a[0]}) | 0)` : `Math.abs(${a[0]})`;
          case 'not':
            return `(1 - ${a[0]})`;
          case 'add':
            return int ? `((${a[0]} + ${a[1]}) | 0)` : `(${a[0]} + ${a[1]})`;
          case 'sub':
            return int ? `((${a[0]} - ${a[1]}) | 0)` : `(${a[0]} - ${a[1]})`;
          case 'mul':
            return int ? `Math.imul(${a[0]}, ${a[1]})` : `(${a[0]} * ${a[1]})`;
          case 'div':
            return `(${a[0]} / ${a[1]})`;
          case 'pow':
            return `Math.pow(${a[0]}, ${a[1]})`;
          case 'maximum':
            return `Math.max(${a[0]}, ${a[1]})`;
          case 'minimum':
            return `Math.min(${a[0]}, ${a[1]})`;
          case 'and':
            return `(${a[0]} & ${a[1]})`;
          case 'or':
            return `(${a[0]} | ${a[1]})`;
          case 'where':
            return `(${a[0]} !== 0 ? ${a[1]} : ${a[2]})`;
          case 'random':
            return `rnd(${a[0]}, ${a[1]})`;
          case 'cast': {
            const from = e.args[0].dtype;
            if (e.dtype === from || e.dtype === 'f32') return a[0];
            if (e.dtype === 'i32') return from === 'bool' ? a[0] : `(${a[0]} | 0)`;
            return `(${a[0]} !== 0 ? 1 : 0)`;
          }
          default: {
            const cmp = COMPARE[e.op];
            if (cmp) return `(${a[0]} ${cmp} ${a[1]} ? 1 : 0)`;
            const fn = UNARY_F[e.op];
            if (fn) return `${fn}(${a[0]})`;
            throw new Error(`codegen: no JS for op ${e.op}`);
          }
        }
      }
    }
  }

  // ---- register-tiled dot ----

  /**
   * The tile of a dot-like kernel: its one reduction, a sum of a * b, and two
   * output axes, vM read only by a and vN only by b (the last such axes, so
   * a plain matmul tiles its last two; a convolution its spatial and channel
   * axes, whatever order the output has).
   */
  private tiledPlan(): TilePlan | undefined {
    const k = this.k;
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
    // int32 dots need wrapping products (Math.imul): the generic loop does that.
    if (reduces.length !== 1 || r.kind !== 'reduce' || r.op !== 'sum' || r.dtype === 'i32') return undefined;
    const body = r.body;
    if (body.kind !== 'op' || body.op !== 'mul') return undefined;
    const [x, y] = body.args;
    const fx = this.fv(x);
    const fy = this.fv(y);
    const only = (f: Set<LoopVar>, g: Set<LoopVar>) => k.vars.filter((v) => f.has(v) && !g.has(v) && v.size >= 4);
    const ox = only(fx, fy);
    const oy = only(fy, fx);
    if (!ox.length || !oy.length) return undefined;
    // b owns the innermost candidate axis (vN), a the innermost of its own (vM).
    const yLast = k.vars.indexOf(oy[oy.length - 1]) > k.vars.indexOf(ox[ox.length - 1]);
    const [a, b, vM, vN] = yLast
      ? [x, y, ox[ox.length - 1], oy[oy.length - 1]]
      : [y, x, oy[oy.length - 1], ox[ox.length - 1]];
    // Small products are not worth packing.
    if (vM.size * vN.size < 64) return undefined;
    // Nothing else inside the tile may hold a reduction.
    const hasReduce = (e: Expr): boolean => e.kind === 'reduce' || exprArgs(e).some(hasReduce);
    if (hasReduce(a) || hasReduce(b)) return undefined;
    return { r, a, b, vM, vN };
  }

  private emitTiled(t: TilePlan): string[] {
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
      const fv = this.fv(e);
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
      return `out0[${renderIdx(this.outFlat, nm)}] = ${this.ref(k.outputs[0].expr, nm, subst)};`;
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
    const bOuter = [...this.fv(t.b)].some((x) => outerSet.has(x));
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
