import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { type Idx, type LoopVar, sym } from '../../ir';
import { jsIndex } from '../../backends/js/op-table';

const { add, mul, div, mod, num, idxVar, loopVar, flatIndex, unflatten, range, substitute } = sym;
const renderIdx = jsIndex;

/** The operations the test composes, evaluated independently of ir/symbolic.ts. */
type Ref =
  | { k: 'var'; i: number }
  | { k: 'num'; v: number }
  | { k: 'add'; a: Ref; b: Ref }
  | { k: 'mul'; a: Ref; c: number }
  | { k: 'div'; a: Ref; c: number }
  | { k: 'mod'; a: Ref; c: number };

/** Documented semantics: floor division and non-negative modulo by a positive constant. */
const floorDiv = (x: number, c: number) => Math.floor(x / c);
const nnMod = (x: number, c: number) => ((x % c) + c) % c;

function evalRef(r: Ref, env: readonly number[]): number {
  switch (r.k) {
    case 'var':
      return env[r.i];
    case 'num':
      return r.v;
    case 'add':
      return evalRef(r.a, env) + evalRef(r.b, env);
    case 'mul':
      return evalRef(r.a, env) * r.c;
    case 'div':
      return floorDiv(evalRef(r.a, env), r.c);
    case 'mod':
      return nnMod(evalRef(r.a, env), r.c);
  }
}

function build(r: Ref, vars: readonly LoopVar[]): Idx {
  switch (r.k) {
    case 'var':
      return idxVar(vars[r.i]);
    case 'num':
      return num(r.v);
    case 'add':
      return add(build(r.a, vars), build(r.b, vars));
    case 'mul':
      return mul(build(r.a, vars), r.c);
    case 'div':
      return div(build(r.a, vars), r.c);
    case 'mod':
      return mod(build(r.a, vars), r.c);
  }
}

/** Evaluates a simplified Idx tree with the documented semantics. */
function evalIdx(e: Idx, value: (x: LoopVar) => number): number {
  switch (e.kind) {
    case 'num':
      return e.value;
    case 'var':
      return value(e.variable);
    case 'add':
      return e.terms.reduce((s, t) => s + evalIdx(t, value), 0);
    case 'mul':
      return evalIdx(e.operand, value) * e.constant;
    case 'div':
      return floorDiv(evalIdx(e.operand, value), e.constant);
    case 'mod':
      return nnMod(evalIdx(e.operand, value), e.constant);
    case 'value':
      throw new Error('these trees have no value atoms');
  }
}

/** What a kernel computes: the JS source renderIdx writes. */
function compileIdx(e: Idx, vars: readonly LoopVar[]): (env: readonly number[]) => number {
  const src = renderIdx(e, (x) => `v[${vars.indexOf(x)}]`);
  return new Function('v', `return ${src};`) as (env: readonly number[]) => number;
}

function hasDivMod(e: Idx): boolean {
  if (e.kind === 'div' || e.kind === 'mod') return true;
  if (e.kind === 'add') return e.terms.some(hasDivMod);
  if (e.kind === 'mul') return hasDivMod(e.operand);
  return false;
}

/** Every assignment of the loop variables. */
function* assignments(sizes: readonly number[]): Generator<number[]> {
  const env = sizes.map(() => 0);
  if (sizes.some((s) => s === 0)) return;
  for (;;) {
    yield [...env];
    let d = sizes.length - 1;
    while (d >= 0 && ++env[d] === sizes[d]) env[d--] = 0;
    if (d < 0) return;
  }
}

const NVARS = 3;
const refArb: fc.Arbitrary<Ref> = fc.letrec<{ ref: Ref }>((tie) => ({
  ref: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.integer({ min: 0, max: NVARS - 1 }).map((i): Ref => ({ k: 'var', i })),
    fc.integer({ min: -6, max: 12 }).map((v): Ref => ({ k: 'num', v })),
    fc.tuple(tie('ref'), tie('ref')).map(([a, b]): Ref => ({ k: 'add', a, b })),
    fc.tuple(tie('ref'), fc.integer({ min: -4, max: 6 })).map(([a, c]): Ref => ({ k: 'mul', a, c })),
    fc.tuple(tie('ref'), fc.integer({ min: 1, max: 7 })).map(([a, c]): Ref => ({ k: 'div', a, c })),
    fc.tuple(tie('ref'), fc.integer({ min: 1, max: 7 })).map(([a, c]): Ref => ({ k: 'mod', a, c })),
  ),
})).ref;
const sizesArb = fc.array(fc.integer({ min: 1, max: 5 }), { minLength: NVARS, maxLength: NVARS });

/** Loop variables with ids no other suite uses (loop variables are interned by id and size). */
const varsFor = (sizes: readonly number[]) => sizes.map((s, i) => loopVar(9000 + i, s));

/** Whether every div/mod argument of `r` is non-negative over the domain (what view chains produce). */
function nonNegArgs(r: Ref, sizes: readonly number[]): boolean {
  const walk = (x: Ref): boolean => {
    if (x.k === 'div' || x.k === 'mod') {
      for (const env of assignments(sizes)) if (evalRef(x.a, env) < 0) return false;
      return walk(x.a);
    }
    if (x.k === 'add') return walk(x.a) && walk(x.b);
    if (x.k === 'mul') return walk(x.a);
    return true;
  };
  return walk(r);
}

describe('symbolic index algebra agrees with brute force', () => {
  it('simplified add/mul/div/mod trees evaluate like the operations that built them', () => {
    fc.assert(
      fc.property(refArb, sizesArb, (r, sizes) => {
        const vars = varsFor(sizes);
        const e = build(r, vars);
        for (const env of assignments(sizes)) {
          expect(evalIdx(e, (x) => env[vars.indexOf(x)]) + 0).toBe(evalRef(r, env) + 0); // + 0: -0 is 0 here
        }
      }),
      { seed: 7, numRuns: 600 },
    );
  });

  it('range() encloses every value the expression takes', () => {
    fc.assert(
      fc.property(refArb, sizesArb, (r, sizes) => {
        const vars = varsFor(sizes);
        const e = build(r, vars);
        const [lo, hi] = range(e);
        for (const env of assignments(sizes)) {
          const v = evalRef(r, env);
          expect(v).toBeGreaterThanOrEqual(lo);
          expect(v).toBeLessThanOrEqual(hi);
        }
      }),
      { seed: 11, numRuns: 600 },
    );
  });

  it('the rendered JS computes the same values, when div/mod arguments are non-negative', () => {
    fc.assert(
      fc.property(refArb, sizesArb, (r, sizes) => {
        fc.pre(nonNegArgs(r, sizes));
        const vars = varsFor(sizes);
        const f = compileIdx(build(r, vars), vars);
        for (const env of assignments(sizes)) expect(f(env) + 0).toBe(evalRef(r, env) + 0);
      }),
      { seed: 13, numRuns: 600 },
    );
  });

  it('the rendered JS is right for div/mod of non-negative affine indices with negative strides', () => {
    // The shape of reversed slices read through reshapes: c0 + sum(ci * vi) >= 0, ci of either sign.
    const affineArb = fc.record({
      sizes: sizesArb,
      coeffs: fc.array(fc.integer({ min: -4, max: 4 }), { minLength: NVARS, maxLength: NVARS }),
      extra: fc.integer({ min: 0, max: 10 }),
      c1: fc.integer({ min: 1, max: 7 }),
      c2: fc.integer({ min: 1, max: 7 }),
      shape: fc.constantFrom('mod', 'div', 'mod(div)', 'div(mod)'),
    });
    fc.assert(
      fc.property(affineArb, ({ sizes, coeffs, extra, c1, c2, shape }) => {
        const lo = coeffs.reduce((acc, c, i) => acc + Math.min(0, c * (sizes[i] - 1)), 0);
        let r: Ref = { k: 'num', v: -lo + extra };
        coeffs.forEach((c, i) => (r = { k: 'add', a: r, b: { k: 'mul', a: { k: 'var', i }, c } }));
        if (shape === 'mod') r = { k: 'mod', a: r, c: c1 };
        else if (shape === 'div') r = { k: 'div', a: r, c: c1 };
        else if (shape === 'mod(div)') r = { k: 'mod', a: { k: 'div', a: r, c: c1 }, c: c2 };
        else r = { k: 'div', a: { k: 'mod', a: r, c: c1 }, c: c2 };
        const vars = varsFor(sizes);
        const f = compileIdx(build(r, vars), vars);
        for (const env of assignments(sizes)) expect(f(env) + 0).toBe(evalRef(r, env) + 0);
      }),
      { seed: 17, numRuns: 500 },
    );
  });

  it('substitute(e, x, y) evaluates like e with y in place of x, and equals e built over y', () => {
    fc.assert(
      fc.property(refArb, sizesArb, (r, sizes) => {
        const vars = varsFor(sizes);
        // A fresh variable of the same extent as vars[0] (the row-cache case: two loops over one row).
        const other = loopVar(9050, sizes[0]);
        const swapped = [other, ...vars.slice(1)];
        const e = substitute(build(r, vars), vars[0], other);
        expect(e).toBe(build(r, swapped));
        for (const env of assignments(sizes))
          expect(evalIdx(e, (x) => env[swapped.indexOf(x)]) + 0).toBe(evalRef(r, env) + 0);
      }),
      { seed: 19, numRuns: 400 },
    );
  });

  it('regression: (9 - i) mod 4 renders to a non-negative result (reversed slice read through a reshape)', () => {
    // The index of x.reshape([12]).slice([9], [5], [-1]) for x of shape [3, 4], inner axis.
    const i = loopVar(9100, 4);
    const e = mod(add(num(9), mul(idxVar(i), -1)), 4);
    const f = compileIdx(e, [i]);
    expect([0, 1, 2, 3].map((v) => f([v]))).toEqual([1, 0, 3, 2]);
  });

  it('folds div/mod that the ranges decide', () => {
    const i = idxVar(loopVar(9200, 4));
    const j = idxVar(loopVar(9201, 3));
    expect(div(i, 4)).toBe(num(0));
    expect(mod(i, 4)).toBe(i);
    expect(div(add(mul(j, 4), i), 4)).toBe(j);
    expect(mod(add(mul(j, 4), i), 4)).toBe(i);
    expect(div(div(add(mul(j, 8), i), 2), 4)).toBe(j);
    expect(mod(add(i, num(8)), 4)).toBe(i);
    expect(add(i, mul(i, -1))).toBe(num(0));
    // Not decidable from ranges: stays a div node.
    expect(div(add(i, j), 2).kind).toBe('div');
  });
});

describe('reshape index arithmetic', () => {
  const vs = (sizes: number[], base: number) => sizes.map((s, k) => idxVar(loopVar(base + k, s)));

  it('unflatten(flatIndex(idx, s), s) is idx itself', () => {
    for (const shape of [[2, 3, 4], [5], [1, 3, 1, 2], [4, 4]]) {
      const idx = vs(shape, 9300);
      const back = unflatten(flatIndex(idx, shape), shape);
      back.forEach((e, d) => expect(e).toBe(shape[d] === 1 ? num(0) : idx[d]));
    }
  });

  it('reading a coarser view from finer loop variables needs no div/mod', () => {
    // out [2,3,4] -> in [6,4], [2,12], [24]: each input index is affine in the output variables.
    const idx = vs([2, 3, 4], 9400);
    const [a, b, c] = idx;
    const flat = flatIndex(idx, [2, 3, 4]);
    expect(unflatten(flat, [6, 4])).toEqual([add(mul(a, 3), b), c]);
    expect(unflatten(flat, [2, 12])).toEqual([a, add(mul(b, 4), c)]);
    expect(unflatten(flat, [24])).toEqual([add(mul(a, 12), mul(b, 4), c)]);
    for (const target of [[6, 4], [2, 12], [24], [2, 3, 4], [1, 6, 1, 4]]) {
      for (const e of unflatten(flat, target)) expect(hasDivMod(e), `${target}`).toBe(false);
    }
  });

  it('the load index of a merging reshape of a contiguous buffer is the plain flat index', () => {
    // reshape [2,3,4] -> [6,4] of a materialised buffer: the kernel loads at
    // flatIndex(unflatten(flatIndex(out, [6,4]), [2,3,4]), [2,3,4]), which is 4p + q.
    for (const [outShape, inShape] of [
      [
        [6, 4],
        [2, 3, 4],
      ],
      [[24], [2, 3, 4]],
      [
        [2, 12],
        [2, 3, 4],
      ],
      [
        [6, 784],
        [6, 1, 28, 28],
      ],
    ]) {
      const idx = vs(outShape, 9500);
      const load = flatIndex(unflatten(flatIndex(idx, outShape), inShape), inShape);
      expect(load, `${outShape} <- ${inShape}: ${renderIdx(load, (x) => `v${x.id}`)}`).toBe(flatIndex(idx, outShape));
    }
  });

  it('reshape round trips through a split shape evaluate to the identity (brute force)', () => {
    const outShape = [6, 4];
    const inShape = [2, 3, 4];
    const vars = outShape.map((s, k) => loopVar(9600 + k, s));
    const idx = vars.map(idxVar);
    const inIdx = unflatten(flatIndex(idx, outShape), inShape);
    const f = inIdx.map((e) => compileIdx(e, vars));
    for (const env of assignments(outShape)) {
      const flat = env[0] * 4 + env[1];
      expect(f.map((g) => g(env))).toEqual([Math.floor(flat / 12), Math.floor(flat / 4) % 3, flat % 4]);
    }
  });
});
