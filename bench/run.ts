/**
 * lazygrad benchmark suite (BENCH.md W1-W4), lazygrad next to hand-written
 * JS loops measured in the same run.
 *
 *   npx tsx bench/run.ts              full run, writes bench/RESULTS.md
 *   npx tsx bench/run.ts --quick      fewer samples
 *   npx tsx bench/run.ts --only W1,W3 a subset
 *   npx tsx bench/run.ts --memory     only the W4 memory check (bench/MEMORY.md)
 *   npx tsx bench/run.ts --backend wasm
 *                                     the same tables on another backend (bench/RESULTS-wasm.md)
 *   LAZYGRAD_GPUJS_MODE=headlessgl xvfb-run -a npx tsx bench/run.ts --gpujs
 *                                     also lazygrad on the gpujs backend (headless GL),
 *                                     extra rows in the same tables (opt-in: needs GL)
 *   npx tsx bench/run.ts --peers      instead: lazygrad against jax-js and tfjs-wasm on W1-W4
 *                                     (bench/peers/, writes bench/PEERS.md); lazygrad on its
 *                                     default backend and on `wasm` once that is registered
 *   npx tsx bench/run.ts --peers --backend wasm --threads 1,2
 *                                     lazygrad at 1 and 2 threads (one side each) and the threads targets
 *   npx tsx bench/run.ts --peers=jaxjs --only W1,W4 --backend wasm --quick
 *                                     the same for chosen peers, workloads and backends, quickly
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import * as lg from '../src/index';
import { realizeTensors } from '../src/realize';
import { type Case, type MeasureOptions, type Result, fmt, measure, median, speedup, table } from './harness';
import * as W from './workloads';
import { GPU_OFF, GPU_ON, firstCall, firstCallSection, initGpujs, onDevice, onGpujs } from './gpujs';
import { PEERS, type PeerName } from './peers/protocol';

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const onlyArg = argv.find((a, i) => argv[i - 1] === '--only' || a.startsWith('--only='));
const only = onlyArg ? new Set(onlyArg.replace('--only=', '').toUpperCase().split(',')) : null;
const wants = (id: string) => !only || only.has(id);
const gpujs = argv.includes('--gpujs');
const peersArg = argv.find((a) => a === '--peers' || a.startsWith('--peers='));
const backendArg = argv.find((a, i) => argv[i - 1] === '--backend' || a.startsWith('--backend='));
const threadsArg = argv.find((a, i) => argv[i - 1] === '--threads' || a.startsWith('--threads='));

// Five interleaved rounds: a burst of load from other users of this machine then hits a fifth
// of a case's samples, which the median absorbs (three rounds let one burst move a ratio 40 %).
const base: MeasureOptions = quick
  ? { samples: 5, rounds: 1, warmup: 1, maxTime: 0.1 }
  : { samples: 15, rounds: 5, warmup: 2, maxTime: 0.2 };
/**
 * W1 1024 takes seconds per call in JS: fewer samples, and no separate
 * warm-up (benchmark.js makes an untimed call before every sample anyway).
 */
const slow: MeasureOptions = quick
  ? { samples: 2, rounds: 1, warmup: 0, maxTime: 0 }
  : { samples: 3, rounds: 1, warmup: 0, maxTime: 0 };
/** gpujs W1 1024 (seconds per call on software GL); its first call already ran as the warm-up. */
const gpuSlow: MeasureOptions = { samples: 2, rounds: 1, warmup: 0, maxTime: 0 };

const log = (s: string) => console.log(s);
const md: string[] = [];
const findings: string[] = [];

/** A target line: states the measured value and whether it meets the target. */
function target(what: string, value: number, ok: boolean, goal: string): string {
  const line = `${ok ? 'PASS' : 'FAIL'}: ${what} = ${fmt(value)} (target ${goal})`;
  if (!ok) findings.push(line);
  return `- ${line}`;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function check(what: string, err: number, tol: number): string {
  const ok = err <= tol;
  if (!ok) findings.push(`WRONG RESULT: ${what} max |diff| ${err} > ${tol}`);
  log(`  check ${what}: max |diff| ${err.toExponential(2)} ${ok ? 'ok' : 'MISMATCH'}`);
  return `${what} ${err.toExponential(1)}`;
}

function section(title: string, results: Result[], unit: string, notes: string[]): void {
  md.push(`## ${title}`, '', table(results, unit), '', ...notes, '');
}

/** Uniform(lo, hi) float32 tensor from the seeded generator, realised, plus a host copy. */
function input(shape: number[], lo: number, hi: number): { t: lg.Tensor; a: Float32Array } {
  const t = lg
    .rand(shape)
    .mul(hi - lo)
    .add(lo)
    .realize();
  return { t, a: new Float32Array(t.dataSync()) };
}

// ------------------------------------------------------------------ W1

async function runW1(): Promise<void> {
  for (const n of [256, 512, 1024]) {
    log(`W1 matmul ${n}×${n}`);
    const a = input([n, n], -1, 1),
      b = input([n, n], -1, 1);
    const cN = new Float32Array(n * n),
      cT = new Float32Array(n * n);
    const fused = W.lgMatmul(true),
      unfused = W.lgMatmul(false);
    const out: Record<string, Float32Array> = {};
    const flop = 2 * n ** 3;
    const cases: Case[] = [
      { name: 'hand: naive i-k-j', fn: () => W.matmulNaive(a.a, b.a, cN, n), work: flop, vs: 'hand: 4-row tiled' },
      { name: 'hand: 4-row tiled', fn: () => W.matmulTiled4(a.a, b.a, cT, n), work: flop },
      {
        name: 'lazygrad jit, fusion on',
        fn: () => {
          out.on = fused(a.t, b.t).dataSync() as Float32Array;
        },
        work: flop,
        kernels: fused.lower(a.t, b.t).stats().kernels,
        vs: 'hand: 4-row tiled',
      },
      {
        name: 'lazygrad jit, fusion off',
        fn: () => {
          out.off = unfused(a.t, b.t).dataSync() as Float32Array;
        },
        work: flop,
        kernels: unfused.lower(a.t, b.t).stats().kernels,
        vs: 'hand: 4-row tiled',
      },
    ];
    // A single dot is the same one kernel in both modes: skip the slow duplicate at 1024.
    if (n >= 1024) cases.pop();
    const res = await measure(cases, n >= 1024 ? slow : base, log);
    if (gpujs) {
      res.push(
        ...(await onGpujs(async () => {
          const ga = onDevice(a.a, [n, n]),
            gb = onDevice(b.a, [n, n]);
          const f = W.lgMatmul(true);
          const call = () => {
            out.gpu = f(ga, gb).dataSync() as Float32Array;
          };
          firstCall(`W1 ${n}`, 'fusion on', call);
          const gcase: Case = {
            name: GPU_ON,
            fn: call,
            work: flop,
            kernels: f.lower(ga, gb).stats().kernels,
            vs: 'hand: 4-row tiled',
          };
          return measure([gcase], n >= 1024 ? gpuSlow : base, log);
        })),
      );
    }
    const tol = 1e-4 * n;
    const checks = [
      check('naive vs tiled', maxAbsDiff(cN, cT), tol),
      check('fused vs tiled', maxAbsDiff(out.on, cT), tol),
    ];
    if (out.off) checks.push(check('unfused vs tiled', maxAbsDiff(out.off, cT), tol));
    if (out.gpu) checks.push(check('gpujs fused vs tiled', maxAbsDiff(out.gpu, cT), tol));
    const lgRes = res.find((r) => r.name === 'lazygrad jit, fusion on')!;
    const gflops = flop / (lgRes.median * 1e6);
    const ratio = lgRes.median / res.find((r) => r.name === 'hand: 4-row tiled')!.median;
    const notes = [
      `- checked against the tiled hand loop: ${checks.join(', ')}`,
      target(`W1 ${n} lazygrad time / hand 4-row tiled (single-op kernel)`, ratio, ratio <= 1.5, '≤ 1.5'),
    ];
    if (n === 1024) notes.push(target('W1 1024 lazygrad GFLOP/s', gflops, gflops >= 1.5, '≥ 1.5'));
    if (gpujs)
      notes.push(
        `- gpujs fused time / hand 4-row tiled: ${fmt(1 / speedup(res, GPU_ON, 'hand: 4-row tiled'))}, / js fused: ${fmt(1 / speedup(res, GPU_ON, 'lazygrad jit, fusion on'))}`,
      );
    section(`W1: matmul ${n}×${n}·${n}×${n} (GFLOP/s = 2N³ / time)`, res, 'GFLOP/s', notes);
  }
}

// -------------------------------------------------------- W2 and W2b

async function runElementwise(id: 'W2' | 'W2b'): Promise<void> {
  const n = 1 << 20;
  log(`${id} elementwise chain on ${n} floats`);
  const x = input([n], -2, 2);
  const yF = new Float32Array(n),
    yU = new Float32Array(n);
  const temps = W.tempBuffers(n, 6);
  const [handF, handU, lgF] =
    id === 'W2' ? [W.w2HandFused, W.w2HandUnfused, W.lgW2] : [W.w2bHandFused, W.w2bHandUnfused, W.lgW2b];
  const fused = lgF(true),
    unfused = lgF(false);
  const out: Record<string, Float32Array> = {};
  const bytes = 8 * n; // read x, write y: the minimum traffic
  const loops = id === 'W2' ? 7 : 6;
  const cases: Case[] = [
    { name: 'hand: one fused loop', fn: () => handF(x.a, yF), work: bytes },
    { name: `hand: unfused, ${loops} loops, buffers reused`, fn: () => handU(x.a, yU, temps), work: bytes },
    {
      name: 'lazygrad jit, fusion on',
      fn: () => {
        out.on = fused(x.t).dataSync() as Float32Array;
      },
      work: bytes,
      kernels: fused.lower(x.t).stats().kernels,
      vs: 'hand: one fused loop',
    },
    {
      name: 'lazygrad jit, fusion off',
      fn: () => {
        out.off = unfused(x.t).dataSync() as Float32Array;
      },
      work: bytes,
      kernels: unfused.lower(x.t).stats().kernels,
      vs: `hand: unfused, ${loops} loops, buffers reused`,
    },
    // lazygrad's call allocates a fresh output (dataSync() returns it without a copy); this row does the same around the hand loop.
    {
      name: 'hand: fused loop, fresh output',
      fn: () => {
        const o = new Float32Array(n);
        handF(x.a, o);
        out.fresh = o;
      },
      work: bytes,
      vs: 'hand: one fused loop',
    },
  ];
  const res = await measure(cases, base, log);
  if (gpujs) {
    res.push(
      ...(await onGpujs(async () => {
        const gx = onDevice(x.a, [n]);
        const gF = lgF(true),
          gU = lgF(false);
        const callF = () => {
          out.gpuOn = gF(gx).dataSync() as Float32Array;
        };
        const callU = () => {
          out.gpuOff = gU(gx).dataSync() as Float32Array;
        };
        firstCall(id, 'fusion on', callF);
        firstCall(id, 'fusion off', callU);
        return measure(
          [
            { name: GPU_ON, fn: callF, work: bytes, kernels: gF.lower(gx).stats().kernels, vs: 'hand: one fused loop' },
            {
              name: GPU_OFF,
              fn: callU,
              work: bytes,
              kernels: gU.lower(gx).stats().kernels,
              vs: `hand: unfused, ${loops} loops, buffers reused`,
            },
          ],
          base,
          log,
        );
      })),
    );
  }
  const checks = [
    check('hand unfused vs fused', maxAbsDiff(yU, yF), 1e-5),
    check('lazygrad fused vs hand', maxAbsDiff(out.on, yF), 1e-5),
    check('lazygrad unfused vs hand', maxAbsDiff(out.off, yF), 1e-5),
  ];
  if (gpujs)
    checks.push(
      check('gpujs fused vs hand', maxAbsDiff(out.gpuOn, yF), 1e-5),
      check('gpujs unfused vs hand', maxAbsDiff(out.gpuOff, yF), 1e-5),
    );
  const lgFU = speedup(res, 'lazygrad jit, fusion on', 'lazygrad jit, fusion off');
  const handFU = speedup(res, 'hand: one fused loop', `hand: unfused, ${loops} loops, buffers reused`);
  const vsHand = 1 / speedup(res, 'lazygrad jit, fusion on', 'hand: one fused loop');
  const unfVsHand = 1 / speedup(res, 'lazygrad jit, fusion off', `hand: unfused, ${loops} loops, buffers reused`);
  const notes = [
    `- checked against the hand-fused loop: ${checks.join(', ')}`,
    `- fused vs unfused speed-up: lazygrad ${fmt(lgFU)}×, hand loops ${fmt(handFU)}×`,
    id === 'W2'
      ? target('W2 lazygrad fused time / hand-fused loop', vsHand, vsHand <= 1.1, '≤ 1.1')
      : `- lazygrad fused time / hand-fused loop: ${fmt(vsHand)}`,
    `- lazygrad fused time / hand-fused loop with the same fresh output: ${fmt(1 / speedup(res, 'lazygrad jit, fusion on', 'hand: fused loop, fresh output'))}`,
    id === 'W2'
      ? target('W2 lazygrad fused speed-up over unfused', lgFU, lgFU >= 1.3, '≥ 1.3×')
      : target('W2b lazygrad fused speed-up over unfused', lgFU, lgFU >= 4, '≥ 4×'),
    target(
      `${id} lazygrad unfused time / hand unfused loops (single-op kernels)`,
      unfVsHand,
      unfVsHand <= 1.5,
      '≤ 1.5',
    ),
  ];
  if (gpujs) {
    notes.push(
      `- gpujs: fused time / hand-fused loop ${fmt(1 / speedup(res, GPU_ON, 'hand: one fused loop'))}, / js fused ` +
        `${fmt(1 / speedup(res, GPU_ON, 'lazygrad jit, fusion on'))}; fused vs unfused speed-up ${fmt(speedup(res, GPU_ON, GPU_OFF))}×`,
    );
  }
  const title =
    id === 'W2'
      ? 'W2: y = tanh(x*1.5+0.5)*sigmoid(x) + x*x, 1M floats'
      : 'W2b: y = ((x*1.5+0.5)*x - 0.25)*0.5 + x, 1M floats';
  section(`${title} (GB/s = 8 bytes per element / time)`, res, 'GB/s', notes);
}

// ------------------------------------------------------------------ W3

async function runW3(): Promise<void> {
  const rows = 4096,
    cols = 1024;
  log(`W3 row softmax ${rows}×${cols}`);
  const x = input([rows, cols], -4, 4);
  const y = new Float32Array(rows * cols);
  const fused = W.lgSoftmax(true),
    unfused = W.lgSoftmax(false);
  const out: Record<string, Float32Array> = {};
  const bytes = 8 * rows * cols;
  const cases: Case[] = [
    { name: 'hand: per-row loop', fn: () => W.softmaxRows(x.a, y, rows, cols), work: bytes },
    {
      name: 'lazygrad jit, fusion on',
      fn: () => {
        out.on = fused(x.t).dataSync() as Float32Array;
      },
      work: bytes,
      kernels: fused.lower(x.t).stats().kernels,
      vs: 'hand: per-row loop',
    },
    {
      name: 'lazygrad jit, fusion off',
      fn: () => {
        out.off = unfused(x.t).dataSync() as Float32Array;
      },
      work: bytes,
      kernels: unfused.lower(x.t).stats().kernels,
      vs: 'hand: per-row loop',
    },
  ];
  const res = await measure(cases, base, log);
  if (gpujs) {
    res.push(
      ...(await onGpujs(async () => {
        const gx = onDevice(x.a, [rows, cols]);
        const f = W.lgSoftmax(true);
        const call = () => {
          out.gpu = f(gx).dataSync() as Float32Array;
        };
        firstCall('W3', 'fusion on', call);
        return measure(
          [{ name: GPU_ON, fn: call, work: bytes, kernels: f.lower(gx).stats().kernels, vs: 'hand: per-row loop' }],
          base,
          log,
        );
      })),
    );
  }
  const checks = [
    check('lazygrad fused vs hand', maxAbsDiff(out.on, y), 1e-6),
    check('lazygrad unfused vs hand', maxAbsDiff(out.off, y), 1e-6),
  ];
  if (gpujs) checks.push(check('gpujs fused vs hand', maxAbsDiff(out.gpu, y), 1e-6));
  const vsHand = 1 / speedup(res, 'lazygrad jit, fusion on', 'hand: per-row loop');
  const notes = [
    `- checked against the hand loop: ${checks.join(', ')}`,
    `- fused vs unfused speed-up: lazygrad ${fmt(speedup(res, 'lazygrad jit, fusion on', 'lazygrad jit, fusion off'))}×`,
    target('W3 lazygrad fused time / hand per-row loop', vsHand, vsHand <= 1.2, '≤ 1.2'),
  ];
  if (gpujs)
    notes.push(
      `- gpujs fused time / hand per-row loop: ${fmt(1 / speedup(res, GPU_ON, 'hand: per-row loop'))}, / js fused: ${fmt(1 / speedup(res, GPU_ON, 'lazygrad jit, fusion on'))}`,
    );
  section(`W3: row softmax ${rows}×${cols} (GB/s = 8 bytes per element / time)`, res, 'GB/s', notes);
}

// ------------------------------------------------------------------ W4

interface HostParams {
  w1: Float32Array;
  b1: Float32Array;
  w2: Float32Array;
  b2: Float32Array;
}

function toTensors(h: HostParams): W.Params {
  const t = (a: Float32Array, shape: number[]) => lg.tensor(new Float32Array(a)).reshape(shape).realize();
  const [i, hid, o] = W.MLP_SIZES;
  return [
    { w: t(h.w1, [i, hid]), b: t(h.b1, [hid]) },
    { w: t(h.w2, [hid, o]), b: t(h.b2, [o]) },
  ];
}
const copyHost = (h: HostParams): HostParams => ({
  w1: h.w1.slice(),
  b1: h.b1.slice(),
  w2: h.w2.slice(),
  b2: h.b2.slice(),
});
const leaves = (p: W.Params) => p.flatMap((l) => [l.w, l.b]);

/** Runs child.ts in a fresh node process (same tsx loader as this one) and parses its JSON line. */
function child(args: string[], extraFlags: string[] = []): any {
  const file = fileURLToPath(new URL('./child.ts', import.meta.url));
  const out = execFileSync(process.execPath, [...process.execArgv, ...extraFlags, file, ...args], {
    encoding: 'utf8',
    env: { ...process.env, LAZYGRAD_BACKEND: lg.getBackend() },
  });
  return JSON.parse(out.trim().split('\n').pop()!);
}

async function runW4(): Promise<void> {
  const [inD, hid, outD] = W.MLP_SIZES,
    B = W.W4_BATCH;
  log(`W4 MLP ${W.MLP_SIZES.join('-')} SGD step, batch ${B}`);
  lg.manualSeed(4);
  const init = lg.nn.init.mlp(W.MLP_SIZES);
  const host0: HostParams = {
    w1: new Float32Array(init[0].w.dataSync()),
    b1: new Float32Array(init[0].b.dataSync()),
    w2: new Float32Array(init[1].w.dataSync()),
    b2: new Float32Array(init[1].b.dataSync()),
  };
  const x = input([B, inD], 0, 1);
  const y = lg.rand([B]).mul(outD).cast('int32').realize();
  const yA = new Int32Array(y.dataSync());
  const scratch = W.handScratch(B, inD, hid, outD);
  const handStep = (p: HostParams) => W.handStep(p, scratch, x.a, yA, B, inD, hid, outD, W.W4_LR);

  const jitF = W.lgJitStep(true),
    jitU = W.lgJitStep(false);
  const eagerTogether = (p: W.Params): [W.Params, lg.Tensor] => {
    const [np, loss] = W.lgStep(p, x.t, y);
    realizeTensors([...leaves(np), loss]);
    return [np, loss];
  };
  const eagerEach = (p: W.Params): [W.Params, lg.Tensor] => {
    const [np, loss] = W.lgStep(p, x.t, y);
    for (const t of [...leaves(np), loss]) t.realize();
    return [np, loss];
  };
  type LgStep = (p: W.Params, x: lg.Tensor, y: lg.Tensor) => [W.Params, lg.Tensor];
  const variants: [string, LgStep][] = [
    ['lazygrad jit, fusion on', (p, xx, yy) => jitF(p, xx, yy) as [W.Params, lg.Tensor]],
    ['lazygrad jit, fusion off', (p, xx, yy) => jitU(p, xx, yy) as [W.Params, lg.Tensor]],
    ['lazygrad eager (no jit), one realise of all outputs', (p) => eagerTogether(p)],
    ['lazygrad eager (no jit), .realize() per tensor', (p) => eagerEach(p)],
  ];

  // One step of every variant from the same parameters must agree with the hand step.
  const hRef = copyHost(host0);
  const lossRef = handStep(hRef);
  let lossErr = 0,
    paramErr = 0;
  for (const [name, step] of variants) {
    const [np, loss] = step(toTensors(host0), x.t, y);
    const got = np.flatMap((l) => [l.w.dataSync(), l.b.dataSync()]);
    const le = Math.abs((loss.item() as number) - lossRef) / Math.abs(lossRef);
    const pe = Math.max(...[hRef.w1, hRef.b1, hRef.w2, hRef.b2].map((a, i) => maxAbsDiff(got[i], a)));
    check(`loss (relative), ${name} vs hand`, le, 1e-4);
    check(`params after 1 step, ${name} vs hand`, pe, 1e-5);
    lossErr = Math.max(lossErr, le);
    paramErr = Math.max(paramErr, pe);
  }

  const hp = copyHost(host0);
  const cases: Case[] = [
    {
      name: 'hand: naive loops (fwd, bwd, SGD)',
      fn: () => {
        handStep(hp);
      },
    },
  ];
  for (const [name, step] of variants) {
    let p = toTensors(host0);
    const lower = name.startsWith('lazygrad jit')
      ? (name.endsWith('fusion on') ? jitF : jitU).lower(p, x.t, y).stats()
      : undefined;
    cases.push({
      name,
      kernels: lower ? `${lower.kernels} (peak ${fmt(lower.bytes / 2 ** 20)} MiB)` : '',
      vs: 'hand: naive loops (fwd, bwd, SGD)',
      fn: () => {
        const [np, loss] = step(p, x.t, y);
        loss.item();
        p = np;
      },
    });
  }
  const res = await measure(cases, base, log);
  let gpuErr = '';
  if (gpujs) {
    res.push(
      ...(await onGpujs(async () => {
        const gx = onDevice(x.a, [B, inD]),
          gy = lg.tensor(yA).realize();
        const step = W.lgJitStep(true);
        // The first call, then the same one-step check as the js variants.
        let p = toTensors(host0);
        let np: W.Params = p,
          loss: lg.Tensor | undefined;
        firstCall('W4', 'fusion on (jitted SGD step)', () => {
          [np, loss] = step(p, gx, gy) as [W.Params, lg.Tensor];
          loss.item();
        });
        const got = np.flatMap((l) => [l.w.dataSync(), l.b.dataSync()]);
        const le = Math.abs((loss!.item() as number) - lossRef) / Math.abs(lossRef);
        const pe = Math.max(...[hRef.w1, hRef.b1, hRef.w2, hRef.b2].map((a, i) => maxAbsDiff(got[i], a)));
        gpuErr = `${check(`loss (relative), ${GPU_ON} vs hand`, le, 1e-4)}, ${check(`params after 1 step, ${GPU_ON} vs hand`, pe, 1e-5)}`;
        p = np;
        const st = step.lower(p, gx, gy).stats();
        return measure(
          [
            {
              name: GPU_ON,
              kernels: `${st.kernels} (peak ${fmt(st.bytes / 2 ** 20)} MiB)`,
              vs: 'hand: naive loops (fwd, bwd, SGD)',
              fn: () => {
                const [np2, loss2] = step(p, gx, gy) as [W.Params, lg.Tensor];
                loss2.item();
                p = np2;
              },
            },
          ],
          base,
          log,
        );
      })),
    );
  }

  log('  first call of the jitted step in fresh processes ...');
  const firsts = Array.from({ length: quick ? 1 : 3 }, () => child(['first-call']));
  const first = median(firsts.map((f) => f.first));
  const steady = median(firsts.map((f) => f.steady));
  const split = child(['first-call', 'split']);
  log(
    `  first call ${fmt(first)} ms, later steps ${fmt(steady)} ms (${firsts.length} processes); ` +
      `split: lower() ${fmt(split.lowerMs)} ms, then first call ${fmt(split.first)} ms`,
  );

  const jitVsHand = 1 / speedup(res, 'lazygrad jit, fusion on', 'hand: naive loops (fwd, bwd, SGD)');
  section(`W4: MLP ${W.MLP_SIZES.join('-')} training step, batch ${B}, SGD lr ${W.W4_LR} (ms per step)`, res, '', [
    `- one step of every lazygrad variant from the same parameters agrees with the hand step: loss within ${lossErr.toExponential(1)} (relative), ` +
      `updated parameters within ${paramErr.toExponential(1)}`,
    `- jit speed-up over eager: ${fmt(speedup(res, 'lazygrad jit, fusion on', 'lazygrad eager (no jit), one realise of all outputs'))}× (one realise), ` +
      `${fmt(speedup(res, 'lazygrad jit, fusion on', 'lazygrad eager (no jit), .realize() per tensor'))}× (.realize() per tensor)`,
    `- fused vs unfused speed-up (jit): ${fmt(speedup(res, 'lazygrad jit, fusion on', 'lazygrad jit, fusion off'))}×`,
    `- first call of the jitted step (trace + passes + codegen + compile + one run) in a fresh process: ${fmt(first)} ms ` +
      `(median of ${firsts.length}: ${firsts.map((f) => fmt(f.first)).join(', ')}); later steps in those processes ${fmt(steady)} ms. ` +
      `In one more fresh process, \`lower()\` alone (trace, passes, codegen, compile) took ${fmt(split.lowerMs)} ms and the first call after it ` +
      `${fmt(split.first)} ms (first runs of the new kernels, ${fmt(split.steady)} ms later)`,
    target('W4 jit step time / hand-written step', jitVsHand, jitVsHand <= 1, '≤ 1.0 (issue 4), ≤ 0.8 (issue 5)'),
    target('W4 jit first call ms', first, first <= 300, '≤ 300 ms'),
    ...(gpujs
      ? [
          `- gpujs: one step from the same parameters vs the hand step: ${gpuErr}; jit step time / hand step ` +
            `${fmt(1 / speedup(res, GPU_ON, 'hand: naive loops (fwd, bwd, SGD)'))}, / js jit step ${fmt(1 / speedup(res, GPU_ON, 'lazygrad jit, fusion on'))}`,
        ]
      : []),
  ]);
}

// -------------------------------------------------------------- memory

function runMemory(): void {
  log('W4 memory: 2,000 jitted SGD steps of MLP 784-64-10, batch 32, RSS after a forced GC ...');
  const r = child(['memory', '2000'], ['--expose-gc']);
  type Mem = { rssMB: number; heapMB: number; arrayBuffersMB: number };
  type Snap = { step: number; sync: Mem; yielded: Mem };
  const snaps: Snap[] = r.snaps;
  const s0 = snaps[0],
    s1 = snaps[snaps.length - 1];
  const growth = (m: (s: Snap) => Mem) => (m(s1).rssMB / m(s0).rssMB - 1) * 100;
  const perStep = (m: (s: Snap) => Mem) => fmt(((m(s1).heapMB - m(s0).heapMB) * 2 ** 20) / r.steps);
  const lines = [
    `# lazygrad memory check`,
    '',
    `\`npx tsx bench/run.ts --memory\` — ${new Date().toISOString()}, Node ${process.version}, ${os.cpus().length}× ${os.cpus()[0]?.model ?? '?'}`,
    '',
    `2,000 jitted SGD steps (donated parameters, \`loss.item()\` each step) of MLP 784-64-10, batch 32, after 50 warm-up steps; ` +
      `${fmt(r.msPerStep)} ms per step, traced ${r.traces}×. Every 250 steps memory is read after a forced GC (${r.gc ? 'on' : 'OFF: run without --expose-gc'}), ` +
      'first straight after the synchronous steps, then after yielding to the event loop (FinalizationRegistry callbacks only run then).',
    '',
    '| step | RSS MiB | heap used MiB | array buffers MiB | RSS MiB after yield | heap MiB after yield |',
    '|---:|---:|---:|---:|---:|---:|',
    ...snaps.map(
      (s) =>
        `| ${s.step} | ${s.sync.rssMB.toFixed(1)} | ${s.sync.heapMB.toFixed(2)} | ${s.sync.arrayBuffersMB.toFixed(2)} | ` +
        `${s.yielded.rssMB.toFixed(1)} | ${s.yielded.heapMB.toFixed(2)} |`,
    ),
    '',
    target(
      'RSS growth over 2,000 synchronous steps, %',
      growth((s) => s.sync),
      growth((s) => s.sync) < 10,
      '< 10 %',
    ),
    `- heap used, synchronous: ${s0.sync.heapMB.toFixed(2)} → ${s1.sync.heapMB.toFixed(2)} MiB (${perStep((s) => s.sync)} bytes per step); ` +
      `after yielding: ${s0.yielded.heapMB.toFixed(2)} → ${s1.yielded.heapMB.toFixed(2)} MiB (${perStep((s) => s.yielded)} bytes per step)`,
  ];
  const [rb, ra] = r.retained as Snap[];
  const kept = ra.sync.arrayBuffersMB - rb.sync.arrayBuffersMB;
  lines.push(
    target(
      'array-buffer MiB still held after 100 synchronous calls of jitted W2b (4 MiB results, dropped), after GC, before yielding',
      kept,
      kept < 16,
      '< 16 MiB, i.e. results freed without yielding',
    ),
    `- after yielding to the event loop: ${fmt(ra.yielded.arrayBuffersMB - rb.yielded.arrayBuffersMB)} MiB`,
    '',
  );
  const text = lines.join('\n');
  writeFileSync(new URL('./MEMORY.md', import.meta.url), text);
  log(text);
}

// ---------------------------------------------------------------- main

const t0 = performance.now();
if (argv.includes('--memory')) {
  runMemory();
} else if (peersArg) {
  const peers = (peersArg.includes('=') ? peersArg.split('=')[1].split(',') : Object.keys(PEERS)) as PeerName[];
  const unknown = peers.filter((p) => !(p in PEERS));
  if (unknown.length)
    throw new Error(`--peers: unknown peer(s) ${unknown.join(', ')} (known: ${Object.keys(PEERS).join(', ')})`);
  const { runPeers } = await import('./peers/compare');
  await runPeers({
    only,
    backends: backendArg ? backendArg.replace('--backend=', '').split(',') : null,
    threads: threadsArg ? threadsArg.replace('--threads=', '').split(',').map(Number) : null,
    peers,
    quick,
    command: `npx tsx bench/run.ts ${argv.join(' ')}`,
    log,
  });
} else {
  // lazygrad against hand-written JS loops: on js unless `--backend` names another (written to its own file).
  lg.setBackend(backendArg ? backendArg.replace('--backend=', '') : 'js');
  if (gpujs) initGpujs(); // fails now, not after the js rows, when there is no headless GL
  if (wants('W1')) await runW1();
  if (wants('W2')) await runElementwise('W2');
  if (wants('W2B')) await runElementwise('W2b');
  if (wants('W3')) await runW3();
  if (wants('W4')) await runW4();
  const cmd = `npx tsx bench/run.ts${argv.length ? ' ' + argv.join(' ') : ''}`;
  const head = [
    '# lazygrad benchmark results',
    '',
    `\`${cmd}\` — ${new Date().toISOString()}, Node ${process.version}, ${os.cpus().length}× ${os.cpus()[0]?.model ?? '?'}, ` +
      `backend ${lg.backendInfo().name} (${lg.backendInfo().mode})${gpujs ? ' and gpujs (headlessgl: gpu.js on software GL under Xvfb)' : ''}, ` +
      `${fmt((performance.now() - t0) / 1000)} s in all`,
    '',
    `Medians of benchmark.js samples (${base.samples} per case in ${base.rounds} interleaved round(s) after ${base.warmup} warm-up call(s); ` +
      `W1 1024: ${slow.samples}, its fusion-off row skipped as the same single kernel); every lazygrad call reads its result back (\`dataSync()\`/\`item()\`). ` +
      'Ratios compare medians from this run (a shared, noisy 2-core machine: absolute times drift). ' +
      'Hand-written loops reuse preallocated buffers; lazygrad allocates its outputs (`dataSync()` returns them without a copy).',
    '',
    ...(gpujs
      ? [
          "The `lazygrad gpujs` rows run the same jitted functions with `setBackend('gpujs')` on inputs uploaded to that backend; " +
            'each is measured right after the js rows of its table (not interleaved with them) and compared with the same hand-written baselines. ' +
            `Same sample counts, except W1 1024 (${gpuSlow.samples} samples). Every call reads its result back from a GL texture. ` +
            'First-call costs are in the last section.',
          '',
        ]
      : []),
  ];
  const tail = findings.length ? ['## Missed targets and mismatches', '', ...findings.map((f) => `- ${f}`), ''] : [];
  const file = lg.getBackend() === 'js' ? 'RESULTS.md' : `RESULTS-${lg.getBackend()}.md`;
  writeFileSync(new URL(`./${file}`, import.meta.url), [...head, ...md, ...firstCallSection(), ...tail].join('\n'));
  log(`\nwrote bench/${file} (${fmt((performance.now() - t0) / 1000)} s)`);
  if (findings.length) log(findings.map((f) => `  ${f}`).join('\n'));
}
