/**
 * Lowers the nodes of one kernel to a kernel expression: each node is
 * evaluated at a symbolic multi-index. Movement ops only rewrite the index
 * (reshape, permute, expand, slice) or add a bounds check (pad, concat);
 * reductions and `dot` open loops over fresh variables; `gather` reads its
 * operand at an index value (a wrapped, clamped load of the indices), so
 * the load that reaches a buffer is indirect; nodes that are materialised
 * elsewhere become loads from their buffer.
 */
import {
  ExprBuilder,
  type Expr,
  type ExprOp,
  type Node,
  type Value,
  OPS,
  isOp,
  sym,
  type Idx,
  type LoopVar,
} from '../ir';

const { num, idxVar, add, mul, flatIndex, unflatten, range, loopVar } = sym;

export interface LoweringContext {
  /** Plan buffer of every materialised node (params, captures, other kernels' outputs). */
  bufferOf(node: Node): number | undefined;
  /** Plan scalar of a `const` node. */
  scalarOf(node: Node): number;
}

export class KernelLowering {
  readonly builder = new ExprBuilder();
  readonly inputs: number[] = [];
  readonly args: number[] = [];
  readonly ops: string[] = [];
  /** The graph node each reduction or elementwise expression came from (for fusion decisions). */
  readonly nodeOf = new Map<Expr, Node>();
  private readonly memo = new Map<string, Expr>();
  /** How many distinct indices each computed node was evaluated at (recomputation, for fusion). */
  readonly evaluations = new Map<Node, number>();
  private nextVar = 0;

  constructor(
    private readonly ctx: LoweringContext,
    private readonly root: Node,
  ) {}

  /** Loop variables for the output axes of the root. */
  outputVars(shape: readonly number[]): LoopVar[] {
    return shape.map((d) => this.freshVar(d));
  }

  freshVar(size: number): LoopVar {
    return loopVar(this.nextVar++, size);
  }

  /** Whether `node` is read from a buffer rather than computed in this kernel. */
  materialised(node: Node): boolean {
    return node !== this.root && node.op !== 'const' && this.ctx.bufferOf(node) !== undefined;
  }

  private inputSlot(buffer: number): number {
    let s = this.inputs.indexOf(buffer);
    if (s < 0) s = this.inputs.push(buffer) - 1;
    return s;
  }

  private argSlot(scalar: number): number {
    let s = this.args.indexOf(scalar);
    if (s < 0) s = this.args.push(scalar) - 1;
    return s;
  }

  /** The value `v` at multi-index `idx`. */
  at(v: Value, idx: readonly Idx[]): Expr {
    const key = `${v.node.id}.${v.index}|${idx.map((i) => i.key).join(',')}`;
    let e = this.memo.get(key);
    if (!e) {
      e = this.compute(v, idx);
      this.memo.set(key, e);
    }
    return e;
  }

  private compute(v: Value, idx: readonly Idx[]): Expr {
    const node = v.node;
    const b = this.builder;
    const dtype = v.dtype;
    if (node.op === 'const') return b.arg(this.argSlot(this.ctx.scalarOf(node)), dtype);
    const isLeaf = node.op === 'param' || node.op === 'buffer';
    const buf = node === this.root && !isLeaf ? undefined : this.ctx.bufferOf(node);
    if (buf !== undefined) return b.load(this.inputSlot(buf), flatIndex(idx, v.shape), dtype);
    if (!this.ops.includes(node.op)) this.ops.push(node.op);
    this.evaluations.set(node, (this.evaluations.get(node) ?? 0) + 1);
    const a = node.attrs;
    const inAt = (i: number, ix: readonly Idx[]) =>
      this.at(node.inputs[i], node.inputs[i].shape.length === 0 ? [] : ix);
    if (!isOp(node.op)) throw new Error(`lower: unknown op ${node.op}`);
    const kind = OPS[node.op].kind;
    if (kind === 'unary' || kind === 'binary' || kind === 'compare' || kind === 'ternary') {
      const e = b.op(
        node.op as ExprOp,
        node.inputs.map((_, i) => inAt(i, idx)),
        dtype,
      );
      this.nodeOf.set(e, node);
      return e;
    }
    switch (node.op) {
      case 'cast':
        return b.op('cast', [inAt(0, idx)], dtype);
      case 'iota':
        return b.index(idx[a.axis as number]);
      case 'random': {
        const key = node.inputs[0];
        const seed = this.at(key, [num(0)]);
        const base = this.at(key, [num(1)]);
        const ctr = b.op('add', [base, b.index(add(flatIndex(idx, v.shape), num(a.offset as number)))], 'i32');
        const e = b.op('random', [seed, ctr], 'f32');
        this.nodeOf.set(e, node);
        return e;
      }
      case 'sum':
      case 'max': {
        const x = node.inputs[0];
        const axes = a.axes as number[];
        const vars: LoopVar[] = [];
        const inIdx: Idx[] = [];
        let o = 0;
        x.shape.forEach((d, ax) => {
          if (axes.includes(ax)) {
            if (d === 1) inIdx.push(num(0));
            else {
              const rv = this.freshVar(d);
              vars.push(rv);
              inIdx.push(idxVar(rv));
            }
            if (a.keepdims) o++;
          } else inIdx.push(idx[o++]);
        });
        const body = this.at(x, inIdx);
        if (vars.length === 0 && x.shape.every((d, ax) => !axes.includes(ax) || d === 1)) return body;
        const red = b.reduce(node.op, vars, body, dtype);
        this.nodeOf.set(red, node);
        return red;
      }
      case 'dot': {
        const [l, r] = node.inputs;
        const [lb, rb] = a.batch as number[][];
        const [lc, rc] = a.contract as number[][];
        const cvars = lc.filter((ax) => l.shape[ax] !== 1).map((ax) => this.freshVar(l.shape[ax]));
        let ci = 0;
        const cidx = lc.map((ax) => (l.shape[ax] === 1 ? num(0) : idxVar(cvars[ci++])));
        const lIdx: Idx[] = new Array(l.shape.length);
        const rIdx: Idx[] = new Array(r.shape.length);
        lb.forEach((ax, i) => (lIdx[ax] = idx[i]));
        rb.forEach((ax, i) => (rIdx[ax] = idx[i]));
        lc.forEach((ax, i) => (lIdx[ax] = cidx[i]));
        rc.forEach((ax, i) => (rIdx[ax] = cidx[i]));
        let o = lb.length;
        for (let ax = 0; ax < l.shape.length; ax++) if (!lIdx[ax]) lIdx[ax] = idx[o++];
        for (let ax = 0; ax < r.shape.length; ax++) if (!rIdx[ax]) rIdx[ax] = idx[o++];
        const body = b.op('mul', [this.at(l, lIdx), this.at(r, rIdx)], dtype);
        if (!cvars.length && lc.every((ax) => l.shape[ax] === 1)) return body;
        const red = b.reduce('sum', cvars, body, dtype);
        this.nodeOf.set(red, node);
        return red;
      }
      case 'gather': {
        // x read at the index value along `axis`: an indirect load once x reaches a buffer.
        const [x, indices] = node.inputs;
        const axis = a.axis as number;
        const n = x.shape[axis];
        if (n === 0) return b.lit(0, dtype); // the indices are empty too (op rule): nothing is read
        const raw = this.at(indices, idx);
        const zero = b.lit(0, 'i32');
        const wrapped = b.op(
          'where',
          [b.op('lt', [raw, zero], 'bool'), b.op('add', [raw, b.lit(n, 'i32')], 'i32'), raw],
          'i32',
        );
        const at = b.indexValue(wrapped, n);
        return this.at(
          x,
          idx.map((ix, d) => (d === axis ? at : ix)),
        );
      }
      case 'detach':
        return this.at(node.inputs[0], idx);
      case 'reshape':
        return this.at(node.inputs[0], unflatten(flatIndex(idx, v.shape), node.inputs[0].shape));
      case 'permute': {
        const perm = a.perm as number[];
        const inIdx: Idx[] = new Array(perm.length);
        perm.forEach((p, i) => (inIdx[p] = idx[i]));
        return this.at(node.inputs[0], inIdx);
      }
      case 'expand': {
        const x = node.inputs[0];
        return this.at(
          x,
          x.shape.map((d, i) => (d === 1 ? num(0) : idx[i])),
        );
      }
      case 'slice': {
        const starts = a.starts as number[];
        const steps = a.steps as number[];
        return this.at(
          node.inputs[0],
          idx.map((ix, d) => add(num(starts[d]), mul(ix, steps[d]))),
        );
      }
      case 'pad': {
        const x = node.inputs[0];
        const pads = a.pads as number[][];
        const inIdx = idx.map((ix, d) => add(ix, num(-pads[d][0])));
        let cond: Expr | undefined;
        inIdx.forEach((ix, d) => {
          const [lo, hi] = range(ix);
          const n = x.shape[d];
          const checks: Expr[] = [];
          if (lo < 0) checks.push(b.op('ge', [b.index(ix), b.lit(0, 'i32')], 'bool'));
          if (hi >= n) checks.push(b.op('lt', [b.index(ix), b.lit(n, 'i32')], 'bool'));
          for (const c of checks) cond = cond ? b.op('and', [cond, c], 'bool') : c;
        });
        const inner = this.at(x, inIdx);
        return cond ? b.op('where', [cond, inner, b.lit(a.value as number, dtype)], dtype) : inner;
      }
      case 'concat': {
        const axis = a.axis as number;
        const offsets: number[] = [];
        let off = 0;
        for (const x of node.inputs) {
          offsets.push(off);
          off += x.shape[axis];
        }
        const piece = (i: number) =>
          this.at(
            node.inputs[i],
            idx.map((ix, d) => (d === axis ? add(ix, num(-offsets[i])) : ix)),
          );
        let e = piece(node.inputs.length - 1);
        const [lo] = range(idx[axis]);
        for (let i = node.inputs.length - 2; i >= 0; i--) {
          if (lo >= offsets[i + 1]) continue;
          e = b.op(
            'where',
            [b.op('lt', [b.index(idx[axis]), b.lit(offsets[i + 1], 'i32')], 'bool'), piece(i), e],
            dtype,
          );
        }
        return e;
      }
      default:
        throw new Error(`lower: op ${node.op} cannot be lowered inside a kernel (was it expanded?)`);
    }
  }
}
