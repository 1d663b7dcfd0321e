/**
 * Algebraic simplification: identities (x*1, x+0, x-0, x/1), double
 * negation, chains of reshapes and of permutes, identity movement ops and
 * casts, reductions over no axes, and `detach` (only meaningful to autodiff,
 * which has run). Constants are kernel arguments, so values are never
 * folded into new constants here; only 0 and 1, which the compile caches key
 * on, may change a graph's structure.
 */
import { type Node, type Value, emit, makeNode, type Graph, shapesEqual } from '../ir';
import { rewrite } from './rewrite';

/** Whether `v` is the constant `c`, possibly broadcast by reshape/expand. */
function isConst(v: Value, c: number): boolean {
  let n = v.node;
  while (n.op === 'reshape' || n.op === 'expand') n = n.inputs[0].node;
  return n.op === 'const' && n.attrs.value === c;
}
const sameType = (a: Value, b: Value) => a.dtype === b.dtype && shapesEqual(a.shape, b.shape);

function simplifyNode(n: Node, x: readonly Value[]): Value | undefined {
  const out = n.outs[0];
  switch (n.op) {
    case 'detach':
      return x[0];
    case 'add':
      if (isConst(x[1], 0) && sameType(x[0], out)) return x[0];
      if (isConst(x[0], 0) && sameType(x[1], out)) return x[1];
      return undefined;
    case 'sub':
      return isConst(x[1], 0) && sameType(x[0], out) ? x[0] : undefined;
    case 'mul':
      if (isConst(x[1], 1) && sameType(x[0], out)) return x[0];
      if (isConst(x[0], 1) && sameType(x[1], out)) return x[1];
      return undefined;
    case 'div':
      return isConst(x[1], 1) && sameType(x[0], out) ? x[0] : undefined;
    case 'neg':
      return x[0].node.op === 'neg' ? x[0].node.inputs[0] : undefined;
    case 'cast':
      return x[0].dtype === out.dtype ? x[0] : undefined;
    case 'reshape': {
      if (shapesEqual(x[0].shape, out.shape)) return x[0];
      if (x[0].node.op === 'reshape') {
        const inner = x[0].node.inputs[0];
        return shapesEqual(inner.shape, out.shape) ? inner : emit('reshape', [inner], n.attrs);
      }
      return undefined;
    }
    case 'permute': {
      const perm = n.attrs.perm as number[];
      if (perm.every((p, i) => p === i)) return x[0];
      if (x[0].node.op === 'permute') {
        const inner = x[0].node.attrs.perm as number[];
        const composed = perm.map((p) => inner[p]);
        return composed.every((p, i) => p === i)
          ? x[0].node.inputs[0]
          : emit('permute', [x[0].node.inputs[0]], { perm: composed });
      }
      return undefined;
    }
    case 'expand':
      return shapesEqual(x[0].shape, out.shape) ? x[0] : undefined;
    case 'slice': {
      const starts = n.attrs.starts as number[];
      const steps = n.attrs.steps as number[];
      return shapesEqual(x[0].shape, out.shape) && starts.every((s) => s === 0) && steps.every((s) => s === 1)
        ? x[0]
        : undefined;
    }
    case 'pad':
      return (n.attrs.pads as number[][]).every(([a, b]) => a === 0 && b === 0) ? x[0] : undefined;
    case 'sum':
    case 'max':
      return (n.attrs.axes as number[]).length === 0 ? x[0] : undefined;
    default:
      return undefined;
  }
}

export function simplify(g: Graph): Graph {
  const reluOfMask = reluMasks(g);
  const maskFromOutput = new Map<Node, Value>();
  return rewrite(g, (n, inputs) => {
    // After relu's output h = where(x <= 0, 0, x) (or where(x > 0, x, 0)) exists, later readers
    // of the mask read h <= 0 (h > 0) instead, equal NaN included, so x is needed only by the
    // kernel that makes h.
    const ins = inputs.map((v) => {
      const relu = reluOfMask.get(v.node);
      const h = relu && maskFromOutput.get(relu);
      return h && relu !== n ? h : v;
    });
    const simplified = simplifyNode(n, ins);
    const out =
      simplified ??
      (ins.every((v, i) => v === inputs[i]) ? undefined : makeNode(n.op, ins, n.attrs, n.body, n.data).out);
    if (reluOfMask.size && [...reluOfMask.values()].includes(n)) {
      const h = out ?? n.out;
      const mask = n.inputs[0].node;
      maskFromOutput.set(n, emit(mask.op, [h, mask.inputs[1]]));
    }
    return out ? [out] : undefined;
  });
}

/** Masks m with a relu over them, m -> h: m = le(x, 0), h = where(m, 0, x); or m = gt(x, 0), h = where(m, x, 0). */
function reluMasks(g: Graph): Map<Node, Node> {
  const out = new Map<Node, Node>();
  const scalarZero = (v: Value) => isConst(v, 0) && v.shape.length === 0;
  for (const n of g.nodes) {
    if (n.op !== 'where') continue;
    const [m, a, b] = n.inputs;
    const [x, zero] = m.node.op === 'le' ? [b, a] : m.node.op === 'gt' ? [a, b] : [];
    if (x && m.node.inputs[0] === x && scalarZero(m.node.inputs[1]) && scalarZero(zero!)) out.set(m.node, n);
  }
  return out;
}
