/** Mapping over pytrees of tensors (the shape optax-style optimisers need). */
import { LazygradError } from '../ir';
import { flattenTree, treeDefKey, unflattenTree } from './pytree';
import { Tensor } from './tensor';

export function treeMap(fn: (...xs: Tensor[]) => Tensor, tree: unknown, ...rest: unknown[]): unknown {
  const { leaves, def } = flattenTree(tree);
  const others = rest.map((r) => {
    const f = flattenTree(r);
    if (treeDefKey(f.def) !== treeDefKey(def)) throw new LazygradError('treeMap: trees have different structures');
    return f.leaves;
  });
  return unflattenTree(
    def,
    leaves.map((l, i) => {
      if (!(l instanceof Tensor)) throw new LazygradError(`treeMap: expected tensor leaves, got ${typeof l}`);
      return fn(l, ...others.map((o) => o[i] as Tensor));
    }),
  );
}
