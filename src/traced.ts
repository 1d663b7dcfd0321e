/**
 * Whether a tensor is traced: its value depends on a parameter of a trace in
 * progress (a jit argument, or an argument grad differentiates), so its
 * numbers do not exist yet. Reading values is refused for exactly these
 * tensors (see realize.ts); everything else can be read, inside a trace too.
 */
import { graphFrom } from '../ir';
import type { Tensor } from './tensor';

export function isTraced(t: Tensor): boolean {
  if (t._storage) return false;
  return graphFrom('scan', [], [t._value], true).nodes.some((n) => n.op === 'param');
}
