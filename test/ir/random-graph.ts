/**
 * A seeded generator of valid random IR graphs, built only through
 * ir/builder.ts, covering every primitive family (and nested `vjp` bodies),
 * for the print/parse round-trip property.
 */
import {
  type DType,
  type Graph,
  type Node,
  type Value,
  bufferLeaf,
  constant,
  emit,
  graphFrom,
  makeNode,
  param,
  sizeOf,
} from '../../ir';
import { Draws, mulberry32 } from '../src/reference';

/** Float constants that stress the number printer. */
export const NASTY_FLOATS = [
  0,
  1,
  -1,
  0.5,
  -2.75,
  1e-7,
  -3.5e-12,
  1e21,
  123456.789,
  Math.PI,
  -0,
  Infinity,
  -Infinity,
  NaN,
  0.1 + 0.2,
];
const INT_VALUES = [0, 1, -1, 7, -123, 2147483647, -2147483648];

class Gen extends Draws {
  readonly params: Node[] = [];
  readonly pool: Value[] = [];
  /** Shared buffer payloads, so one captured tensor can appear twice. */
  readonly buffers: object[];

  constructor(seed: number, buffers?: object[]) {
    super(mulberry32(seed));
    this.buffers = buffers ?? [{ id: 'a' }, { id: 'b' }, { id: 'c' }];
  }
  shape(maxRank = 3): number[] {
    return Array.from({ length: this.int(0, maxRank) }, () => this.int(1, 4));
  }
  newParam(dtype: DType, shape: readonly number[]): Value {
    const p = param(dtype, shape);
    this.params.push(p);
    return p.out;
  }
  constOf(dtype: DType): Value {
    if (dtype === 'f32') return constant(this.pick(NASTY_FLOATS), 'f32');
    if (dtype === 'i32') return constant(this.pick(INT_VALUES), 'i32');
    return constant(this.int(0, 1), 'bool');
  }
  /** A pool value satisfying `ok`, or a fresh parameter of `fallback` type. */
  find(ok: (v: Value) => boolean, fallback: () => [DType, number[]]): Value {
    const hits = this.pool.filter(ok);
    // Prefer the newest match, so chains grow deep.
    if (hits.length && this.chance(0.85)) return this.chance(0.6) ? hits[hits.length - 1] : this.pick(hits);
    const [d, s] = fallback();
    return this.newParam(d, s);
  }
  /** An operand of the same dtype and shape as `a` (or a 0-d one). */
  partner(a: Value): Value {
    if (this.chance(0.3)) return this.constOf(a.dtype);
    if (this.chance(0.1))
      return this.find(
        (v) => v.dtype === a.dtype && v.shape.length === 0,
        () => [a.dtype, []],
      );
    return this.find(
      (v) => v.dtype === a.dtype && sameShape(v.shape, a.shape),
      () => [a.dtype, [...a.shape]],
    );
  }
  numeric(): Value {
    return this.find(
      (v) => v.dtype !== 'bool',
      () => [this.chance(0.8) ? 'f32' : 'i32', this.shape()],
    );
  }
  ranked(pred: (v: Value) => boolean = () => true): Value {
    return this.find(
      (v) => v.shape.length > 0 && pred(v),
      () => ['f32', [this.int(1, 4), ...this.shape(2)]],
    );
  }

  step(depth: number): Value {
    const kind = this.pick([
      'unary',
      'binary',
      'binary',
      'compare',
      'where',
      'reduce',
      'reshape',
      'permute',
      'expand',
      'slice',
      'pad',
      'concat',
      'gather',
      'cast',
      'dot',
      'iota',
      'buffer',
      'random',
      'vjp',
    ] as const);
    switch (kind) {
      case 'unary': {
        const x = this.find(
          () => true,
          () => ['f32', this.shape()],
        );
        const ops =
          x.dtype === 'f32'
            ? [
                'neg',
                'abs',
                'sign',
                'exp',
                'log',
                'sqrt',
                'sin',
                'cos',
                'tanh',
                'sigmoid',
                'log1p',
                'expm1',
                'floor',
                'ceil',
                'round',
              ]
            : x.dtype === 'i32'
              ? ['neg', 'abs', 'sign']
              : ['not'];
        return emit(this.pick(ops), [x]);
      }
      case 'binary': {
        const a = this.find(
          () => true,
          () => ['f32', this.shape()],
        );
        const b = this.partner(a);
        const ops =
          a.dtype === 'f32'
            ? ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum']
            : a.dtype === 'i32'
              ? ['add', 'sub', 'mul', 'maximum', 'minimum']
              : ['and', 'or'];
        return this.chance(0.5) ? emit(this.pick(ops), [a, b]) : emit(this.pick(ops), [b, a]);
      }
      case 'compare': {
        const a = this.numeric();
        return emit(this.pick(['lt', 'le', 'gt', 'ge', 'eq', 'ne']), [a, this.partner(a)]);
      }
      case 'where': {
        const a = this.numeric();
        const c = emit('lt', [a, this.constOf(a.dtype)]);
        const x = this.find(
          (v) => sameShape(v.shape, a.shape),
          () => ['f32', [...a.shape]],
        );
        return emit('where', [c, x, this.partner(x)]);
      }
      case 'reduce': {
        const x = this.ranked((v) => v.dtype !== 'bool');
        const axes = x.shape.map((_, i) => i).filter(() => this.chance(0.5));
        // max over an empty axis is an error of the op rule.
        const op = axes.some((a) => x.shape[a] === 0) ? 'sum' : this.pick(['sum', 'max']);
        return emit(op, [x], { axes, keepdims: this.chance(0.5) });
      }
      case 'reshape': {
        const x = this.find(
          () => true,
          () => ['f32', this.shape()],
        );
        return emit('reshape', [x], { shape: this.factor(sizeOf(x.shape)) });
      }
      case 'permute': {
        const x = this.ranked();
        const perm = x.shape.map((_, i) => i);
        for (let i = perm.length - 1; i > 0; i--) {
          const j = this.int(0, i);
          [perm[i], perm[j]] = [perm[j], perm[i]];
        }
        return emit('permute', [x], { perm });
      }
      case 'expand': {
        const x = this.ranked((v) => v.shape.includes(1));
        return emit('expand', [x], { shape: x.shape.map((d) => (d === 1 ? this.int(1, 4) : d)) });
      }
      case 'slice': {
        const x = this.ranked();
        const starts: number[] = [];
        const steps: number[] = [];
        const shape: number[] = [];
        for (const d of x.shape) {
          if (d === 0) {
            starts.push(0);
            steps.push(1);
            shape.push(0);
            continue;
          }
          const step = this.pick([1, 1, 2, 3, -1, -1, -2]);
          const start = this.int(0, d - 1);
          const max = step > 0 ? Math.floor((d - 1 - start) / step) + 1 : Math.floor(start / -step) + 1;
          starts.push(start);
          steps.push(step);
          shape.push(this.chance(0.05) ? 0 : this.int(1, max));
        }
        return emit('slice', [x], { starts, steps, shape });
      }
      case 'pad': {
        const x = this.ranked();
        const pads = x.shape.map(() => [this.int(0, 2), this.int(0, 2)]);
        return emit('pad', [x], { pads, value: x.dtype === 'f32' ? this.pick(NASTY_FLOATS) : this.int(0, 1) });
      }
      case 'concat': {
        const x = this.ranked();
        const axis = this.int(0, x.shape.length - 1);
        const n = this.int(1, 3);
        const parts = [x];
        for (let i = 1; i < n; i++) {
          const shape = x.shape.map((d, k) => (k === axis ? this.int(1, 3) : d));
          parts.push(
            this.find(
              (v) => v.dtype === x.dtype && sameShape(v.shape, shape),
              () => [x.dtype, shape],
            ),
          );
        }
        return emit('concat', parts, { axis });
      }
      case 'gather': {
        const x = this.ranked();
        const axis = this.int(0, x.shape.length - 1);
        const shape = x.shape.map((d, i) => (i !== axis ? d : d === 0 ? 0 : this.int(1, 4)));
        const indices = this.find(
          (v) => v.dtype === 'i32' && sameShape(v.shape, shape),
          () => ['i32', shape],
        );
        return emit('gather', [x, indices], { axis });
      }
      case 'cast': {
        const x = this.find(
          () => true,
          () => ['f32', this.shape()],
        );
        return emit('cast', [x], { dtype: this.pick(['f32', 'i32', 'bool'] as const) });
      }
      case 'dot': {
        const a = this.ranked((v) => v.dtype !== 'bool');
        // Each lhs axis becomes batch, contracted or free; rhs gets matching axes plus free ones, shuffled.
        const roles = a.shape.map(() => this.pick(['batch', 'contract', 'free'] as const));
        const axes: { size: number; tag: string }[] = [];
        a.shape.forEach((d, i) => roles[i] !== 'free' && axes.push({ size: d, tag: `${roles[i]}${i}` }));
        for (let i = this.int(0, 2); i > 0; i--) axes.push({ size: this.int(1, 4), tag: 'free' });
        const rhs = this.shuffle(axes);
        const b = this.newParam(
          a.dtype,
          rhs.map((x) => x.size),
        );
        const pair = (role: string) => {
          const l = roles.flatMap((r, i) => (r === role ? [i] : []));
          return [l, l.map((i) => rhs.findIndex((x) => x.tag === `${role}${i}`))];
        };
        return emit('dot', [a, b], { batch: pair('batch'), contract: pair('contract') });
      }
      case 'iota': {
        const shape = [this.int(1, 4), ...this.shape(2)];
        return emit('iota', [], { shape, axis: this.int(0, shape.length - 1) });
      }
      case 'buffer': {
        const dtype = this.pick(['f32', 'i32', 'bool'] as const);
        return bufferLeaf(dtype, this.shape(), this.pick(this.buffers));
      }
      case 'random': {
        const key = this.find(
          (v) => v.dtype === 'i32' && sameShape(v.shape, [2]),
          () => ['i32', [2]],
        );
        return emit('random', [key], { shape: this.shape(), offset: this.int(0, 1000) });
      }
      case 'vjp': {
        if (depth > 0) return this.step(depth);
        const inner = new Gen(this.int(0, 2 ** 31), this.buffers);
        const body = inner.graph('body', depth + 1, (v) => v.dtype === 'f32');
        const primals = body.params.map((p) =>
          this.find(
            (v) => v.dtype === p.types[0].dtype && sameShape(v.shape, p.types[0].shape),
            () => [p.types[0].dtype, [...p.types[0].shape]],
          ),
        );
        const cts = body.outputs.map((o) =>
          o.shape.length === 0 && this.chance(0.5) ? constant(1, 'f32') : this.newParam('f32', o.shape),
        );
        const wrt = body.params.flatMap((p, i) => (p.types[0].dtype === 'f32' && this.chance(0.7) ? [i] : []));
        const node = makeNode('vjp', [...primals, ...cts], { wrt }, body);
        this.pool.push(...node.outs.slice(1));
        return node.outs[0];
      }
    }
  }

  /** A random split of `size` into a shape. */
  factor(size: number): number[] {
    const out: number[] = [];
    let rest = size;
    for (let d = 2; d <= rest; d++) {
      while (rest % d === 0 && this.chance(0.7)) {
        out.push(d);
        rest /= d;
      }
    }
    if (rest !== 1 || size === 0) out.push(rest);
    if (this.chance(0.2)) out.splice(this.int(0, out.length), 0, 1);
    return out;
  }

  graph(name: string, depth: number, outputOk: (v: Value) => boolean = () => true): Graph {
    for (let i = this.int(0, 2); i >= 0; i--)
      this.pool.push(this.newParam(this.pick(['f32', 'f32', 'i32', 'bool'] as const), this.shape()));
    const first = this.pool.length;
    const steps = this.int(2, depth > 0 ? 6 : 14);
    for (let i = 0; i < steps; i++) this.pool.push(this.step(depth));
    const candidates = this.pool.slice(first).filter(outputOk);
    // The values nothing else reads (up to four, the newest first), so most nodes stay live.
    const read = new Set<Node>(this.pool.flatMap((v) => v.node.inputs.map((u) => u.node)));
    const outputs = candidates
      .filter((v) => !read.has(v.node))
      .reverse()
      .slice(0, 4);
    if (!outputs.length && candidates.length) outputs.push(candidates[candidates.length - 1]);
    if (!outputs.length) {
      const p = this.params.find((q) => outputOk(q.out)) ?? this.params[this.params.push(param('f32', [2])) - 1];
      outputs.push(emit('exp', [p.out.dtype === 'f32' ? p.out : emit('cast', [p.out], { dtype: 'f32' })]));
    }
    return graphFrom(name, this.params, outputs);
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** A valid random graph; the same seed gives the same graph. */
export function randomGraph(seed: number): Graph {
  const g = new Gen(seed);
  return g.graph(g.pick(['anonymous', 'loss', 'f', 'train_step', 'bound f', 'g$1']), 0);
}
