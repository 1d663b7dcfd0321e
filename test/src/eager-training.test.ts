/**
 * Issue 13 item 7: the natural eager training loop must cost the same per
 * step (it used to recompute the whole history of updates on every read:
 * step 100 took two minutes and 1.3 GB). Outside a trace `opt.update`
 * realises the new parameters and state, and reading the loss realises the
 * gradients of the same `valueAndGrad` call in the same program.
 */
import { describe, expect, it } from 'vitest';
import * as lg from '../../src/index';

type T = lg.Tensor;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

describe('eager training loops stay flat', () => {
  it('300 Adam steps of a 64-128-10 MLP: parameters stay realised, time and heap per step flat', () => {
    lg.manualSeed(3);
    const x = lg.randn([32, 64]).realize();
    const y = lg.tensor(new Int32Array(Array.from({ length: 32 }, (_, i) => i % 10)));
    let params = lg.nn.init.mlp([64, 128, 10]) as unknown;
    const opt = lg.optim.adam({ lr: 1e-3 });
    let state = opt.init(params) as unknown;
    const loss = (p: unknown) => lg.nn.crossEntropy(lg.nn.mlp(p as never, x), y);
    const times: number[] = [];
    const losses: number[] = [];
    let heapAt60 = 0;
    for (let step = 0; step < 300; step++) {
      const t0 = performance.now();
      const [l, g] = lg.valueAndGrad(loss)(params) as [T, unknown];
      losses.push(l.item() as number);
      [params, state] = opt.update(g, state as never, params) as [unknown, unknown];
      times.push(performance.now() - t0);
      if (step === 60) heapAt60 = process.memoryUsage().heapUsed;
      // Nothing pending: every parameter and state leaf is a buffer, not a growing graph.
      for (const t of [...(params as { w: T; b: T }[]).flatMap((p) => [p.w, p.b])])
        expect(t._value.node.op).toBe('buffer');
    }
    expect(losses[299]).toBeLessThan(losses[0]);
    expect(median(times.slice(250))).toBeLessThan(1.5 * median(times.slice(10, 60)));
    // Generous: a graph growing with the steps grew by hundreds of MB by step 100.
    expect(process.memoryUsage().heapUsed - heapAt60).toBeLessThan(64 * 2 ** 20);
  });

  it('reading the loss realises the gradients of the same call, with the same numbers as reading them alone', () => {
    lg.manualSeed(4);
    const w = lg.randn([3, 2]).realize();
    const f = (p: T) => p.tanh().sum();
    const [l, g] = lg.valueAndGrad(f)(w) as [T, T];
    expect(g._value.node.op).not.toBe('buffer');
    const lv = l.item();
    expect(g._value.node.op).toBe('buffer');
    const [l2, g2] = lg.valueAndGrad(f)(w) as [T, T];
    expect(Array.from(g2.dataSync())).toEqual(Array.from(g.dataSync()));
    expect(l2.item()).toBe(lv);
    // d/dp sum(tanh p) = 1 - tanh(p)^2
    const wv = w.dataSync();
    Array.from(g.dataSync()).forEach((gi, i) => expect(gi).toBeCloseTo(1 - Math.tanh(wv[i]) ** 2, 5));
  });

  it('the PyTorch-style loop (requiresGrad, backward, .grad) stays flat too', () => {
    lg.manualSeed(5);
    const x = lg.randn([16, 8]).realize();
    const y = lg.tensor(new Int32Array(Array.from({ length: 16 }, (_, i) => i % 4)));
    let params = lg.nn.init.mlp([8, 16, 4]) as { w: T; b: T }[];
    const opt = lg.optim.sgd({ lr: 0.1, momentum: 0.9 });
    let state = opt.init(params) as unknown;
    const times: number[] = [];
    const losses: number[] = [];
    for (let step = 0; step < 200; step++) {
      const t0 = performance.now();
      for (const p of params) [p.w.requiresGrad, p.b.requiresGrad] = [true, true];
      const l = lg.nn.crossEntropy(lg.nn.mlp(params as never, x), y);
      l.backward();
      losses.push(l.item() as number);
      const grads = params.map((p) => ({ w: p.w.grad!, b: p.b.grad! }));
      [params, state] = opt.update(grads, state as never, params) as [typeof params, unknown];
      times.push(performance.now() - t0);
      for (const p of params) expect([p.w._value.node.op, p.b._value.node.op]).toEqual(['buffer', 'buffer']);
    }
    expect(losses[199]).toBeLessThan(losses[0]);
    expect(median(times.slice(150))).toBeLessThan(1.5 * median(times.slice(10, 60)));
  });
});
