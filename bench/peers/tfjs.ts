/**
 * TensorFlow.js (`@tensorflow/tfjs-core` + `@tensorflow/tfjs-backend-wasm`,
 * XNNPACK) as a `--peers` side, eager (tfjs has no jit).
 *
 * Facts that matter in Node: the wasm backend finds its .wasm files only
 * through `setWasmPaths(<its dist folder>/)`; its threaded build cannot start
 * in Node, so it runs the SIMD build on one thread; and tfjs-core's Node
 * entry (a CommonJS bundle) registers no gradients: they come with the ESM
 * module `dist/register_all_gradients.js`, whose extension-less relative
 * imports (`./gradients/Abs_grad`, and `./gradients` next to a folder of that
 * name) Node's ESM resolver refuses. A small resolve hook adds the `.js`
 * for files under `@tensorflow/`; the gradients then register in tfjs's
 * process-wide registry, which the bundle's engine reads (W4's check proves
 * they are used). Chained methods (`x.sum()`) are not registered either, so
 * only the functional API (`tf.sum(x)`) is used. Every timed call ends in
 * `await y.data()` and disposes its result.
 */
import { createRequire, register } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { getThreadsCount, setWasmPaths, version_wasm } from '@tensorflow/tfjs-backend-wasm';
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

/** Resolves `./x` to `./x.js` (else `./x/index.js`) for extension-less relative imports inside @tensorflow packages. */
const RESOLVE_HOOK = `
const inTf = /\\/node_modules\\/@tensorflow\\//;
export async function resolve(spec, ctx, next) {
  if (ctx.parentURL && inTf.test(ctx.parentURL) && /^\\.\\.?\\//.test(spec) && !/\\.[cm]?js$/.test(spec)) {
    try { return await next(spec + '.js', ctx); } catch { return next(spec + '/index.js', ctx); }
  }
  return next(spec, ctx);
}`;

async function registerGradients(): Promise<void> {
  register('data:text/javascript,' + encodeURIComponent(RESOLVE_HOOK));
  await import('@tensorflow/tfjs-core/dist/register_all_gradients.js');
  for (const k of [tf.BatchMatMul, tf.Relu, tf.LogSoftmax, tf.Add, tf.Multiply, tf.Sum])
    if (!tf.getGradient(k)) throw new Error(`tfjs: no gradient registered for ${k}`);
}

const f32 = async (t: tf.Tensor) => {
  const d = new Float32Array((await t.data()) as Float32Array);
  t.dispose();
  return d;
};
/** Runs `f`, reads its result back and frees everything it made. */
const readBack = async (f: () => tf.Tensor) => {
  const y = tf.tidy(f);
  await y.data();
  y.dispose();
};

const w2 = (x: tf.Tensor) =>
  tf.tidy(() => tf.add(tf.mul(tf.tanh(tf.add(tf.mul(x, 1.5), 0.5)), tf.sigmoid(x)), tf.mul(x, x)));
/** Softmax written as the ops (max-subtract, exp, sum, divide). */
const softmaxOps = (x: tf.Tensor) =>
  tf.tidy(() => {
    const e = tf.exp(tf.sub(x, tf.max(x, -1, true)));
    return tf.div(e, tf.sum(e, -1, true));
  });

async function prepare(spec: CaseSpec): Promise<Prepared> {
  switch (spec.workload) {
    case 'W1': {
      const n = spec.size,
        m = W1_CHECK_N;
      const small = w1Inputs(m);
      const cs = await f32(tf.tidy(() => tf.matMul(tf.tensor2d(small.a, [m, m]), tf.tensor2d(small.b, [m, m]))));
      const h = w1Inputs(n);
      const a = tf.tensor2d(h.a, [n, n]),
        b = tf.tensor2d(h.b, [n, n]);
      const c = await f32(tf.matMul(a, b));
      return {
        checks: [checkSmallMatmul(cs), spotCheckMatmul(h.a, h.b, c, n)],
        call: () => readBack(() => tf.matMul(a, b)),
        dispose: () => tf.dispose([a, b]),
      };
    }
    case 'W2': {
      const x = tf.tensor1d(w2Input());
      return {
        checks: [checkW2(await f32(w2(x)))],
        call: () => readBack(() => w2(x)),
        dispose: () => x.dispose(),
      };
    }
    case 'W3': {
      const x = tf.tensor2d(w3Input(), [spec.size, W3_COLS]);
      const f = spec.variant === 'as ops' ? softmaxOps : (t: tf.Tensor) => tf.softmax(t);
      return {
        checks: [checkW3(await f32(f(x)))],
        call: () => readBack(() => f(x)),
        dispose: () => x.dispose(),
      };
    }
    case 'W4': {
      const [i, hid, o] = MLP_SIZES;
      const inp = w4Inputs();
      const x = tf.tensor2d(inp.x, [W4_BATCH, i]);
      const y1h = tf.tensor2d(inp.oneHot, [W4_BATCH, o]);
      const vars = (p: HandMlp) => ({
        w1: tf.variable(tf.tensor2d(p.w1, [i, hid])),
        b1: tf.variable(tf.tensor1d(p.b1)),
        w2: tf.variable(tf.tensor2d(p.w2, [hid, o])),
        b2: tf.variable(tf.tensor1d(p.b2)),
      });
      const p = vars(inp.params);
      const opt = tf.train.sgd(W4_LR);
      const loss = () => {
        const h = tf.relu(tf.add(tf.matMul(x, p.w1), p.b1));
        const logits = tf.add(tf.matMul(h, p.w2), p.b2);
        return tf.div(tf.neg(tf.sum(tf.mul(tf.logSoftmax(logits), y1h))), W4_BATCH) as tf.Scalar;
      };
      const varList = [p.w1, p.b1, p.w2, p.b2];
      const step = () => opt.minimize(loss, true, varList)!;
      // The check: W4_CHECK_STEPS steps from the shared initial parameters (then timing continues from there).
      const losses: number[] = [];
      let after1: HandMlp | undefined;
      for (let k = 0; k < W4_CHECK_STEPS; k++) {
        losses.push((await f32(step()))[0]);
        if (!after1) {
          const [w1, b1, w2, b2] = await Promise.all(varList.map((v) => f32(v.clone())));
          after1 = { w1, b1, w2, b2 };
        }
      }
      const { checks, note } = checkW4(after1!, losses);
      return {
        checks,
        note,
        call: async () => {
          const l = step();
          await l.data();
          l.dispose();
        },
        dispose: () => {
          tf.dispose([x, y1h, ...varList]);
          opt.dispose();
        },
      };
    }
  }
}

export async function createImpl(): Promise<Impl> {
  await registerGradients();
  setWasmPaths(path.dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm')) + path.sep);
  if (!(await tf.setBackend('wasm'))) throw new Error('tfjs: setBackend("wasm") failed');
  await tf.ready();
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const threads = getThreadsCount();
  return {
    info: async () => ({
      name: 'tfjs',
      version: `core ${tf.version_core}, wasm ${version_wasm}`,
      device: `wasm (XNNPACK${simd ? ', SIMD' : ', no SIMD'}), ${threads} thread${threads === 1 ? '' : 's'}`,
      notes: [`backend ${tf.getBackend()}`],
    }),
    variants: (w: PeerWorkload) => (w === 'W3' ? ['built-in softmax', 'as ops'] : [w === 'W4' ? 'eager step' : 'ops']),
    prepare,
  };
}
