/**
 * Autograd state of PyTorch-style `backward()`: which buffer nodes are the
 * leaves of tensors with `requiresGrad`, so that backward can find, from a
 * loss's graph, the tensors whose `.grad` it fills.
 */
import type { Node } from '../ir';
import type { Tensor } from './tensor-class';

// Weak: a leaf whose tensor is garbage no longer needs a gradient.
const gradLeaves = new WeakMap<Node, Tensor>();

/** @internal Marks a tensor's buffer node as a requiresGrad leaf (what backward differentiates). */
export function markGradLeaf(t: Tensor): void {
  gradLeaves.set(t._value.node, t);
}
/** @internal The requiresGrad tensor whose leaf node this is. */
export function gradLeafTensor(n: Node): Tensor | undefined {
  return gradLeaves.get(n);
}
