/**
 * Realisation: runs the pending graph behind some tensors through the
 * compile pipeline and the current backend, then points each tensor at its
 * result buffer (dropping the graph behind it, so nothing is recomputed and
 * eager loops do not grow graphs).
 */
import { type Value, GraphError, LazygradError, bufferLeaf, graphFrom } from '../ir';
import type { TypedArray } from '../backends/backend';
import { compileGraph, runProgram } from './compile';
import { currentBackend, settings } from './settings';
import { Storage } from './storage';
import type { Tensor } from './tensor-class';

/** The outputs of one eager call (valueAndGrad's value, aux and gradients), by each of them. */
const siblings = new WeakMap<Tensor, readonly WeakRef<Tensor>[]>();

/**
 * Marks tensors as outputs of one call: reading one of them realises, in the same program, the
 * others the user still holds (an eager step's loss and gradients share their forward pass).
 */
export function markSiblings(ts: readonly Tensor[]): void {
  const refs = ts.map((t) => new WeakRef(t));
  for (const t of ts) siblings.set(t, refs);
}

/** `ts` with the pending, usable siblings of each. */
function withSiblings(ts: readonly Tensor[]): Tensor[] {
  const out = new Set(ts);
  for (const t of ts) {
    for (const ref of siblings.get(t) ?? []) {
      const s = ref.deref();
      if (s && !out.has(s) && s._value.node.op !== 'buffer' && !s._disposed) out.add(s);
    }
    siblings.delete(t);
  }
  return [...out];
}

export function realizeTensors(requested: readonly Tensor[], what = 'realize'): void {
  for (const t of requested) t._check(what);
  const all = withSiblings(requested);
  if (all.length === requested.length) return realizeNow(requested, what);
  try {
    realizeNow(all, what);
  } catch (e) {
    // A sibling that cannot be computed (its inputs were donated since) must not fail this read.
    if (!(e instanceof LazygradError)) throw e;
    realizeNow(requested, what);
  }
}

function realizeNow(ts: readonly Tensor[], what: string): void {
  const pending = ts.filter((t) => t._value.node.op !== 'buffer');
  if (!pending.length) return;
  const values = [...new Set(pending.map((t) => t._value))];
  let g;
  try {
    g = graphFrom('anonymous', [], values);
  } catch (e) {
    // The only parameters are those of a trace in progress.
    if (e instanceof GraphError)
      throw new LazygradError(
        `${what}: cannot read the values of a tensor while it is being traced (inside jit or grad); return it from the function instead`,
      );
    throw e;
  }
  const backend = currentBackend();
  const prog = compileGraph(g, { backend, fusion: settings.fusion });
  const outs = runProgram(prog, g, [], (n) => (n.data as Storage).on(backend, what));
  const byValue = new Map<Value, Value>();
  values.forEach((v, i) => byValue.set(v, bufferLeaf(v.dtype, v.shape, new Storage(backend, outs[i]))));
  for (const t of pending) t._value = byValue.get(t._value)!;
}

/**
 * A tensor's values on the host. No copy is made: on the js backend this is
 * the tensor's own buffer (as tfjs's cpu backend returns), so `exposed`
 * results are marked and never updated in place afterwards.
 */
export function readTensor(t: Tensor, what: string, exposed: boolean): TypedArray {
  realizeTensors([t], what);
  const s = t._storage!;
  return exposed ? s.expose(what) : s.read(what);
}

/** Realises several tensors in one compiled program (shared work is computed once). */
export function realize(...ts: Tensor[]): void {
  realizeTensors(ts.flat() as Tensor[], 'realize');
}
