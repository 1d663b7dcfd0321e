/**
 * The MNIST training demo: jit-compiles the whole training step (forward,
 * loss, backward, Adam update) and trains an MLP or a small CNN on the real
 * digits of the `mnist` package, reporting per-epoch loss and accuracy, the
 * held-out accuracy, steps/s, kernels per step and first-call compile time.
 */
import cliProgress from 'cli-progress';
import { valueAndGrad } from './autograd';
import { manualSeed } from './creation';
import { batches, loadMnist, type Dataset } from './data/mnist';
import { jit } from './jit';
import * as nn from './nn';
import * as optim from './optim';
import { backendInfo, setBackend, setFusion, type BackendName } from './settings';
import type { Tensor } from './tensor';

export interface DemoOptions {
  model?: 'mlp' | 'cnn';
  backend?: BackendName;
  fusion?: boolean;
  epochs?: number;
  batchSize?: number;
  lr?: number;
  seed?: number;
  /** Show a progress bar (default: when stdout is a terminal). */
  progress?: boolean;
  log?: (line: string) => void;
}

export interface DemoResult {
  testAccuracy: number;
  epochs: { loss: number; trainAccuracy: number; seconds: number }[];
  stepsPerSecond: number;
  kernelsPerStep: number;
  compileMs: number;
  totalSeconds: number;
  mode: string;
}

/** What the demo runs with when an option is not given (the CLI's --help shows these). */
export const DEMO_DEFAULTS = {
  model: 'mlp',
  epochs: { mlp: 8, cnn: 4 },
  batchSize: 64,
  lr: 2e-3,
  seed: 0,
} as const;

type Params = unknown;

const PIXEL_MEAN = 0.1307;
const PIXEL_STD = 0.3081;

function cnnInit() {
  return {
    c1: nn.init.conv2d(1, 8, 3),
    c2: nn.init.conv2d(8, 16, 3),
    fc1: nn.init.linear(16 * 7 * 7, 128),
    fc2: nn.init.linear(128, 10),
  };
}

function cnnForward(p: ReturnType<typeof cnnInit>, x: Tensor): Tensor {
  let h = x.reshape([-1, 1, 28, 28]);
  h = nn.maxPool2d(nn.conv2d(p.c1, h, { padding: 1 }).relu(), 2);
  h = nn.maxPool2d(nn.conv2d(p.c2, h, { padding: 1 }).relu(), 2);
  return nn.linear(p.fc2, nn.linear(p.fc1, h.reshape([h.shape[0], -1])).relu());
}

export function runDemo(opts: DemoOptions = {}): DemoResult {
  const log = opts.log ?? ((l: string) => console.log(l));
  const model = opts.model ?? DEMO_DEFAULTS.model;
  const epochs = opts.epochs ?? DEMO_DEFAULTS.epochs[model];
  const batchSize = opts.batchSize ?? DEMO_DEFAULTS.batchSize;
  const lr = opts.lr ?? DEMO_DEFAULTS.lr;
  const seed = opts.seed ?? DEMO_DEFAULTS.seed;
  if (opts.backend) setBackend(opts.backend);
  if (opts.fusion !== undefined) setFusion(opts.fusion);
  manualSeed(seed);
  const t0 = performance.now();
  const { train, test } = loadMnist({ seed });

  // Inputs standardised with the training set's pixel mean and deviation.
  const forward = (p: Params, x: Tensor): Tensor => {
    const z = x.sub(PIXEL_MEAN).div(PIXEL_STD);
    return model === 'mlp' ? nn.mlp(p as nn.LinearParams[], z) : cnnForward(p as ReturnType<typeof cnnInit>, z);
  };
  let params: Params = model === 'mlp' ? nn.init.mlp([784, 512, 10]) : cnnInit();
  const opt = optim.adam({ lr });
  let state = opt.init(params);

  const lossFn = (p: Params, x: Tensor, y: Tensor) => {
    const logits = forward(p, x);
    return [nn.crossEntropy(logits, y), nn.accuracy(logits, y)] as [Tensor, Tensor];
  };
  const step = jit(
    (p: Params, s: typeof state, x: Tensor, y: Tensor) => {
      const [[loss, acc], grads] = valueAndGrad(lossFn, { hasAux: true })(p, x, y) as [[Tensor, Tensor], Params];
      const [np, ns] = opt.update(grads, s, p);
      return [np, ns, loss, acc];
    },
    { donate: [0, 1] },
  );
  const evaluate = jit((p: Params, x: Tensor, y: Tensor) => nn.accuracy(forward(p, x), y));

  const info = backendInfo();
  log(
    `lazygrad MNIST demo: model=${model} backend=${info.name} (${info.mode}) fusion=${opts.fusion ?? true} epochs=${epochs} batch=${batchSize}`,
  );
  log(`data: ${train.length} training and ${test.length} held-out digits`);
  const stepsPerEpoch = Math.floor(train.length / batchSize);
  let compileMs = 0;
  let kernelsPerStep = 0;
  let steps = 0;
  let trainSeconds = 0;
  const history: DemoResult['epochs'] = [];
  const showBar = opts.progress ?? !!process.stdout.isTTY;
  for (let epoch = 0; epoch < epochs; epoch++) {
    const bar = showBar
      ? new cliProgress.SingleBar(
          { format: `epoch ${epoch + 1}/${epochs} [{bar}] {value}/{total} loss {loss}`, hideCursor: true },
          cliProgress.Presets.shades_classic,
        )
      : null;
    bar?.start(stepsPerEpoch, 0, { loss: '-' });
    let lossSum = 0;
    let accSum = 0;
    let n = 0;
    const te = performance.now();
    for (const { x, y } of batches(train, batchSize, { seed: seed * 1000 + epoch + 1 })) {
      const first = steps === 0;
      const ts = performance.now();
      if (first) kernelsPerStep = step.lower(params, state, x, y).stats().kernels;
      const [np, ns, loss, acc] = step(params, state, x, y) as [Params, typeof state, Tensor, Tensor];
      params = np;
      state = ns;
      const l = loss.item() as number;
      lossSum += l;
      accSum += acc.item() as number;
      if (first) compileMs = performance.now() - ts;
      // Batches are spent after their step: free them now (textures on gpujs).
      x.dispose();
      y.dispose();
      n++;
      steps++;
      bar?.update(n, { loss: l.toFixed(4) });
    }
    bar?.stop();
    const seconds = (performance.now() - te) / 1000;
    trainSeconds += seconds;
    history.push({ loss: lossSum / n, trainAccuracy: accSum / n, seconds });
    log(
      `epoch ${epoch + 1}: loss ${(lossSum / n).toFixed(4)}  train accuracy ${((accSum / n) * 100).toFixed(2)}%  (${seconds.toFixed(1)} s)`,
    );
  }
  const testAccuracy = accuracyOn(evaluate, params, test);
  const result: DemoResult = {
    testAccuracy,
    epochs: history,
    stepsPerSecond: steps / trainSeconds,
    kernelsPerStep,
    compileMs,
    totalSeconds: (performance.now() - t0) / 1000,
    mode: info.mode,
  };
  log(`test accuracy: ${(testAccuracy * 100).toFixed(2)}%`);
  log(
    `steps/s: ${result.stepsPerSecond.toFixed(2)}  kernels per step: ${kernelsPerStep}  first-call compile: ${compileMs.toFixed(0)} ms  total: ${result.totalSeconds.toFixed(1)} s`,
  );
  return result;
}

function accuracyOn(evaluate: (p: Params, x: Tensor, y: Tensor) => Tensor, params: Params, ds: Dataset): number {
  let correct = 0;
  let total = 0;
  for (const { x, y } of batches(ds, 500, { dropLast: false })) {
    const n = y.shape[0];
    correct += (evaluate(params, x, y).item() as number) * n;
    total += n;
  }
  return correct / total;
}
