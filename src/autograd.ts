/**
 * The functional autodiff API: grad, valueAndGrad, vjp, checkGrad. Each
 * traces the function into a body graph and builds one `vjp` node over it.
 * Inside a trace (jit, or an enclosing grad) the node stays in the graph for
 * the autodiff pass to expand; outside any trace it is expanded at once and
 * the results are lazy tensors.
 */
import { type Node, type Value, LazygradError, DTypeError, fmtShape, makeNode, param, constant, toPublic } from '../ir';
import { expandVjp } from '../passes';
import { broadcastValue } from './operands';
import { flattenTree, treeTensors, unflattenTree, type TreeDef } from './pytree';
import { markSiblings } from './realize';
import { settings } from './settings';
import { Tensor } from './tensor';
import { isTracing, makeBody, withTrace } from './trace';
import { fromValues } from './creation';
import { checkOptions, describeValue, rules } from './option-check';

export interface GradOptions {
  argnums?: number | number[];
  hasAux?: boolean;
}

type Fn = (...args: any[]) => any; // eslint-disable-line @typescript-eslint/no-explicit-any

interface Traced {
  /** Outer values of every tensor leaf of the arguments. */
  primals: Value[];
  /** Which primals are differentiated (tensor leaves of argnums). */
  wrt: number[];
  /** Per argnum, the range of its leaves within primals and its tree. */
  argLeaves: { index: number; def: TreeDef; leafPositions: (number | null)[] }[];
  body: ReturnType<typeof makeBody>['body'];
  lifted: Value[];
  outDef: TreeDef;
  outLeaves: Value[];
  aux?: { def: TreeDef; count: number };
}

const isIndex = rules.nonNegativeInt.ok;
const gradRules = {
  argnums: {
    expected: 'a non-negative integer or an array of them',
    ok: (v: unknown) => isIndex(v) || (Array.isArray(v) && v.length > 0 && v.every(isIndex)),
  },
  hasAux: rules.boolean,
};

/** Checks what `grad`/`valueAndGrad` are given, at the call that gave it. */
function checkGradArgs(what: string, f: unknown, opts: unknown): GradOptions {
  if (typeof f !== 'function')
    throw new LazygradError(`${what}: expected a function to differentiate, got ${describeValue(f)}`);
  return checkOptions<GradOptions>(what, opts, gradRules);
}

function normArgnums(argnums: number | number[] | undefined, nargs: number, what: string): number[] {
  const list = argnums === undefined ? [0] : typeof argnums === 'number' ? [argnums] : argnums;
  for (const a of list) {
    if (!Number.isInteger(a) || a < 0 || a >= nargs)
      throw new LazygradError(`${what}: argnum ${a} is out of range for ${nargs} argument(s)`);
  }
  return list;
}

/** Traces `f` over parameters standing for every tensor leaf of `args`. */
function traceFn(
  f: Fn,
  args: unknown[],
  argnums: number[],
  what: string,
  hasAux: boolean,
  needScalar: boolean,
): Traced {
  const primals: Value[] = [];
  const params: Node[] = [];
  const wrt: number[] = [];
  const argLeaves: Traced['argLeaves'] = [];
  const tracedArgs = args.map((arg, ai) => {
    const { leaves, def } = flattenTree(arg);
    const positions: (number | null)[] = [];
    const newLeaves = leaves.map((leaf) => {
      if (!(leaf instanceof Tensor)) {
        positions.push(null);
        return leaf;
      }
      leaf._check(what);
      const k = primals.length;
      primals.push(leaf._value);
      const p = param(leaf._value.dtype, leaf._value.shape);
      params.push(p);
      // vjp differentiates every float leaf it is given; its other leaves get null.
      const differentiated = argnums.includes(ai) && (leaf._value.dtype === 'f32' || what !== 'vjp');
      positions.push(differentiated ? k : null);
      if (differentiated) {
        if (leaf._value.dtype !== 'f32')
          throw new DTypeError(
            `${what}: cannot differentiate with respect to argument ${ai}, a ${leaf.dtype}${fmtShape(leaf.shape)} tensor (only float32)`,
          );
        wrt.push(k);
      }
      return new Tensor(p.out);
    });
    if (argnums.includes(ai)) {
      if (!positions.some((k) => k !== null))
        throw new LazygradError(
          `${what}: argument ${ai} is not a tensor or pytree of tensors (got ${typeof arg}); pass it as a tensor to differentiate it`,
        );
      argLeaves.push({ index: ai, def, leafPositions: positions });
    }
    return unflattenTree(def, newLeaves);
  });
  let result = withTrace({ kind: 'grad', rngOffset: 0 }, () => f(...tracedArgs));
  let aux: Traced['aux'];
  let auxLeaves: Value[] = [];
  if (hasAux) {
    if (!Array.isArray(result) || result.length !== 2)
      throw new LazygradError(`${what}: with hasAux the function must return [output, aux]`);
    const fa = flattenTree(result[1]);
    auxLeaves = fa.leaves.map((l) => {
      if (!(l instanceof Tensor)) throw new LazygradError(`${what}: aux must be a pytree of tensors`);
      return l._value;
    });
    aux = { def: fa.def, count: auxLeaves.length };
    result = result[0];
  }
  const fo = flattenTree(result);
  const outLeaves = fo.leaves.map((l) => {
    if (!(l instanceof Tensor)) throw new LazygradError(`${what}: the function must return tensors, got ${typeof l}`);
    return l._value;
  });
  if (needScalar) {
    if (outLeaves.length !== 1 || fo.def.kind !== 'leaf')
      throw new LazygradError(`${what}: the function must return one scalar tensor`);
    const o = outLeaves[0];
    if (o.shape.reduce((a, b) => a * b, 1) !== 1)
      throw new LazygradError(
        `${what}: the output has shape ${fmtShape(o.shape)}; grad needs a scalar output (use vjp for other shapes)`,
      );
    if (o.dtype !== 'f32') throw new DTypeError(`${what}: the output must be float32, got ${toPublic(o.dtype)}`);
  }
  const { body, lifted } = makeBody(f.name || 'anonymous', params, [...outLeaves, ...auxLeaves]);
  return { primals, wrt, argLeaves, body, lifted, outDef: fo.def, outLeaves, aux };
}

/** Builds the vjp node for the given output cotangents; returns [outputs, input cotangents]. */
function applyVjp(t: Traced, cts: Value[]): { outs: Value[]; grads: Value[] } {
  const zeroCts = t.body.outputs.slice(cts.length).map((o) => broadcastValue(constant(0, o.dtype), o.shape));
  const inputs = [...t.primals, ...t.lifted, ...cts, ...zeroCts];
  const node = makeNode('vjp', inputs, { wrt: t.wrt }, t.body);
  const values = isTracing() ? node.outs : expandVjp(node, inputs);
  const nOut = t.body.outputs.length;
  return { outs: values.slice(0, nOut), grads: values.slice(nOut) };
}

/** Rebuilds the gradient pytrees of the argnums, in argnums order, from per-primal gradients. */
function gradTrees(t: Traced, argnums: readonly number[], grads: Value[]): unknown[] {
  const byPrimal = new Map<number, Value>();
  t.wrt.forEach((k, i) => byPrimal.set(k, grads[i]));
  return argnums.map((ai) => {
    const { def, leafPositions } = t.argLeaves.find((a) => a.index === ai)!;
    return unflattenTree(
      def,
      leafPositions.map((k) => (k === null ? null : new Tensor(byPrimal.get(k)!))),
    );
  });
}

export function grad(f: Fn, opts: GradOptions = {}): Fn {
  const vg = valueAndGradAs('grad', f, opts);
  return (...args: unknown[]) => vg(...args)[1];
}

export function valueAndGrad(f: Fn, opts: GradOptions = {}): (...args: unknown[]) => [unknown, unknown] {
  return valueAndGradAs('valueAndGrad', f, opts);
}

function valueAndGradAs(what: string, f: Fn, opts: GradOptions): (...args: unknown[]) => [unknown, unknown] {
  opts = checkGradArgs(what, f, opts);
  return (...args: unknown[]) => {
    const argnums = normArgnums(opts.argnums, args.length, what);
    const t = traceFn(f, args, argnums, what, !!opts.hasAux, true);
    const out = t.outLeaves[0];
    const seed = broadcastValue(constant(1, 'f32'), out.shape);
    const { outs, grads } = applyVjp(t, [seed]);
    const trees = gradTrees(t, argnums, grads);
    const g = Array.isArray(opts.argnums) ? trees : trees[0];
    const value = new Tensor(outs[0]);
    const aux = t.aux
      ? unflattenTree(
          t.aux.def,
          outs.slice(1).map((v) => new Tensor(v)),
        )
      : undefined;
    // Eagerly, reading the value realises the gradients with it (one forward pass, not two).
    if (!isTracing()) markSiblings(treeTensors([value, aux, g]));
    return t.aux ? [[value, aux], g] : [value, g];
  };
}

/** `vjp(f, ...primals)` -> `[out, vjpFn]`; `vjpFn(ct)` returns one cotangent per primal. */
export function vjp(f: Fn, ...primals: unknown[]): [unknown, (ct: unknown) => unknown[]] {
  if (typeof f !== 'function')
    throw new LazygradError(`vjp: expected a function as the first argument, got ${describeValue(f)}`);
  const argnums = primals
    .map((_, i) => i)
    .filter((i) => flattenTree(primals[i]).leaves.some((l) => l instanceof Tensor && l._value.dtype === 'f32'));
  const t = traceFn(f, primals, argnums, 'vjp', false, false);
  // Forward values now: a vjp node with zero cotangents would be wasteful, so re-emit the body instead.
  const zero = t.outLeaves.map((o) => broadcastValue(constant(0, o.dtype), o.shape));
  const forward = applyVjp({ ...t, wrt: [] }, zero).outs;
  const out = unflattenTree(
    t.outDef,
    forward.map((v) => new Tensor(v)),
  );
  const vjpFn = (ct: unknown): unknown[] => {
    const fc = flattenTree(ct);
    if (fc.leaves.length !== t.outLeaves.length)
      throw new LazygradError(
        `vjpFn: expected ${t.outLeaves.length} cotangent tensor(s) matching the outputs, got ${fc.leaves.length}`,
      );
    const cts = fc.leaves.map((c, i) => {
      const o = t.outLeaves[i];
      const tc = c instanceof Tensor ? c : typeof c === 'number' ? new Tensor(constant(c, o.dtype)) : undefined;
      if (!tc) throw new LazygradError('vjpFn: cotangents must be tensors');
      tc._check('vjpFn');
      if (tc.shape.length && tc.shape.join() !== o.shape.join())
        throw new LazygradError(
          `vjpFn: cotangent ${i} has shape ${fmtShape(tc.shape)}, the output has ${fmtShape(o.shape)}`,
        );
      const v =
        tc._value.dtype === o.dtype
          ? tc._value
          : tc.cast(o.dtype === 'f32' ? 'float32' : o.dtype === 'i32' ? 'int32' : 'bool')._value;
      return broadcastValue(v, o.shape);
    });
    const trees = gradTrees(t, argnums, applyVjp(t, cts).grads);
    return primals.map((_, i) => {
      const j = argnums.indexOf(i);
      return j >= 0 ? trees[j] : null;
    });
  };
  return [out, vjpFn];
}

export interface CheckGradOptions {
  eps?: number;
  rtol?: number;
  atol?: number;
}

/**
 * Compares the pass's gradients (current backend) with float64 central
 * differences computed on the JS backend in float64 mode.
 */
export function checkGrad(
  f: (...args: Tensor[]) => Tensor,
  args: Tensor[],
  opts: CheckGradOptions = {},
): { ok: boolean; maxAbsError: number; maxRelError: number } {
  if (typeof f !== 'function')
    throw new LazygradError(`checkGrad: f must be a function returning a scalar tensor, got ${describeValue(f)}`);
  const positive = {
    expected: 'a finite number > 0',
    ok: (v: unknown) => typeof v === 'number' && v > 0 && v < Infinity,
  };
  const {
    eps = 1e-3,
    rtol = 1e-3,
    atol = 1e-5,
  } = checkOptions<CheckGradOptions>('checkGrad', opts, {
    eps: positive,
    rtol: rules.nonNegative,
    atol: rules.nonNegative,
  });
  if (!Array.isArray(args) || args.length === 0 || !args.every((a) => a instanceof Tensor))
    throw new LazygradError('checkGrad: args must be a non-empty array of tensors');
  const argnums = args.map((_, i) => i).filter((i) => args[i]._dtype === 'f32');
  const analytic = (grad(f, { argnums }) as (...a: Tensor[]) => Tensor[])(...args).map((g) => g.dataSync());
  const base = args.map((a) => Float64Array.from(a.dataSync()));
  const prev = settings.backendName;
  let maxAbs = 0;
  let maxRel = 0;
  let ok = true;
  settings.backendName = 'js-float64';
  try {
    const evalAt = (ai: number, i: number, delta: number) => {
      const xs = base.map((b, j) => {
        const vals = j === ai ? Float64Array.from(b) : b;
        if (j === ai) vals[i] += delta;
        return fromValues(vals, args[j].shape, args[j]._dtype);
      });
      const out = f(...xs);
      if (!(out instanceof Tensor) || out.size !== 1)
        throw new LazygradError('checkGrad: f must return a scalar tensor');
      return out.dataSync()[0];
    };
    argnums.forEach((ai, gi) => {
      for (let i = 0; i < base[ai].length; i++) {
        const numeric = (evalAt(ai, i, eps) - evalAt(ai, i, -eps)) / (2 * eps);
        const a = analytic[gi][i];
        const abs = Math.abs(a - numeric);
        // Relative to the larger magnitude of the two (0 only where both are 0), over every element.
        const scale = Math.max(Math.abs(numeric), Math.abs(a));
        const rel = abs === 0 ? 0 : scale > 0 ? abs / scale : Infinity;
        if (!(abs <= atol + rtol * Math.abs(numeric))) ok = false;
        maxAbs = Math.max(maxAbs, abs);
        maxRel = Math.max(maxRel, Number.isNaN(rel) ? Infinity : rel);
      }
    });
  } finally {
    settings.backendName = prev;
  }
  return { ok, maxAbsError: maxAbs, maxRelError: maxRel };
}
