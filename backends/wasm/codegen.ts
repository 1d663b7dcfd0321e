/**
 * WebAssembly code generation for one kernel: a module with one exported
 * function `kernel(inputs..., outputs..., args..., scratch)` over the
 * backend's memory, where buffers are byte offsets.
 *
 * The loop nest and the placement of every value follow the shared kernel
 * analysis, as on js: each output axis is a loop, values are computed in
 * the outermost loop that binds their variables, reductions broadcast over
 * a row run once per row, costly row values are kept in a scratch row.
 * Two kinds of SIMD:
 *  - the innermost output loop runs 4 output elements per iteration (lanes
 *    are consecutive elements), then the remaining ones one by one; inside
 *    it reductions keep 4-lane accumulators (a column sum is 4 columns at
 *    once);
 *  - a reduction computed per element of a scalar loop (a row sum) runs 4
 *    steps of its innermost variable per iteration when its reads are
 *    contiguous along it, then folds the lanes.
 * A read whose lanes are not contiguous gathers lane by lane; one whose
 * index may leave its buffer (a padded view, guarded by `where`) is
 * clamped into it, since `select` evaluates both sides.
 *
 * Threads: the function takes a range `[lo, hi)` of one parallel axis
 * (`WasmKernel.parallel`: the outermost output axis, or the dot's outer
 * axis, rows or columns) and computes only the outputs in it, each exactly
 * as the whole-range call would (ranges split at multiples of `grain`, so
 * every element keeps its vector or scalar path and its summation order).
 */
import {
  type DType,
  type Expr,
  type ExprOp,
  type Kernel,
  type LoadExpr,
  type LoopVar,
  type ReduceExpr,
  type Idx,
  type ValueIdx,
  atomSource,
  exprArgs,
  reduceCombine,
  reduceIdentity,
  sym,
} from '../../ir';
import { KernelAnalysis, type Loop } from '../common/analysis';
import { type DotTile, findDotTile } from '../common/dot-tile';
import { FunctionBuilder, ModuleBuilder, type ValType } from './encoder';
import { MathLibrary } from './math';
import {
  type CompareOp,
  type OpContext,
  type Operand,
  SCALAR_OPS,
  VECTOR_COMPARES,
  VECTOR_OPS,
  valType,
} from './op-table';

export interface WasmKernelOptions {
  /** Elements of each input buffer, by input slot: reads that could leave a buffer are clamped into it. */
  readonly inputSizes: readonly number[];
  /** Whether the engine has relaxed SIMD: the dot micro-kernel then uses `f32x4.relaxed_madd`. */
  readonly relaxedSimd?: boolean;
  /** The memory the module imports: a shared one (threads) needs its maximum in pages. */
  readonly memory?: { readonly maximumPages: number; readonly shared: boolean };
}

export interface WasmKernel {
  /** The module as WebAssembly text: the kernel's readable source and its cache key. */
  readonly text: string;
  readonly bytes: Uint8Array;
  /** Bytes of scratch memory the kernel needs (row caches, packed panels): each thread gets its own. */
  readonly scratchBytes: number;
  /**
   * The axis the kernel's range parameters split: `extent` positions, split
   * only at multiples of `grain` (the last range may end at `extent`).
   * Unset: the kernel runs whole, on one thread.
   */
  readonly parallel?: { readonly extent: number; readonly grain: number };
  /** Loop iterations of the whole kernel, roughly (outputs times reduction lengths): what a split must pay for. */
  readonly work: number;
}

/** A loop bound: a constant, or the value of a local. */
type Bound = number | { readonly local: number };

export function generateWasmKernel(k: Kernel, opts: WasmKernelOptions): WasmKernel {
  return new WasmKernelEmitter(k, opts).emit();
}

const elementShift = (dtype: DType) => (dtype === 'bool' ? 0 : 2);

interface Local {
  readonly index: number;
  readonly vector: boolean;
}

/** Where a value is being computed: scalar, or 4 lanes along loop variable `vec`; the temporaries in scope. */
interface Ctx {
  readonly vec?: LoopVar;
  readonly locals: Map<Expr, Local>;
}

/** Pushes the value of an index's value atom (an indirect load's index) onto the stack. */
type AtomPusher = (atom: ValueIdx) => void;

/** Reductions whose innermost variable is shorter than this are not vectorised along it. */
const MIN_VECTOR_REDUCTION = 8;

/** The dot micro-kernel: MR rows by NR columns of accumulators (MR * NR / 4 vectors of V8's 16 registers). */
const MR = 4;
const NR = 8;
/** Floats of B one column block keeps in the L2 cache while every row panel passes over it. */
const L2_FLOATS = 1 << 16;

class WasmKernelEmitter {
  private readonly an: KernelAnalysis;
  private readonly mod: ModuleBuilder;
  private readonly fb: FunctionBuilder;
  private readonly inputParam: (i: number) => number;
  private readonly outputParam: (i: number) => number;
  private readonly argParam: (i: number) => number;
  private readonly scratchParam: number;
  private readonly varLocals = new Map<LoopVar, number>();
  private readonly opContext: OpContext;
  private readonly outFlat: Idx;
  private oLocal = -1;
  /** Temporaries of each loop, in order. */
  private readonly loopItems = new Map<Loop, Expr[]>();
  /** Row caches: the byte offset of the row in scratch and the variable indexing it. */
  private readonly cacheStores = new Map<Expr, { readonly offset: number; readonly x: LoopVar }>();
  private readonly cacheReads = new Map<Expr, { readonly offset: number; readonly x: LoopVar }>();
  private scratchBytes = 0;
  private parallel: WasmKernel['parallel'];
  private readonly loParam: number;
  private readonly hiParam: number;

  constructor(
    private readonly k: Kernel,
    private readonly opts: WasmKernelOptions,
  ) {
    this.an = new KernelAnalysis(k);
    const memory = opts.memory;
    this.mod = new ModuleBuilder(
      memory?.shared ? { initial: 1, maximum: memory.maximumPages, shared: true } : { initial: 1 },
    );
    this.outFlat = sym.flatIndex(k.vars.map(sym.idxVar), k.shape);
    const argTypes = k.args.map((_, i) => this.argDType(i));
    const params: ValType[] = [
      ...k.inputs.map((): ValType => 'i32'),
      ...k.outputs.map((): ValType => 'i32'),
      ...argTypes.map(valType),
      'i32', // lo
      'i32', // hi
      'i32', // scratch
    ];
    this.inputParam = (i) => i;
    this.outputParam = (i) => k.inputs.length + i;
    this.argParam = (i) => k.inputs.length + k.outputs.length + i;
    this.loParam = params.length - 3;
    this.hiParam = params.length - 2;
    this.scratchParam = params.length - 1;
    this.fb = new FunctionBuilder(k.name.replace(/[^\w.]/g, '_'), params, []);
    this.mod.addFunction(this.fb, 'kernel');
    const math = new MathLibrary(this.mod);
    this.opContext = {
      fb: this.fb,
      math: (fn) => math.scalar(fn),
    };
  }

  /** The dtype of scalar argument `slot`, from the expressions that read it. */
  private argDType(slot: number): DType {
    const e = this.an.order.find((x) => x.kind === 'arg' && x.slot === slot);
    return e?.dtype ?? 'f32';
  }

  emit(): WasmKernel {
    if (!this.k.shape.includes(0)) {
      const tile = this.an.rowCaches.length ? undefined : findDotTile(this.k, this.an);
      if (tile) this.emitTiled(tile);
      else this.emitGeneric();
    }
    return {
      text: this.mod.toText(),
      bytes: this.mod.encode(),
      scratchBytes: this.scratchBytes,
      parallel: this.parallel,
      work: this.work(),
    };
  }

  private work(): number {
    const size = (vars: readonly LoopVar[]) => vars.reduce((n, x) => n * x.size, 1);
    const perOutput = this.an.reductions.reduce((n, r) => n + size(r.vars), 1);
    return size(this.k.vars) * perOutput;
  }

  // ---- placement ----

  private items(loop: Loop): Expr[] {
    let list = this.loopItems.get(loop);
    if (!list) this.loopItems.set(loop, (list = []));
    return list;
  }

  private planTemps() {
    const an = this.an;
    const done = new Set<Expr>();
    for (const c of an.rowCaches) {
      const offset = this.scratchBytes;
      this.scratchBytes += c.outVar.size * 4;
      this.cacheStores.set(c.stored, { offset, x: c.reduce.vars[0] });
      this.cacheReads.set(c.read, { offset, x: c.outVar });
      done.add(c.read);
    }
    const visit = (e: Expr) => {
      if (done.has(e)) return;
      done.add(e);
      exprArgs(e).forEach(visit);
      if (an.isTemporary(e) || this.cacheStores.has(e)) this.items(an.loopOf(e)).push(e);
    };
    an.roots.forEach(visit);
  }

  // ---- the loop nest ----

  private varLocal(x: LoopVar): number {
    let l = this.varLocals.get(x);
    if (l === undefined) this.varLocals.set(x, (l = this.fb.local('i32')));
    return l;
  }

  private pushBound(b: Bound) {
    if (typeof b === 'number') this.fb.op('i32.const', b);
    else this.fb.op('local.get', b.local);
  }

  /** `for (x = from; x < to; x += step) body()` as a do-while (the caller ensures from < to). */
  private countedLoop(x: number, from: Bound, to: Bound, step: number, body: () => void, also?: number) {
    const fb = this.fb;
    this.pushBound(from);
    fb.op('local.set', x);
    fb.op('loop', 'void');
    body();
    if (also !== undefined) fb.op('local.get', also).op('i32.const', step).op('i32.add').op('local.set', also);
    fb.op('local.get', x).op('i32.const', step).op('i32.add').op('local.tee', x);
    this.pushBound(to);
    fb.op('i32.lt_s').op('br_if', 0);
    fb.op('end');
  }

  /** The same loop where `from < to` may not hold: skipped then (checked at run time where a bound is a local). */
  private guardedLoop(x: number, from: Bound, to: Bound, step: number, body: () => void, also?: number) {
    if (typeof from === 'number' && typeof to === 'number') {
      if (from < to) this.countedLoop(x, from, to, step, body, also);
      return;
    }
    this.pushBound(from);
    this.pushBound(to);
    this.fb.op('i32.lt_s').op('if', 'void');
    this.countedLoop(x, from, to, step, body, also);
    this.fb.op('end');
  }

  /** A local holding min(a, b) (or max), or the constant when both are constants. */
  private clampBound(a: Bound, b: Bound, which: 'min' | 'max'): Bound {
    if (typeof a === 'number' && typeof b === 'number') return which === 'min' ? Math.min(a, b) : Math.max(a, b);
    const fb = this.fb;
    const out = fb.local('i32');
    this.pushBound(a);
    this.pushBound(b);
    this.pushBound(a);
    this.pushBound(b);
    fb.op(which === 'min' ? 'i32.lt_s' : 'i32.gt_s')
      .op('select')
      .op('local.set', out);
    return { local: out };
  }

  /** The range parameters [lo, hi) as bounds, or [from, to) when `split` is false. */
  private range(split: boolean, from: number, to: number): [Bound, Bound] {
    return split ? [{ local: this.loParam }, { local: this.hiParam }] : [from, to];
  }

  private emitGeneric() {
    const k = this.k;
    const fb = this.fb;
    this.planTemps();
    const locals = new Map<Expr, Local>();
    const top: Ctx = { locals };
    this.emitItems(this.an.top, top);
    this.oLocal = fb.local('i32');
    fb.op('i32.const', 0).op('local.set', this.oLocal);
    if (k.vars.length === 0) {
      this.emitStores(top);
      return;
    }
    // Split the outermost axis, unless the top level computes a reduction: every thread would redo it.
    const split = !(this.loopItems.get(this.an.top) ?? []).some((e) => e.kind === 'reduce');
    if (split) {
      this.parallel = { extent: k.vars[0].size, grain: k.vars.length === 1 ? 4 : 1 };
      // The flat output index starts at lo times the size of the inner axes.
      const inner = k.vars.slice(1).reduce((n, x) => n * x.size, 1);
      fb.op('local.get', this.loParam).op('i32.const', inner).op('i32.mul').op('local.set', this.oLocal);
    }
    const nest = (d: number) => {
      const x = k.vars[d];
      const loop = this.an.outputLoops[d];
      const xl = this.varLocal(x);
      const [from, to] = this.range(split && d === 0, 0, x.size);
      if (d < k.vars.length - 1) {
        this.countedLoop(xl, from, to, 1, () => {
          this.emitItems(loop, top);
          nest(d + 1);
        });
        return;
      }
      const innermost = (ctx: Ctx) => {
        this.emitItems(loop, ctx);
        this.emitStores(ctx);
      };
      // The 4-lane part ends where the whole axis's does: ranges start at multiples of 4.
      let vectorEnd: Bound = x.size >= 4 ? x.size - (x.size % 4) : 0;
      if (typeof from !== 'number' && x.size >= 4) vectorEnd = this.clampBound(to, vectorEnd, 'min');
      fb.comment(`4 lanes along i${x.id}`);
      this.guardedLoop(xl, from, vectorEnd, 4, () => innermost({ vec: x, locals: new Map(locals) }), this.oLocal);
      this.guardedLoop(
        xl,
        this.clampBound(from, vectorEnd, 'max'),
        to,
        1,
        () => innermost({ locals: new Map(locals) }),
        this.oLocal,
      );
    };
    nest(0);
  }

  private emitItems(loop: Loop, ctx: Ctx) {
    for (const e of this.loopItems.get(loop) ?? []) this.emitTemp(e, ctx);
  }

  private emitTemp(e: Expr, ctx: Ctx) {
    const fb = this.fb;
    const vector = ctx.vec !== undefined;
    if (e.kind === 'reduce') this.emitReduce(e, ctx);
    else this.push(e, ctx);
    const index = fb.local(vector ? 'v128' : valType(e.dtype));
    fb.op('local.set', index);
    ctx.locals.set(e, { index, vector });
    const cache = this.cacheStores.get(e);
    if (cache) {
      this.scratchAddress(cache.offset, cache.x);
      fb.op('local.get', index);
      if (vector) fb.op('v128.store');
      else fb.op(e.dtype === 'f32' ? 'f32.store' : 'i32.store');
    }
  }

  /** Address of element `x` of a row cache in scratch. */
  private scratchAddress(offset: number, x: LoopVar) {
    this.fb.op('local.get', this.scratchParam).op('local.get', this.varLocal(x)).op('i32.const', 2).op('i32.shl');
    this.fb.op('i32.add');
    if (offset) this.fb.op('i32.const', offset).op('i32.add');
  }

  private emitStores(ctx: Ctx) {
    const fb = this.fb;
    this.k.outputs.forEach((o, i) => {
      fb.op('local.get', this.outputParam(i)).op('local.get', this.oLocal);
      this.store(o.expr, ctx);
    });
  }

  /** Stores `value` (scalar or 4 contiguous lanes) at the output base and element index on the stack. */
  private store(value: Expr, ctx: Ctx) {
    const fb = this.fb;
    const dtype = value.dtype;
    if (elementShift(dtype)) fb.op('i32.const', elementShift(dtype)).op('i32.shl');
    fb.op('i32.add');
    this.push(value, ctx);
    if (ctx.vec === undefined) fb.op(dtype === 'f32' ? 'f32.store' : dtype === 'i32' ? 'i32.store' : 'i32.store8');
    else if (dtype !== 'bool') fb.op('v128.store', { align: 0 });
    else {
      // Four 0/1 lanes to four bytes.
      const v = fb.local('v128');
      fb.op('local.tee', v).op('local.get', v).op('i16x8.narrow_i32x4_u');
      fb.op('local.tee', v).op('local.get', v).op('i8x16.narrow_i16x8_u').op('v128.store32_lane', { align: 0 }, 0);
    }
  }

  // ---- register-tiled dot ----

  /**
   * A dot-like kernel as packed panels and a SIMD micro-kernel: B packed
   * once (or per outer iteration when it varies with them) as panels of NR
   * columns, k-major; A as panels of MR rows, k-major; each prologue value
   * computed once per element while packing. For every MR x NR tile, MR * NR / 4
   * vector accumulators run over the whole reduction (B's panel and A's
   * panel stream from L2 and L1), then the epilogue is applied 4 lanes at
   * a time and stored. Columns are taken in blocks that keep their panels
   * of B in L2 while every row panel passes.
   */
  private emitTiled(t: DotTile) {
    const fb = this.fb;
    const k = this.k;
    const { vM, vN } = t;
    const M = vM.size;
    const N = vN.size;
    const rvars = t.r.vars;
    const R = rvars.reduce((n, x) => n * x.size, 1);
    const NP = Math.ceil(N / NR) * NR;
    const MP = Math.ceil(M / MR) * MR;
    const pbBytes = NP * R * 4;
    this.scratchBytes = pbBytes + MP * R * 4;
    const NC = Math.min(NP, Math.max(NR, Math.floor(L2_FLOATS / R / NR) * NR));
    const outer = k.vars.filter((x) => x !== vM && x !== vN);
    const outerSet = new Set(outer);
    const bOuter = [...this.an.freeVars(t.b)].some((x) => outerSet.has(x));
    // Threads split the outer (batch) axis when it is long enough, else rows or columns of tiles,
    // whichever has more; each thread packs its part of the split operand and all of the other.
    const split = outer.length && outer[0].size >= 4 ? 'outer' : MP / MR >= NP / NR ? 'rows' : 'cols';
    this.parallel =
      split === 'outer'
        ? { extent: outer[0].size, grain: 1 }
        : split === 'rows'
          ? { extent: MP, grain: MR }
          : { extent: NP, grain: NR };
    const kk = fb.local('i32');
    const scalar: Ctx = { locals: new Map() };
    const scratch = () => fb.op('local.get', this.scratchParam);

    /** Runs `body` over every reduction index, with kk counting them. */
    const overReduction = (body: () => void) => {
      fb.op('i32.const', 0).op('local.set', kk);
      const rec = (d: number) => {
        if (d === rvars.length) {
          body();
          fb.op('local.get', kk).op('i32.const', 1).op('i32.add').op('local.set', kk);
          return;
        }
        this.countedLoop(this.varLocal(rvars[d]), 0, rvars[d].size, 1, () => rec(d + 1));
      };
      rec(0);
    };

    const packB = () => {
      fb.comment('pack B: panels of NR columns, k-major');
      const xn = this.varLocal(vN);
      // PB[((iN / NR) * R + kk) * NR + iN % NR], 4 columns at a time (they share a panel)
      const address = () => {
        scratch();
        fb.op('local.get', xn)
          .op('i32.const', Math.log2(NR))
          .op('i32.shr_u')
          .op('i32.const', R * NR)
          .op('i32.mul');
        fb.op('local.get', kk).op('i32.const', NR).op('i32.mul').op('i32.add');
        fb.op('local.get', xn)
          .op('i32.const', NR - 1)
          .op('i32.and')
          .op('i32.add');
        fb.op('i32.const', 2).op('i32.shl').op('i32.add');
      };
      // Columns [from, to): 4 at a time up to the last full group of 4, then one by one, then zero padding.
      const [from, to] = this.range(split === 'cols', 0, NP);
      const vectorEnd = N - (N % 4);
      const vectorTo = this.clampBound(to, vectorEnd, 'min');
      const scalarFrom = this.clampBound(from, vectorEnd, 'max');
      const scalarTo = this.clampBound(to, N, 'min');
      const padFrom = this.clampBound(from, N, 'max');
      overReduction(() => {
        this.guardedLoop(xn, from, vectorTo, 4, () => {
          address();
          this.push(t.b, { vec: vN, locals: new Map() });
          fb.op('v128.store');
        });
        this.guardedLoop(xn, scalarFrom, scalarTo, 1, () => {
          address();
          this.push(t.b, scalar);
          fb.op('f32.store');
        });
        this.guardedLoop(xn, padFrom, to, 1, () => {
          address();
          fb.op('f32.const', 0).op('f32.store');
        });
      });
    };

    const packA = () => {
      fb.comment('pack A: panels of MR rows, k-major');
      const xm = this.varLocal(vM);
      const rowBase = fb.local('i32');
      // PA[((iM / MR) * R + kk) * MR + iM % MR]
      const [from, to] = this.range(split === 'rows', 0, MP);
      this.countedLoop(xm, from, to, 1, () => {
        scratch();
        fb.op('local.get', xm)
          .op('i32.const', MR)
          .op('i32.div_u')
          .op('i32.const', R * MR)
          .op('i32.mul');
        fb.op('local.get', xm).op('i32.const', MR).op('i32.rem_u').op('i32.add');
        fb.op('i32.const', 2).op('i32.shl').op('i32.add').op('i32.const', pbBytes).op('i32.add');
        fb.op('local.set', rowBase);
        const pack = (value: () => void) =>
          overReduction(() => {
            fb.op('local.get', rowBase)
              .op('local.get', kk)
              .op('i32.const', MR * 4)
              .op('i32.mul')
              .op('i32.add');
            value();
            fb.op('f32.store');
          });
        if (MP === M) return pack(() => this.push(t.a, scalar));
        fb.op('local.get', xm).op('i32.const', M).op('i32.lt_s').op('if', 'void');
        pack(() => this.push(t.a, scalar));
        fb.op('else');
        pack(() => void fb.op('f32.const', 0));
        fb.op('end');
      });
    };

    const micro = () => {
      const iM = fb.local('i32');
      const jN = fb.local('i32');
      const jc = fb.local('i32');
      const jEnd = fb.local('i32');
      const pa = fb.local('i32');
      const pb = fb.local('i32');
      const cols = NR / 4;
      const acc = Array.from({ length: MR }, () => Array.from({ length: cols }, () => fb.local('v128')));
      const bv = Array.from({ length: cols }, () => fb.local('v128'));
      const av = fb.local('v128');
      fb.comment(`micro-kernel ${MR}x${NR}, column blocks of ${NC}`);
      const [colFrom, colTo] = this.range(split === 'cols', 0, NP);
      const [rowFrom, rowTo] = this.range(split === 'rows', 0, MP);
      this.countedLoop(jc, colFrom, colTo, NC, () => {
        // jEnd = min(jc + NC, colTo)
        fb.op('local.get', jc).op('i32.const', NC).op('i32.add').op('local.tee', jEnd);
        this.pushBound(colTo);
        fb.op('local.get', jEnd);
        this.pushBound(colTo);
        fb.op('i32.lt_s').op('select').op('local.set', jEnd);
        this.countedLoop(iM, rowFrom, rowTo, MR, () => {
          fb.op('local.get', jc).op('local.set', jN);
          fb.op('loop', 'void');
          for (const row of acc) for (const a of row) fb.op('v128.const', new Array(16).fill(0)).op('local.set', a);
          // pa = PA + iM * R * 4, pb = PB + jN * R * 4 (the panels' starts)
          scratch();
          fb.op('local.get', iM)
            .op('i32.const', R * 4)
            .op('i32.mul')
            .op('i32.add');
          fb.op('i32.const', pbBytes).op('i32.add').op('local.set', pa);
          scratch();
          fb.op('local.get', jN)
            .op('i32.const', R * 4)
            .op('i32.mul')
            .op('i32.add')
            .op('local.set', pb);
          // One step of the reduction: NR / 4 vectors of B, each row's A splatted, MR * NR / 4 multiply-adds.
          const step = () => {
            bv.forEach((b, c) =>
              fb
                .op('local.get', pb)
                .op('v128.load', { offset: 16 * c })
                .op('local.set', b),
            );
            acc.forEach((row, q) => {
              fb.op('local.get', pa)
                .op('v128.load32_splat', { offset: 4 * q })
                .op('local.set', av);
              row.forEach((a, c) => {
                if (this.opts.relaxedSimd) {
                  fb.op('local.get', av).op('local.get', bv[c]).op('local.get', a).op('f32x4.relaxed_madd');
                } else {
                  fb.op('local.get', a).op('local.get', av).op('local.get', bv[c]).op('f32x4.mul').op('f32x4.add');
                }
                fb.op('local.set', a);
              });
            });
          };
          // Unrolling this loop measured slower (V8 then spills accumulators).
          this.countedLoop(kk, 0, R, 1, () => {
            step();
            fb.op('local.get', pa)
              .op('i32.const', MR * 4)
              .op('i32.add')
              .op('local.set', pa);
            fb.op('local.get', pb)
              .op('i32.const', NR * 4)
              .op('i32.add')
              .op('local.set', pb);
          });
          acc.forEach((row, q) => row.forEach((a, c) => this.tileEpilogue(t, a, iM, q, jN, 4 * c)));
          fb.op('local.get', jN).op('i32.const', NR).op('i32.add').op('local.tee', jN);
          fb.op('local.get', jEnd).op('i32.lt_s').op('br_if', 0);
          fb.op('end');
        });
      });
    };

    if (!bOuter) packB();
    const nest = (d: number) => {
      if (d === outer.length) {
        if (bOuter) packB();
        packA();
        micro();
        return;
      }
      const [from, to] = this.range(split === 'outer' && d === 0, 0, outer[d].size);
      this.countedLoop(this.varLocal(outer[d]), from, to, 1, () => nest(d + 1));
    };
    nest(0);
  }

  /** Applies the epilogue to the 4 accumulator lanes of row iM + q, columns jN + c .. + 3, and stores them. */
  private tileEpilogue(t: DotTile, acc: number, iM: number, q: number, jN: number, c: number) {
    const fb = this.fb;
    const { vM, vN } = t;
    const M = vM.size;
    const N = vN.size;
    const out = this.k.outputs[0].expr;
    fb.op('local.get', iM).op('i32.const', q).op('i32.add').op('local.set', this.varLocal(vM));
    fb.op('local.get', jN).op('i32.const', c).op('i32.add').op('local.set', this.varLocal(vN));
    const rowGuard = M % MR !== 0;
    if (rowGuard) fb.op('local.get', this.varLocal(vM)).op('i32.const', M).op('i32.lt_s').op('if', 'void');
    const vectorStore = () => {
      fb.op('local.get', this.outputParam(0));
      this.index(this.outFlat);
      this.store(out, { vec: vN, locals: new Map([[t.r, { index: acc, vector: true }]]) });
    };
    const laneStores = () => {
      const lane = fb.local('f32');
      for (let u = 0; u < 4; u++) {
        // Column jN + c + u, while it is inside the output.
        fb.op('local.get', jN)
          .op('i32.const', c + u)
          .op('i32.add')
          .op('local.tee', this.varLocal(vN));
        fb.op('i32.const', N).op('i32.lt_s').op('if', 'void');
        fb.op('local.get', acc).op('f32x4.extract_lane', u).op('local.set', lane);
        fb.op('local.get', this.outputParam(0));
        this.index(this.outFlat);
        this.store(out, { locals: new Map([[t.r, { index: lane, vector: false }]]) });
        fb.op('end');
      }
    };
    const contiguous = this.laneStride(this.outFlat, vN) === 1;
    if (N % NR === 0 && contiguous) vectorStore();
    else if (!contiguous) laneStores();
    else {
      // Full when jN + c + 4 <= N; the last, partial group lane by lane.
      fb.op('local.get', jN)
        .op('i32.const', c + 4)
        .op('i32.add')
        .op('i32.const', N)
        .op('i32.le_s')
        .op('if', 'void');
      vectorStore();
      fb.op('else');
      laneStores();
      fb.op('end');
    }
    if (rowGuard) fb.op('end');
  }

  // ---- reductions ----

  private emitReduce(e: ReduceExpr, ctx: Ctx) {
    const fb = this.fb;
    const combine = reduceCombine(e.op);
    const identity = reduceIdentity(e.op, e.dtype);
    const body = this.an.bodyLoop(e);
    const vector = ctx.vec !== undefined;
    const inner = (c: Ctx, acc: number) => {
      this.emitItems(body, c);
      this.applyOp(
        combine,
        [() => void fb.op('local.get', acc), () => this.push(e.body, c)],
        e.dtype,
        e.dtype,
        c.vec !== undefined,
      );
      fb.op('local.set', acc);
    };
    const loops = (vars: readonly LoopVar[], each: () => void) => {
      const rec = (d: number) => {
        if (d === vars.length) return each();
        this.countedLoop(this.varLocal(vars[d]), 0, vars[d].size, 1, () => rec(d + 1));
      };
      rec(0);
    };
    const scalarAcc = fb.local(valType(e.dtype));
    this.constant(e.dtype, identity, false);
    fb.op('local.set', scalarAcc);
    if (vector) {
      // 4 output elements at once: one accumulator lane each.
      const acc = fb.local('v128');
      this.constant(e.dtype, identity, true);
      fb.op('local.set', acc);
      loops(e.vars, () => inner({ vec: ctx.vec, locals: new Map(ctx.locals) }, acc));
      fb.op('local.get', acc);
      return;
    }
    const last = e.vars[e.vars.length - 1];
    if (!this.vectorisableReduction(e)) {
      loops(e.vars, () => inner({ locals: new Map(ctx.locals) }, scalarAcc));
      fb.op('local.get', scalarAcc);
      return;
    }
    fb.comment(`reduction: 4 lanes along i${last.id}`);
    const acc = fb.local('v128');
    this.constant(e.dtype, identity, true);
    fb.op('local.set', acc);
    const vectorEnd = last.size - (last.size % 4);
    const rl = this.varLocal(last);
    loops(e.vars.slice(0, -1), () => {
      this.countedLoop(rl, 0, vectorEnd, 4, () => inner({ vec: last, locals: new Map(ctx.locals) }, acc));
      if (vectorEnd < last.size)
        this.countedLoop(rl, vectorEnd, last.size, 1, () => inner({ locals: new Map(ctx.locals) }, scalarAcc));
    });
    // Fold the lanes: acc0 + acc1 + acc2 + acc3, then the scalar tail's accumulator.
    const laneOp = e.dtype === 'f32' ? 'f32x4.extract_lane' : 'i32x4.extract_lane';
    const lane = (i: number) => () => void fb.op('local.get', acc).op(laneOp, i);
    const pair = (a: Operand, b: Operand) => () => this.applyOp(combine, [a, b], e.dtype, e.dtype, false);
    this.applyOp(
      combine,
      [pair(pair(lane(0), lane(1)), pair(lane(2), lane(3))), () => void fb.op('local.get', scalarAcc)],
      e.dtype,
      e.dtype,
      false,
    );
  }

  /** Whether reduction `e`, in a scalar loop, can run 4 steps of its innermost variable at once. */
  private vectorisableReduction(e: ReduceExpr): boolean {
    const last = e.vars[e.vars.length - 1];
    if (last.size < MIN_VECTOR_REDUCTION) return false;
    // Every read along `last` is contiguous (gathers would cost more than they save), and no
    // reduction runs inside the body (one computed outside it, softmax's max in its sum, is a value).
    const depth = this.an.bodyLoop(e).depth;
    const seen = new Set<Expr>();
    const ok = (x: Expr): boolean => {
      if (seen.has(x)) return true;
      seen.add(x);
      if (x.kind === 'reduce') return this.an.loopOf(x).depth < depth;
      if (x.kind === 'load' && this.an.freeVars(x).has(last))
        return this.laneStride(x.at, last) === 1 && !this.needsClamp(x);
      return exprArgs(x).every(ok);
    };
    return ok(e.body);
  }

  // ---- values ----

  private constant(dtype: DType, v: number, vector: boolean) {
    const fb = this.fb;
    if (dtype === 'f32') fb.op('f32.const', v);
    else fb.op('i32.const', v | 0);
    if (vector) fb.op(dtype === 'f32' ? 'f32x4.splat' : 'i32x4.splat');
  }

  private splat(dtype: DType) {
    this.fb.op(dtype === 'f32' ? 'f32x4.splat' : 'i32x4.splat');
  }

  private applyOp(op: ExprOp, args: Operand[], dtype: DType, from: DType, vector: boolean) {
    if (!vector) return SCALAR_OPS[op](this.opContext, args, dtype, from);
    VECTOR_OPS[op](this.opContext, args, dtype, from);
  }

  /** Pushes `e`: a scalar, or in a vector context 4 lanes. */
  private push(e: Expr, ctx: Ctx) {
    const fb = this.fb;
    const vector = ctx.vec !== undefined;
    const local = ctx.locals.get(e);
    if (local) {
      fb.op('local.get', local.index);
      if (vector && !local.vector) this.splat(e.dtype);
      if (!vector && local.vector) fb.op(e.dtype === 'f32' ? 'f32x4.extract_lane' : 'i32x4.extract_lane', 0);
      return;
    }
    const cached = this.cacheReads.get(e);
    if (cached) {
      this.scratchAddress(cached.offset, cached.x);
      if (vector && ctx.vec === cached.x) return void fb.op('v128.load');
      fb.op(e.dtype === 'f32' ? 'f32.load' : 'i32.load');
      if (vector) this.splat(e.dtype);
      return;
    }
    if (vector && !this.an.freeVars(e).has(ctx.vec!)) {
      if (e.kind === 'lit') return this.constant(e.dtype, e.value, true);
      this.push(e, { locals: ctx.locals });
      this.splat(e.dtype);
      return;
    }
    switch (e.kind) {
      case 'lit':
        return this.constant(e.dtype, e.value, false);
      case 'arg':
        return void fb.op('local.get', this.argParam(e.slot));
      case 'index': {
        if (!vector) return this.index(e.at, undefined, this.atomPusher(ctx));
        const vectors = this.laneValues(e.at, ctx);
        return this.lanes('i32', (u) =>
          this.index(e.at, new Map([[ctx.vec!, this.laneVar(ctx.vec!, u)]]), this.atomPusher(ctx, { u, vectors })),
        );
      }
      case 'load':
        return vector ? this.vectorLoad(e, ctx) : this.scalarLoad(e, undefined, this.atomPusher(ctx));
      case 'reduce':
        throw new Error('wasm codegen: a reduction must be a temporary');
      case 'op':
        if (vector && e.op === 'where' && this.pushSelectByMask(e.args, ctx)) return;
        return this.applyOp(
          e.op,
          e.args.map((a) => () => this.push(a, ctx)),
          e.dtype,
          e.args[0].dtype,
          vector,
        );
    }
  }

  /**
   * A 4-lane `where` whose condition is a comparison computed here: selects by the comparison's
   * mask directly (no round trip through the 0/1 bool). False when the condition is not such.
   */
  private pushSelectByMask([cond, a, b]: readonly Expr[], ctx: Ctx): boolean {
    if (cond.kind !== 'op' || !(cond.op in VECTOR_COMPARES) || ctx.locals.has(cond) || this.cacheReads.has(cond))
      return false;
    if (!this.an.freeVars(cond).has(ctx.vec!)) return false;
    this.push(a, ctx);
    this.push(b, ctx);
    this.push(cond.args[0], ctx);
    this.push(cond.args[1], ctx);
    this.fb.op(VECTOR_COMPARES[cond.op as CompareOp][cond.args[0].dtype === 'f32' ? 0 : 1]).op('v128.bitselect');
    return true;
  }

  /** Builds a vector from 4 scalars: lane 0 splatted, then lanes 1-3 replaced. */
  private lanes(dtype: DType, lane: (u: number) => void) {
    const replace = dtype === 'f32' ? 'f32x4.replace_lane' : 'i32x4.replace_lane';
    lane(0);
    this.splat(dtype);
    for (let u = 1; u < 4; u++) {
      lane(u);
      this.fb.op(replace, u);
    }
  }

  /** A local holding `x + u` (lane u of a vector along x). */
  private laneVar(x: LoopVar, u: number): number {
    const l = this.fb.local('i32');
    this.fb.op('local.get', this.varLocal(x)).op('i32.const', u).op('i32.add').op('local.set', l);
    return l;
  }

  // ---- memory reads ----

  private needsClamp(e: LoadExpr): boolean {
    const [lo, hi] = sym.range(e.at);
    return lo < 0 || hi >= this.opts.inputSizes[e.input];
  }

  /**
   * How the value atoms of an index (an indirect load's index values) are pushed: computed in
   * `ctx` as scalars (equal in every lane when ctx is a vector context), or, for those in
   * `lanes.vectors`, as lane `lanes.u` of the 4-lane value computed beforehand.
   */
  private atomPusher(ctx: Ctx, lanes?: { readonly u: number; readonly vectors: Map<ValueIdx, number> }): AtomPusher {
    return (atom) => {
      const vector = lanes?.vectors.get(atom);
      if (vector !== undefined) this.fb.op('local.get', vector).op('i32x4.extract_lane', lanes!.u);
      else this.push(atomSource(atom), { locals: ctx.locals });
    };
  }

  /** The value atoms of `at` that vary along the vector variable, each computed on 4 lanes into a local. */
  private laneValues(at: Idx, ctx: Ctx): Map<ValueIdx, number> {
    const vectors = new Map<ValueIdx, number>();
    for (const atom of sym.valueAtoms(at)) {
      if (!atom.vars.includes(ctx.vec!)) continue;
      this.push(atomSource(atom), ctx);
      const local = this.fb.local('v128');
      this.fb.op('local.set', local);
      vectors.set(atom, local);
    }
    return vectors;
  }

  /** Pushes the element index of a load (clamped into its buffer where it could leave it). */
  private loadIndex(e: LoadExpr, over?: Map<LoopVar, number>, atoms?: AtomPusher) {
    if (over === undefined && this.oLocal >= 0 && e.at === this.outFlat && this.outFlat.kind !== 'num') {
      this.fb.op('local.get', this.oLocal);
      return;
    }
    this.index(e.at, over, atoms);
    if (!this.needsClamp(e)) return;
    const fb = this.fb;
    const t = fb.local('i32');
    const max = this.opts.inputSizes[e.input] - 1;
    fb.op('local.set', t);
    fb.op('i32.const', 0);
    fb.op('i32.const', max).op('local.get', t).op('local.get', t).op('i32.const', max).op('i32.gt_s').op('select');
    fb.op('local.get', t).op('i32.const', 0).op('i32.lt_s').op('select');
  }

  private loadAddress(e: LoadExpr, over?: Map<LoopVar, number>, atoms?: AtomPusher) {
    const fb = this.fb;
    fb.op('local.get', this.inputParam(e.input));
    this.loadIndex(e, over, atoms);
    const shift = elementShift(e.dtype);
    if (shift) fb.op('i32.const', shift).op('i32.shl');
    fb.op('i32.add');
  }

  private scalarLoad(e: LoadExpr, over?: Map<LoopVar, number>, atoms?: AtomPusher) {
    this.loadAddress(e, over, atoms);
    this.fb.op(e.dtype === 'f32' ? 'f32.load' : e.dtype === 'i32' ? 'i32.load' : 'i32.load8_u');
  }

  private vectorLoad(e: LoadExpr, ctx: Ctx) {
    const fb = this.fb;
    const x = ctx.vec!;
    const stride = this.needsClamp(e) ? undefined : this.laneStride(e.at, x);
    // With a fixed stride no index value varies along x: every lane's address comes from one.
    const atoms = this.atomPusher(ctx);
    if (stride === 1) {
      this.loadAddress(e, undefined, atoms);
      if (e.dtype !== 'bool') fb.op('v128.load', { align: 0 });
      else fb.op('v128.load32_zero', { align: 0 }).op('i16x8.extend_low_i8x16_u').op('i32x4.extend_low_i16x8_u');
      return;
    }
    if (stride !== undefined && stride > 0 && e.dtype !== 'bool') {
      // Lanes a fixed distance apart: one address, constant offsets.
      const base = fb.local('i32');
      this.loadAddress(e, undefined, atoms);
      fb.op('local.set', base);
      const bytes = stride << elementShift(e.dtype);
      this.lanes(e.dtype, (u) => {
        fb.op('local.get', base);
        fb.op(e.dtype === 'f32' ? 'f32.load' : 'i32.load', { offset: u * bytes, align: 0 });
      });
      return;
    }
    // Lane by lane (an indirect load whose index varies along x is such a gather).
    const vectors = this.laneValues(e.at, ctx);
    this.lanes(e.dtype, (u) =>
      this.scalarLoad(e, new Map([[x, this.laneVar(x, u)]]), this.atomPusher(ctx, { u, vectors })),
    );
  }

  /** The distance between the elements `at` reads for x and x + 1, when it is a constant (affine in x). */
  private laneStride(at: Idx, x: LoopVar): number | undefined {
    switch (at.kind) {
      case 'num':
        return 0;
      case 'var':
        return at.variable === x ? 1 : 0;
      case 'value':
        return at.vars.includes(x) ? undefined : 0;
      case 'add': {
        let s = 0;
        for (const t of at.terms) {
          const ts = this.laneStride(t, x);
          if (ts === undefined) return undefined;
          s += ts;
        }
        return s;
      }
      case 'mul': {
        const s = this.laneStride(at.operand, x);
        return s === undefined ? undefined : s * at.constant;
      }
      case 'div':
      case 'mod':
        return sym.idxVars(at.operand).has(x) ? undefined : 0;
    }
  }

  /**
   * Pushes an index expression as i32; `over` replaces loop variables by other locals, `atoms`
   * pushes the value atoms (an indirect load's index values).
   */
  private index(e: Idx, over?: Map<LoopVar, number>, atoms?: AtomPusher) {
    const fb = this.fb;
    switch (e.kind) {
      case 'num':
        fb.op('i32.const', e.value);
        return;
      case 'var':
        fb.op('local.get', over?.get(e.variable) ?? this.varLocal(e.variable));
        return;
      case 'value':
        if (!atoms) throw new Error(`wasm codegen: index value ${e.key} outside a load or index expression`);
        atoms(e);
        return;
      case 'add':
        e.terms.forEach((t, i) => {
          this.index(t, over, atoms);
          if (i > 0) fb.op('i32.add');
        });
        return;
      case 'mul':
        this.index(e.operand, over, atoms);
        fb.op('i32.const', e.constant).op('i32.mul');
        return;
      case 'div': {
        const c = e.constant;
        if (c <= 0) throw new Error(`wasm codegen: index division by ${c}`);
        this.index(e.operand, over, atoms);
        if ((c & (c - 1)) === 0) {
          // An arithmetic shift is floor division, negative operands included.
          fb.op('i32.const', Math.log2(c)).op('i32.shr_s');
          return;
        }
        if (sym.range(e.operand)[0] >= 0) {
          fb.op('i32.const', c).op('i32.div_u');
          return;
        }
        // floor(a / c) = trunc(a / c) - (a % c != 0 && a < 0)
        const a = fb.local('i32');
        fb.op('local.tee', a).op('i32.const', c).op('i32.div_s');
        fb.op('local.get', a).op('i32.const', c).op('i32.rem_s').op('i32.const', 0).op('i32.ne');
        fb.op('local.get', a).op('i32.const', 0).op('i32.lt_s').op('i32.and').op('i32.sub');
        return;
      }
      case 'mod': {
        const c = e.constant;
        this.index(e.operand, over, atoms);
        if (c > 0 && (c & (c - 1)) === 0 && sym.range(e.operand)[0] >= 0) fb.op('i32.const', c - 1).op('i32.and');
        else fb.op('i32.const', c).op('i32.rem_s');
        return;
      }
    }
  }
}
