/**
 * lazygrad on one registered backend as a `--peers` side, in the parent
 * process: the same jitted functions as bench/run.ts (fusion on), pinned to
 * the backend with jit's `backend` option, on inputs created on that backend,
 * with the same checks as the peers. Every timed call reads its result back
 * (`dataSync()` / `item()`).
 */
import { readFileSync } from 'node:fs';
import * as lg from '../../src/index';
import * as W from '../workloads';
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

/** Runs `f` with `backend` as the current backend, then restores the previous one. */
function onBackend<T>(backend: string, f: () => T): T {
  const prev = lg.getBackend();
  lg.setBackend(backend);
  try {
    return f();
  } finally {
    lg.setBackend(prev);
  }
}

const host = (t: lg.Tensor) => Float32Array.from(t.dataSync() as Float32Array);

/**
 * lazygrad on `backend`, on `threads` threads when given (set before every
 * prepare and call, so sides with other counts can share this process).
 */
export function lazygradImpl(backend: string, threads?: number): Impl {
  const useThreads = () => {
    if (threads !== undefined) lg.setThreads(threads);
  };
  const jit = <F extends (...args: any[]) => any>(f: F, opts: { donate?: number } = {}) =>
    lg.jit(f, { fusion: true, backend, ...opts });
  const matmul = jit((a: lg.Tensor, b: lg.Tensor) => a.matmul(b));
  const w2 = jit(W.w2);
  const softmax = jit((x: lg.Tensor) => x.softmax(-1));
  const step = jit(W.lgStep, { donate: 0 });
  const tensor = (a: Float32Array | Int32Array, shape: number[]) =>
    onBackend(backend, () => lg.tensor(a.slice()).reshape(shape).realize());

  function prepare(spec: CaseSpec): Prepared {
    switch (spec.workload) {
      case 'W1': {
        const n = spec.size,
          m = W1_CHECK_N;
        const small = w1Inputs(m);
        const cs = host(matmul(tensor(small.a, [m, m]), tensor(small.b, [m, m])));
        const h = w1Inputs(n);
        const a = tensor(h.a, [n, n]),
          b = tensor(h.b, [n, n]);
        return {
          checks: [checkSmallMatmul(cs), spotCheckMatmul(h.a, h.b, host(matmul(a, b)), n)],
          warmup: n >= 1024 ? 1 : 3,
          call: () => void matmul(a, b).dataSync(),
        };
      }
      case 'W2': {
        const x = tensor(w2Input(), [spec.size]);
        return { checks: [checkW2(host(w2(x)))], call: () => void w2(x).dataSync() };
      }
      case 'W3': {
        const x = tensor(w3Input(), [spec.size, W3_COLS]);
        return { checks: [checkW3(host(softmax(x)))], call: () => void softmax(x).dataSync() };
      }
      case 'W4': {
        const [i, hid, o] = W.MLP_SIZES;
        const inp = w4Inputs();
        const x = tensor(inp.x, [W.W4_BATCH, i]);
        const y = tensor(inp.labels, [W.W4_BATCH]);
        let p: W.Params = [
          { w: tensor(inp.params.w1, [i, hid]), b: tensor(inp.params.b1, [hid]) },
          { w: tensor(inp.params.w2, [hid, o]), b: tensor(inp.params.b2, [o]) },
        ];
        const losses: number[] = [];
        let after1: W.HandMlp | undefined;
        for (let k = 0; k < W4_CHECK_STEPS; k++) {
          let loss: lg.Tensor;
          [p, loss] = step(p, x, y) as [W.Params, lg.Tensor];
          losses.push(loss.item() as number);
          after1 ??= { w1: host(p[0].w), b1: host(p[0].b), w2: host(p[1].w), b2: host(p[1].b) };
        }
        const { checks, note } = checkW4(after1!, losses);
        return {
          checks,
          note,
          call: () => {
            let loss: lg.Tensor;
            [p, loss] = step(p, x, y) as [W.Params, lg.Tensor];
            loss.item();
          },
        };
      }
    }
  }

  return {
    info: async () => {
      const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
        version: string;
      };
      const mode = onBackend(backend, () => lg.backendInfo().mode);
      const name = `lazygrad ${backend}${threads === undefined ? '' : ` ${threads}t`}`;
      const on = threads === undefined ? '' : `, ${threads} thread${threads === 1 ? '' : 's'}`;
      return { name, version: pkg.version, device: `${backend} (${mode}${on})`, notes: [] };
    },
    variants: (w: PeerWorkload) => [w === 'W4' ? 'jit step' : 'jit'],
    prepare: async (spec) => {
      useThreads();
      const p = prepare(spec);
      const call = p.call;
      return { ...p, call: () => (useThreads(), call()) };
    },
  };
}
