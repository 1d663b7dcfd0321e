/**
 * gpu.js code generation for one kernel of a plan.
 *
 * Each kernel becomes gpu.js kernel source (a `function` string) with one
 * thread per output element over a flat 1-D output: `this.thread.x` is the
 * flat index and the output's loop variables are recovered from it. gpu.js
 * translates the source to GLSL, where every value is a float, so:
 *  - Index arithmetic is float arithmetic on integers, exact below 2^24.
 *    Floor division and modulo by a constant multiply by the reciprocal, floor,
 *    and correct the quotient by one from the exact remainder (a plain
 *    division can land just below a whole number and floor one short).
 *  - int32 values travel as floats: exact below 2^24 in magnitude (no 32-bit
 *    wrap-around); bools are 0/1.
 *  - Ops are written by the table in op-table.ts; those GL computes wrongly
 *    (tanh, sigmoid, log1p, expm1, pow, round) arrive already decomposed
 *    (passes/decompose.ts). Infinities, NaN and literals without an exact
 *    decimal form travel as extra uniform arguments (GLSL has no literal for
 *    them; gpu.js turns `Infinity` into the largest float).
 *  - Loop placement comes from the shared analysis (backends/common): all
 *    output axes are known at the top level, a reduction opens a scope.
 *  - Reads whose index may fall outside their buffer (the dead branch of a
 *    pad or concat `where`) are clamped into it.
 *  - Values are statements with temporaries, never deep nested expressions.
 *  - Reductions are loops with literal bounds (shapes are baked in); scalar
 *    arguments are uniforms, so new scalar values never recompile.
 * GL runs at most about 65,535 loop iterations per output element and drops
 * the rest silently, so a kernel whose reduction is longer is split into two
 * gpu.js kernels: partial reductions over chunks, then the reduction of the
 * partials with the kernel's epilogue.
 */
import {
  type DType,
  type Expr,
  type ExprOp,
  type Idx,
  type Kernel,
  type LoopVar,
  type OpExpr,
  type ReduceExpr,
  LazygradError,
  atomSource,
  exprArgs,
  reduceCombine,
  reduceIdentity,
  sym,
} from '../../ir';
import { KernelAnalysis, type Loop } from '../common/analysis';
import { GPUJS_OPS, glLiteral } from './op-table';

const { range, idxVars } = sym;

/** Loop iterations per output element that llvmpipe runs reliably (its cap is about 65,535). */
export const LOOP_CAP = 65_000;
/** Flat indices are f32 in the shaders: exact below 2^24. */
export const MAX_ELEMENTS = 1 << 24;

/** Where a gpu.js kernel argument comes from. */
export type StepArg =
  | { readonly kind: 'input'; readonly slot: number }
  | { readonly kind: 'partial' }
  | { readonly kind: 'scalar'; readonly slot: number }
  | { readonly kind: 'const'; readonly value: number };

/** One gpu.js kernel call. */
export interface GpuStep {
  readonly source: string;
  readonly threads: number;
  readonly args: readonly StepArg[];
  /** 'partial' feeds the next step; 'out' is the kernel's output buffer. */
  readonly writes: 'partial' | 'out';
}

export interface LoweredKernel {
  /** Evaluated on the host (the `random` primitive). */
  readonly host: boolean;
  readonly steps: readonly GpuStep[];
}

type Red = ReduceExpr;

interface Split {
  readonly red: Red;
  /** Index of the reduction variable cut into chunks; earlier ones index partials, later ones stay loops. */
  readonly axis: number;
  readonly chunk: number;
  readonly chunks: number;
  /** Partials per output element. */
  readonly parts: number;
}

type Mode = { kind: 'normal' } | { kind: 'partial'; split: Split } | { kind: 'final'; split: Split };

const prod = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);

/** Loop iterations of a loop nest per run (each level's iterations count). */
function nestCost(sizes: readonly number[]): number {
  let total = 0;
  let m = 1;
  for (const s of sizes) {
    m *= s;
    total += m;
  }
  return total;
}

function hasRandom(e: Expr, seen = new Set<Expr>()): boolean {
  if (seen.has(e)) return false;
  seen.add(e);
  if (e.kind === 'op' && e.op === 'random') return true;
  return exprArgs(e).some((c) => hasRandom(c, seen));
}

/** Reductions of an expression with their loop iterations per element. */
function loopCost(root: Expr): { total: number; reds: Red[]; nested: boolean } {
  const seen = new Set<Expr>();
  const reds: Red[] = [];
  let total = 0;
  let nested = false;
  const walk = (e: Expr, mult: number) => {
    if (seen.has(e)) return;
    seen.add(e);
    if (e.kind === 'reduce') {
      reds.push(e);
      if (mult > 1) nested = true;
      total += mult * nestCost(e.vars.map((v) => v.size));
      walk(e.body, mult * prod(e.vars.map((v) => v.size)));
      return;
    }
    exprArgs(e).forEach((c) => walk(c, mult));
  };
  walk(root, 1);
  return { total, reds, nested };
}

function planSplit(k: Kernel, red: Red, outElems: number): Split {
  const sizes = red.vars.map((v) => v.size);
  const total = prod(sizes);
  // The first axis whose inner loops fit the cap with room for a chunk.
  let axis = 0;
  while (axis < sizes.length - 1 && 1 + nestCost(sizes.slice(axis + 1)) > LOOP_CAP) axis++;
  const innerCost = nestCost(sizes.slice(axis + 1));
  const inner = prod(sizes.slice(axis + 1));
  // About sqrt(total) iterations per partial: enough threads, short final pass.
  const want = Math.ceil(Math.sqrt(total));
  const maxChunk = Math.floor(LOOP_CAP / (1 + innerCost));
  const chunk = Math.max(1, Math.min(sizes[axis], maxChunk, Math.ceil(want / inner)));
  const chunks = Math.ceil(sizes[axis] / chunk);
  const parts = prod(sizes.slice(0, axis)) * chunks;
  if (parts > LOOP_CAP || outElems * parts > MAX_ELEMENTS) {
    throw new LazygradError(
      `gpujs: kernel ${k.name} reduces ${total} elements per output element, too many to split into two passes (GL loop cap ${LOOP_CAP})`,
    );
  }
  return { red, axis, chunk, chunks, parts };
}

/** The gpu.js kernels that compute one plan kernel. `inputSizes`: element count per input slot. */
export function lowerKernel(k: Kernel, inputSizes: readonly number[]): LoweredKernel {
  if (k.outputs.length !== 1)
    throw new LazygradError(
      `gpujs: kernel ${k.name} has ${k.outputs.length} outputs; the gpujs backend writes one output per kernel`,
    );
  const root = k.outputs[0].expr;
  if (hasRandom(root)) return { host: true, steps: [] };
  const outElems = prod(k.shape);
  if (outElems === 0) return { host: false, steps: [] }; // nothing to compute
  if (outElems > MAX_ELEMENTS)
    throw new LazygradError(
      `gpujs: kernel ${k.name} has ${outElems} output elements; the gpujs backend indexes in float32, exact up to 2^24 = ${MAX_ELEMENTS}`,
    );
  const { total, reds, nested } = loopCost(root);
  if (total <= LOOP_CAP) return { host: false, steps: [new Emitter(k, inputSizes, { kind: 'normal' }).step()] };
  if (reds.length !== 1 || nested) {
    throw new LazygradError(
      `gpujs: kernel ${k.name} runs ${total} loop iterations per element in ${reds.length} reductions; over the GL loop cap of ${LOOP_CAP} only a single reduction can be split`,
    );
  }
  const split = planSplit(k, reds[0], outElems);
  return {
    host: false,
    steps: [
      new Emitter(k, inputSizes, { kind: 'partial', split }).step(),
      new Emitter(k, inputSizes, { kind: 'final', split }).step(),
    ],
  };
}

interface Scope {
  readonly depth: number;
  readonly lines: string[];
}

class Emitter {
  private readonly root: Scope = { depth: 0, lines: [] };
  private readonly varName = new Map<LoopVar, string>();
  private readonly an: KernelAnalysis;
  /** The scope holding each loop's statements (the top level and output axes: the root scope). */
  private readonly scopes = new Map<Loop, Scope>();
  private readonly names = new Map<Expr, string>();
  private readonly divmods = new Map<string, { q: string; r: string }>();
  private readonly args: StepArg[] = [];
  private readonly params: string[] = [];
  private readonly constNames = new Map<string, string>();
  private tmp = 0;
  /** The flat output index (the final pass reads its partials at outFlat * parts). */
  private outFlat = 'g';

  constructor(
    private readonly k: Kernel,
    private readonly inputSizes: readonly number[],
    private readonly mode: Mode,
  ) {
    const boundAtTop = mode.kind === 'partial' ? mode.split.red.vars.slice(0, mode.split.axis) : [];
    this.an = new KernelAnalysis(k, { flatOutputs: true, boundAtTop });
    this.scopes.set(this.an.top, this.root);
    k.inputs.forEach((_, s) => this.param(`in${s}`, { kind: 'input', slot: s }));
    if (mode.kind === 'final') this.param('part', { kind: 'partial' });
    k.args.forEach((_, s) => this.param(`a${s}`, { kind: 'scalar', slot: s }));
  }

  private param(name: string, arg: StepArg): string {
    this.params.push(name);
    this.args.push(arg);
    return name;
  }

  /** A uniform holding a value GLSL has no literal for (Infinity, NaN, -0, inexact decimals). */
  private special(v: number): string {
    const key = Object.is(v, -0) ? '-0' : String(v);
    let name = this.constNames.get(key);
    if (!name) {
      name = this.param(`s${this.constNames.size}`, { kind: 'const', value: v });
      this.constNames.set(key, name);
    }
    return name;
  }

  private num(v: number): string {
    return glLiteral(v) ?? this.special(v);
  }

  private fresh(prefix = 't'): string {
    return `${prefix}${this.tmp++}`;
  }

  private threads(): number {
    const out = prod(this.k.shape);
    return this.mode.kind === 'partial' ? out * this.mode.split.parts : out;
  }

  step(): GpuStep {
    const body = this.emitBody();
    const name = `${this.k.name.replace(/[^A-Za-z0-9_]/g, '_')}_${this.mode.kind}_${this.threads()}`;
    // gpu.js bakes argument texture sizes into the shader: the sizes are part of the source (the cache key).
    const sizes = this.args.map((a) =>
      a.kind === 'input'
        ? this.inputSizes[a.slot]
        : a.kind === 'partial'
          ? prod(this.k.shape) * (this.mode as { split: Split }).split.parts
          : '-',
    );
    const source = [
      `function ${name}(${this.params.join(', ')}) {`,
      `  // argument sizes: ${sizes.join(', ')}`,
      ...body.map((l) => '  ' + l),
      '}',
    ].join('\n');
    return {
      source,
      threads: this.threads(),
      args: this.args,
      writes: this.mode.kind === 'partial' ? 'partial' : 'out',
    };
  }

  // ---- scopes and names ----

  private scopeOfVars(vars: Iterable<LoopVar>): Scope {
    const scope = this.scopes.get(this.an.loopOfVars(vars));
    if (!scope) throw new Error(`gpujs codegen: kernel ${this.k.name} uses a loop variable outside its loop`);
    return scope;
  }

  private push(scope: Scope, line: string): void {
    scope.lines.push(line);
  }

  // ---- flat index decomposition ----

  /** Floor quotient and remainder of integer `a` by constant `c` > 0 (exact for |a| below 2^24). */
  private divmod(a: string, key: string, c: number, scope: Scope): { q: string; r: string } {
    const memoKey = `${key}/${c}`;
    const hit = this.divmods.get(memoKey);
    if (hit) return hit;
    const q = this.fresh('q');
    const r = this.fresh('r');
    const cl = this.num(c);
    // a * (1/c) is within one of the quotient; the exact remainder fixes it.
    this.push(scope, `let ${q} = Math.floor(${a} * ${this.num(1 / c)});`);
    this.push(scope, `let ${r} = ${a} - ${q} * ${cl};`);
    this.push(scope, `if (${r} < 0.0) { ${q} = ${q} - 1.0; ${r} = ${r} + ${cl}; }`);
    this.push(scope, `if (${r} >= ${cl}) { ${q} = ${q} + 1.0; ${r} = ${r} - ${cl}; }`);
    const res = { q, r };
    this.divmods.set(memoKey, res);
    return res;
  }

  /** Names variables `vars` (sizes) from flat index `flat`, row-major. */
  private unflatten(flat: string, vars: readonly LoopVar[], scope: Scope): void {
    let rem = flat;
    for (let d = vars.length - 1; d >= 0; d--) {
      const x = vars[d];
      if (x.size === 1) {
        this.varName.set(x, '0.0');
        continue;
      }
      if (d === 0) {
        this.varName.set(x, rem);
        continue;
      }
      const { q, r } = this.divmod(rem, rem, x.size, scope);
      this.varName.set(x, r);
      rem = q;
    }
  }

  private idx(i: Idx): string {
    switch (i.kind) {
      case 'num':
        return this.num(i.value);
      case 'var': {
        const n = this.varName.get(i.variable);
        if (!n) throw new Error(`gpujs codegen: loop variable ${i.variable.id} has no name`);
        return n;
      }
      case 'value':
        // An indirect load's index: a temporary of the kernel, clamped into range when it was built.
        return this.value(atomSource(i));
      case 'add':
        return `(${i.terms.map((t) => this.idx(t)).join(' + ')})`;
      case 'mul':
        return `(${this.idx(i.operand)} * ${this.num(i.constant)})`;
      case 'div':
      case 'mod': {
        const scope = this.scopeOfVars(idxVars(i.operand));
        const { q, r } = this.divmod(this.idx(i.operand), i.operand.key, i.constant, scope);
        return i.kind === 'div' ? q : r;
      }
    }
  }

  // ---- the kernel body ----

  private emitBody(): string[] {
    const k = this.k;
    const root = this.root;
    this.push(root, 'const g = this.thread.x;');
    if (this.mode.kind === 'partial') {
      const sp = this.mode.split;
      const { q: o, r: p } = this.divmod('g', 'g', sp.parts, root);
      this.outFlat = o;
      this.unflatten(o, k.vars, root);
      // The partial index: the reduction's leading variables, then the chunk.
      const { q: lead, r: chunk } = sp.chunks === 1 ? { q: p, r: '0.0' } : this.divmod(p, p, sp.chunks, root);
      this.unflatten(lead, sp.red.vars.slice(0, sp.axis), root);
      const acc = this.emitPartial(sp, chunk);
      this.push(root, `return ${acc};`);
    } else {
      this.outFlat = 'g';
      this.unflatten('g', k.vars, root);
      const v = this.value(k.outputs[0].expr);
      this.push(root, `return ${v};`);
    }
    return root.lines;
  }

  /** The value of `e` as a literal, uniform or temporary (emitting its statements). */
  private value(e: Expr): string {
    if (e.kind === 'lit') return this.num(e.value);
    if (e.kind === 'arg') return `a${e.slot}`;
    const hit = this.names.get(e);
    if (hit) return hit;
    let name: string;
    if (e.kind === 'reduce')
      name =
        this.mode.kind === 'final' && e === this.mode.split.red ? this.emitFinal(this.mode.split) : this.emitReduce(e);
    else {
      const scope = this.scopeOfVars(this.an.freeVars(e));
      if (e.kind === 'index') name = this.bind(scope, this.idx(e.at));
      else if (e.kind === 'load') name = this.bind(scope, this.load(e.input, e.at, scope));
      else name = this.op(e, scope);
    }
    this.names.set(e, name);
    return name;
  }

  private bind(scope: Scope, rhs: string): string {
    const n = this.fresh();
    this.push(scope, `const ${n} = ${rhs};`);
    return n;
  }

  private load(slot: number, at: Idx, scope: Scope): string {
    const size = this.inputSizes[slot];
    if (size === 0) return '0.0'; // an empty input is never read in a live branch
    const [lo, hi] = range(at);
    // A fixed index is written as one literal: gpu.js types an operation on two whole-number
    // literals inside brackets as an int, for which the shader has no texture read.
    let i = lo === hi ? this.num(lo) : this.idx(at);
    // Clamped in a statement of its own: inside brackets gpu.js types Math.min/max operands as ints.
    if (lo < 0 || hi > size - 1) i = this.bind(scope, `Math.min(Math.max(${i}, 0.0), ${this.num(size - 1)})`);
    return `in${slot}[${i}]`;
  }

  private reduceInit(e: Red): string {
    return this.num(reduceIdentity(e.op, e.dtype));
  }

  private update(e: Red, acc: string, v: string): string {
    return `${acc} = ${this.apply(reduceCombine(e.op), [acc, v], e.dtype, e.dtype)};`;
  }

  /** Writes `levels` of nested blocks (each an opening line and declarations) around `inner`'s lines and `tail`. */
  private nest(scope: Scope, levels: readonly { open: string; decls: string[] }[], inner: Scope, tail: string): void {
    let ind = '';
    for (const l of levels) {
      scope.lines.push(ind + l.open);
      ind += '  ';
      for (const d of l.decls) scope.lines.push(ind + d);
    }
    for (const l of inner.lines) scope.lines.push(ind + l);
    scope.lines.push(ind + tail);
    for (let d = levels.length - 1; d >= 0; d--) scope.lines.push(`${'  '.repeat(d)}}`);
  }

  /** Loop levels over `vars` (literal bounds; a float copy of each counter). */
  private loops(vars: readonly LoopVar[]): { open: string; decls: string[] }[] {
    return vars.map((x) => {
      this.varName.set(x, `v${x.id}`);
      return {
        open: `for (let j${x.id} = 0; j${x.id} < ${x.size}; j${x.id}++) {`,
        decls: [`const v${x.id} = j${x.id} + 0.0;`],
      };
    });
  }

  private emitReduce(e: Red): string {
    const scope = this.scopeOfVars(this.an.freeVars(e));
    const acc = this.fresh('acc');
    this.push(scope, `let ${acc} = ${this.reduceInit(e)};`);
    const inner: Scope = { depth: scope.depth + 1, lines: [] };
    this.scopes.set(this.an.bodyLoop(e), inner);
    const levels = this.loops(e.vars);
    const v = this.value(e.body);
    this.nest(scope, levels, inner, this.update(e, acc, v));
    return acc;
  }

  /** Partial reduction over one chunk of the split axis (the leading axes are already named). */
  private emitPartial(sp: Split, chunk: string): string {
    const e = sp.red;
    const root = this.root;
    const acc = this.fresh('acc');
    this.push(root, `let ${acc} = ${this.reduceInit(e)};`);
    const inner: Scope = { depth: 1, lines: [] };
    this.scopes.set(this.an.bodyLoop(e), inner);
    const x = e.vars[sp.axis];
    this.varName.set(x, `v${x.id}`);
    const levels = [
      {
        open: `for (let cj = 0; cj < ${sp.chunk}; cj++) {`,
        decls: [`const v${x.id} = ${chunk} * ${this.num(sp.chunk)} + cj;`],
      },
    ];
    if (sp.chunk * sp.chunks !== x.size) levels.push({ open: `if (v${x.id} < ${this.num(x.size)}) {`, decls: [] });
    levels.push(...this.loops(e.vars.slice(sp.axis + 1)));
    const v = this.value(e.body);
    this.nest(root, levels, inner, this.update(e, acc, v));
    return acc;
  }

  /** The final pass: the reduction of the partials of this output element. */
  private emitFinal(sp: Split): string {
    const acc = this.fresh('acc');
    const root = this.root;
    this.push(root, `let ${acc} = ${this.reduceInit(sp.red)};`);
    this.push(root, `for (let cp = 0; cp < ${sp.parts}; cp++) {`);
    this.push(root, `  const pv = part[${this.outFlat} * ${this.num(sp.parts)} + cp];`);
    this.push(root, `  ${this.update(sp.red, acc, 'pv')}`);
    this.push(root, '}');
    return acc;
  }

  // ---- elementwise ops ----

  private apply(op: ExprOp, args: readonly string[], to: DType, from: DType): string {
    const write = GPUJS_OPS[op];
    if (!write) throw new Error(`gpujs codegen: kernel ${this.k.name}: '${op}' must be decomposed or run on the host`);
    return write(args, { to, from, num: (v) => this.num(v) });
  }

  private op(e: OpExpr, scope: Scope): string {
    const args = e.args.map((x) => this.value(x));
    const text = this.apply(e.op, args, e.dtype, e.args[0].dtype);
    // A cast that changes nothing is its operand.
    return text === args[0] ? text : this.bind(scope, text);
  }
}
