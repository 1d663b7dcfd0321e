/**
 * Built-in example programs for the CLI's `ir` and `compare` commands: each
 * is a function and the arguments to trace it with.
 */
import { manualSeed, rand, tensor } from './creation';
import { valueAndGrad } from './autograd';
import * as nn from './nn';
import * as optim from './optim';
import type { Tensor } from './tensor';

export interface BuiltinProgram {
  readonly description: string;
  readonly fn: (...args: never[]) => unknown;
  args(): unknown[];
}

const w2 = (x: Tensor) => x.mul(1.5).add(0.5).tanh().mul(x.sigmoid()).add(x.mul(x));

function mlpStep() {
  const opt = optim.sgd({ lr: 0.1 });
  return function mlpStep(p: nn.LinearParams[], x: Tensor, y: Tensor) {
    const [loss, grads] = valueAndGrad((q: nn.LinearParams[]) => nn.crossEntropy(nn.mlp(q, x), y))(p) as [
      Tensor,
      unknown,
    ];
    const [next] = opt.update(grads, opt.init(p), p);
    return [next, loss];
  };
}

export const PROGRAMS: Record<string, BuiltinProgram> = {
  w2: {
    description: 'tanh(x*1.5+0.5)*sigmoid(x) + x*x on 1,048,576 elements (BENCH W2)',
    fn: w2 as never,
    args: () => [rand([1 << 20]).realize()],
  },
  softmax: {
    description: 'row softmax of a 4096x1024 matrix (BENCH W3)',
    fn: ((x: Tensor) => x.softmax(-1)) as never,
    args: () => [rand([4096, 1024]).realize()],
  },
  'mlp-step': {
    description: 'forward, backward and SGD update of an MLP 784-512-10, batch 128 (BENCH W4)',
    fn: mlpStep() as never,
    args: () => {
      manualSeed(0);
      return [
        nn.init.mlp([784, 512, 10]),
        rand([128, 784]).realize(),
        tensor(new Int32Array(128).map((_, i) => i % 10)),
      ];
    },
  },
  'mlp-loss': {
    description: 'the cross-entropy loss of a small MLP 4-8-3 and its gradient (small enough to read)',
    fn: ((p: nn.LinearParams[], x: Tensor, y: Tensor) =>
      valueAndGrad((q: nn.LinearParams[]) => nn.crossEntropy(nn.mlp(q, x), y))(p)) as never,
    args: () => {
      manualSeed(0);
      return [nn.init.mlp([4, 8, 3]), rand([2, 4]).realize(), tensor(new Int32Array([0, 2]))];
    },
  },
};
