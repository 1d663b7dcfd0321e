// Builds a small graph, prints its IR, computes it and prints the result.
import { arange, makeIR, tensor, type Tensor } from '../src/index';

const f = function scoreRows(x: Tensor, w: Tensor) {
  return x.matmul(w).relu().add(0.5).softmax(0);
};
const x = tensor([
  [1, 2, 3],
  [4, 5, 6],
]);
const w = arange(3).cast('float32').reshape([3, 1]);

console.log(makeIR(f)(x, w)); // the traced IR, like jax.make_jaxpr
const y = f(x, w); // lazy: nothing has run yet
console.log(y.shape, y.toArray()); // compiles, runs and reads back
