// Shows a function at every stage of the compiler, down to the kernel source,
// fused and unfused, with the kernel counts and planned bytes.
import { jit, rand, type Tensor } from '../src/index';

const gelu = (x: Tensor) => x.mul(0.5).mul(x.mul(0.7978845608).mul(x.mul(x).mul(0.044715).add(1)).tanh().add(1));
const layer = function layer(x: Tensor, w: Tensor) {
  return gelu(x.matmul(w)).logSoftmax(-1).sum();
};
const x = rand([8, 16]);
const w = rand([16, 4]);

for (const fusion of [true, false]) {
  const low = jit(layer, { fusion }).lower(x, w);
  console.log(`===== fusion ${fusion ? 'on' : 'off'}: ${JSON.stringify(low.stats())}`);
  if (fusion) for (const stage of ['traced', 'optimized'] as const) console.log(`--- ${stage}\n${low.ir(stage)}`);
  console.log(`--- fused\n${low.ir('fused')}`);
  if (fusion) console.log(`--- kernels\n${low.ir('kernels')}`);
}
