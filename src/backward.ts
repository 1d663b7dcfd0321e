/**
 * PyTorch-style `loss.backward()`: differentiates the graph kept for
 * autograd with respect to every requiresGrad leaf it reaches, through the
 * same `vjp` expansion as `grad`, and accumulates into `.grad` lazily.
 */
import { type Node, LazygradError, graphFrom, makeNode, param, constant, fmtShape } from '../ir';
import { expandVjp } from '../passes';
import { gradLeafTensor } from './grad-leaves';
import { broadcastValue, toTensor } from './operands';
import { binary, cast } from './ops';
import { Tensor, type TensorLike } from './tensor-class';
import { substitute } from './trace';

export function backward(loss: Tensor, cotangent?: TensorLike): void {
  loss._check('backward');
  if (!loss._autogradValue)
    throw new LazygradError(`backward: this tensor does not depend on any tensor with requiresGrad: true`);
  if (loss._dtype !== 'f32') throw new LazygradError(`backward: the output must be float32, got ${loss.dtype}`);
  let ct;
  if (cotangent === undefined) {
    if (loss.size !== 1)
      throw new LazygradError(
        `backward: output of shape ${fmtShape(loss.shape)} is not a scalar; pass a cotangent of that shape`,
      );
    ct = broadcastValue(constant(1, 'f32'), loss.shape);
  } else {
    const c = toTensor(cotangent, 'f32', 'backward');
    if (c.shape.join() !== loss.shape.join())
      throw new LazygradError(
        `backward: cotangent shape ${fmtShape(c.shape)} differs from the output shape ${fmtShape(loss.shape)}`,
      );
    ct = broadcastValue(cast(c, 'float32')._value, loss.shape);
  }
  const reached = graphFrom('backward', [], [loss._autogradValue], true).nodes;
  if (reached.some((n) => n.op === 'param')) {
    throw new LazygradError(
      'backward: this tensor depends on values being traced (inside jit or grad); use grad or valueAndGrad there instead',
    );
  }
  const leaves: Node[] = reached.filter((n) => gradLeafTensor(n)?.requiresGrad);
  if (!leaves.length) throw new LazygradError('backward: no tensor with requiresGrad: true is reachable');
  const params = leaves.map((n) => param(n.types[0].dtype, n.types[0].shape));
  const [out] = substitute([loss._autogradValue], new Map(leaves.map((n, i) => [n, params[i].out])));
  const body = graphFrom('backward', params, [out]);
  const inputs = [...leaves.map((n) => n.out), ct];
  const node = makeNode('vjp', inputs, { wrt: leaves.map((_, i) => i) }, body);
  const results = expandVjp(node, node.inputs);
  leaves.forEach((n, i) => {
    const t = gradLeafTensor(n)!;
    const g = new Tensor(results[1 + i]);
    t.grad = t.grad ? binary('add', t.grad, g) : g;
  });
}
