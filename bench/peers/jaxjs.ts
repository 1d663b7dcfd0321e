/**
 * jax-js (`@jax-js/jax`) as a `--peers` side, on its `wasm` device, every
 * workload jitted (`jit`, its kernel fusion), as BENCH.md measured it.
 *
 * Facts that matter in Node: `init()` without an argument probes WebGPU and
 * throws on `navigator`, so only `init('wasm')`; the wasm device runs one
 * thread (its pool needs a global `Worker`); arrays are reference-counted and
 * consumed by every use, `.data()` included, so inputs kept across calls are
 * passed as `.ref`. Every timed call ends in `await y.data()`.
 */
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { blockUntilReady, defaultDevice, init, jit, nn, numpy as np, tree, valueAndGrad } from '@jax-js/jax';
import { type HandMlp, MLP_SIZES, W4_BATCH, W4_LR } from '../reference';
import {
  W1_CHECK_N,
  W3_COLS,
  W4_CHECK_STEPS,
  checkSmallMatmul,
  checkW2,
  checkW3,
  checkW4,
  spotCheckMatmul,
  w1Inputs,
  w2Input,
  w3Input,
  w4Inputs,
} from './common';
import type { CaseSpec, Impl, PeerWorkload, Prepared } from './protocol';

type Arr = np.Array;
type Params = { w1: Arr; b1: Arr; w2: Arr; b2: Arr };

function version(): string {
  const main = createRequire(import.meta.url).resolve('@jax-js/jax');
  return (JSON.parse(readFileSync(path.join(path.dirname(main), '..', 'package.json'), 'utf8')) as { version: string })
    .version;
}

const matmul = jit((a: Arr, b: Arr) => np.matmul(a, b));
// x is used four times: three extra references, the last use consumes it.
const w2 = jit((x: Arr) => np.tanh(x.ref.mul(1.5).add(0.5)).mul(nn.sigmoid(x.ref)).add(x.ref.mul(x)));
const softmax = jit((x: Arr) => nn.softmax(x, -1));

function loss(p: Params, x: Arr, y1h: Arr): Arr {
  const h = nn.relu(np.matmul(x, p.w1).add(p.b1));
  const logits = np.matmul(h, p.w2).add(p.b2);
  return nn
    .logSoftmax(logits, -1)
    .mul(y1h)
    .sum()
    .mul(-1 / W4_BATCH);
}

/** One SGD step, jitted whole (forward, backward, update), returning the new parameters and the loss. */
const sgdStep = jit((p: Params, x: Arr, y1h: Arr): [Params, Arr] => {
  const [l, g] = valueAndGrad(loss)(tree.ref(p), x, y1h);
  const next = tree.map((w: Arr, gw: Arr) => w.sub(gw.mul(W4_LR)), p, g as Params);
  return [next, l];
});

const f32 = async (a: Arr) => new Float32Array(await a.data());
const fromHost = (a: Float32Array, shape: number[]) => np.array(a.slice()).reshape(shape);
const toParams = (h: HandMlp): Params => {
  const [i, hid, o] = MLP_SIZES;
  return {
    w1: fromHost(h.w1, [i, hid]),
    b1: fromHost(h.b1, [hid]),
    w2: fromHost(h.w2, [hid, o]),
    b2: fromHost(h.b2, [o]),
  };
};

async function prepare(spec: CaseSpec): Promise<Prepared> {
  switch (spec.workload) {
    case 'W1': {
      const n = spec.size;
      const small = w1Inputs(W1_CHECK_N);
      const cs = await f32(
        matmul(fromHost(small.a, [W1_CHECK_N, W1_CHECK_N]), fromHost(small.b, [W1_CHECK_N, W1_CHECK_N])),
      );
      const h = w1Inputs(n);
      const a = fromHost(h.a, [n, n]),
        b = fromHost(h.b, [n, n]);
      const c = await f32(matmul(a.ref, b.ref));
      return {
        checks: [checkSmallMatmul(cs), spotCheckMatmul(h.a, h.b, c, n)],
        warmup: n >= 1024 ? 2 : 3,
        call: async () => {
          await matmul(a.ref, b.ref).data();
        },
        dispose: () => tree.dispose([a, b]),
      };
    }
    case 'W2': {
      const x = np.array(w2Input());
      const y = await f32(w2(x.ref));
      return {
        checks: [checkW2(y)],
        call: async () => {
          await w2(x.ref).data();
        },
        dispose: () => x.dispose(),
      };
    }
    case 'W3': {
      const x = fromHost(w3Input(), [spec.size, W3_COLS]);
      const y = await f32(softmax(x.ref));
      return {
        checks: [checkW3(y)],
        call: async () => {
          await softmax(x.ref).data();
        },
        dispose: () => x.dispose(),
      };
    }
    case 'W4': {
      const inp = w4Inputs();
      const x = fromHost(inp.x, [W4_BATCH, MLP_SIZES[0]]);
      const y1h = fromHost(inp.oneHot, [W4_BATCH, MLP_SIZES[2]]);
      // The check: W4_CHECK_STEPS steps from the shared initial parameters.
      let p = toParams(inp.params);
      const losses: number[] = [];
      let after1: HandMlp | undefined;
      for (let k = 0; k < W4_CHECK_STEPS; k++) {
        let l: Arr;
        [p, l] = sgdStep(p, x.ref, y1h.ref);
        losses.push((await l.data())[0]);
        if (!after1) {
          const [w1, b1, w2, b2] = await Promise.all([p.w1, p.b1, p.w2, p.b2].map((t) => f32(t.ref)));
          after1 = { w1, b1, w2, b2 };
        }
      }
      const { checks, note } = checkW4(after1!, losses);
      return {
        checks,
        note,
        call: async () => {
          let l: Arr;
          [p, l] = sgdStep(p, x.ref, y1h.ref);
          await l.data();
          await blockUntilReady(p);
        },
        dispose: () => tree.dispose([p, x, y1h]),
      };
    }
  }
}

export async function createImpl(): Promise<Impl> {
  const devices = await init('wasm');
  if (!devices.includes('wasm')) throw new Error(`jax-js: init('wasm') gave devices ${devices.join(', ')}`);
  defaultDevice('wasm');
  return {
    info: async () => ({
      name: 'jax-js',
      version: version(),
      device: `wasm, jit, ${typeof (globalThis as { Worker?: unknown }).Worker === 'undefined' ? '1 thread (no global Worker in Node)' : 'threads?'}`,
      notes: [],
    }),
    variants: (w: PeerWorkload) => [w === 'W4' ? 'jit step' : 'jit'],
    prepare,
  };
}
