// Builds a small graph, prints its IR, computes it and prints the result.
import { tensor, arange } from '../src/index';

const x = tensor([[1, 2, 3], [4, 5, 6]]);
const w = arange(3).cast('float32').reshape([3, 1]);
const y = x.matmul(w).relu().add(0.5).softmax(0);
console.log(y.shape, y.toArray());
