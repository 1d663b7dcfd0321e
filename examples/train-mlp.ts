// Trains a small MLP on a synthetic two-spirals problem with a jitted Adam step,
// using only the public API.
import { grad, jit, manualSeed, nn, optim, tensor } from '../src/index';

manualSeed(0);
const n = 400;
const xs: number[][] = [];
const ys: number[] = [];
for (let i = 0; i < n; i++) {
  const label = i % 2;
  const t = (i / n) * 3 * Math.PI + 0.5;
  const sign = label ? -1 : 1;
  xs.push([(sign * t * Math.cos(t)) / 10, (sign * t * Math.sin(t)) / 10]);
  ys.push(label);
}
const x = tensor(xs);
const y = tensor(new Int32Array(ys));

let params: unknown = nn.init.mlp([2, 64, 64, 2]);
const opt = optim.adam({ lr: 0.01 });
let state = opt.init(params);
const loss = (p: unknown) => nn.crossEntropy(nn.mlp(p as nn.LinearParams[], x), y);
const step = jit((p: unknown, s: typeof state) => opt.update(grad(loss)(p), s, p), { donate: [0, 1] });

for (let i = 1; i <= 400; i++) {
  [params, state] = step(params, state) as [unknown, typeof state];
  if (i % 100 === 0) {
    const logits = nn.mlp(params as nn.LinearParams[], x);
    console.log(
      `step ${i}: loss ${(loss(params).item() as number).toFixed(4)}, accuracy ${((nn.accuracy(logits, y).item() as number) * 100).toFixed(1)}%`,
    );
  }
}
