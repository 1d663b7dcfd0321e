/**
 * The names demo: a small causal transformer trained on real first names,
 * character by character, with the whole training step (forward, masked
 * loss, backward, gradient clipping, AdamW with warm-up and cosine decay) one
 * jit-compiled program. Each epoch reports the held-out loss next to that of
 * a bigram model counted from the training names; at the end it samples names.
 */
import cliProgress from 'cli-progress';
import { LazygradError, uniform } from '../ir';
import { valueAndGrad } from './autograd';
import { fromValues, manualSeed } from './creation';
import { BOUNDARY, CharTokenizer } from './data/char-tokenizer';
import { contextFor, encodeNames, sequenceBatches, type SequenceSet } from './data/name-sequences';
import { loadFirstNames, splitNames } from './data/names';
import { jit } from './jit';
import { treeTensors } from './pytree';
import { bigramLoss, fitBigram } from './names-bigram';
import { initNamesModel, maskedNll, namesLogits, namesLoss, type NamesModelParams } from './names-model';
import * as optim from './optim';
import { backendInfo, setBackend, setFusion, type BackendName } from './settings';
import type { Tensor } from './tensor';

export interface NamesDemoOptions {
  backend?: BackendName;
  fusion?: boolean;
  epochs?: number;
  batchSize?: number;
  /** Peak learning rate of the warm-up / cosine schedule. */
  lr?: number;
  seed?: number;
  /** How many names to sample at the end. */
  samples?: number;
  progress?: boolean;
  log?: (line: string) => void;
}

export interface NamesDemoResult {
  epochs: { trainLoss: number; heldOutLoss: number; seconds: number }[];
  bigramHeldOutLoss: number;
  samples: string[];
  stepsPerSecond: number;
  kernelsPerStep: number;
  traceCount: number;
  compileMs: number;
  totalSeconds: number;
}

export const NAMES_DEMO_DEFAULTS = {
  epochs: 5,
  batchSize: 64,
  lr: 3e-3,
  seed: 0,
  samples: 20,
  width: 64,
  heads: 4,
  blocks: 2,
  warmupSteps: 50,
  weightDecay: 0.1,
  clipNorm: 1,
} as const;

const EVAL_BATCH = 256;
/** Mixed into the seed so sampling draws other uniforms than the split and the shuffles. */
const SAMPLING_STREAM = 0x5a3e;

/**
 * The whole training step as one jitted program: the masked loss, its
 * gradient and the optimiser's update; parameters and optimiser state are
 * donated, so their buffers are updated in place.
 */
export function makeTrainStep<S>(opt: optim.Optimizer<S>, heads: number) {
  return jit(
    (p: NamesModelParams, s: S, inputs: Tensor, targets: Tensor, mask: Tensor): [NamesModelParams, S, Tensor] => {
      const [loss, grads] = valueAndGrad((q: NamesModelParams) => namesLoss(q, inputs, targets, mask, heads))(p);
      const [nextParams, nextState] = opt.update(grads as NamesModelParams, s, p);
      return [nextParams as NamesModelParams, nextState, loss as Tensor];
    },
    { donate: [0, 1] },
  );
}

export function runNamesDemo(opts: NamesDemoOptions = {}): NamesDemoResult {
  const log = opts.log ?? ((l: string) => console.log(l));
  const d = NAMES_DEMO_DEFAULTS;
  const epochs = opts.epochs ?? d.epochs;
  const batchSize = opts.batchSize ?? d.batchSize;
  const peakLr = opts.lr ?? d.lr;
  const seed = opts.seed ?? d.seed;
  if (opts.backend) setBackend(opts.backend);
  if (opts.fusion !== undefined) setFusion(opts.fusion);
  manualSeed(seed);
  const t0 = performance.now();

  const names = loadFirstNames();
  const { train, heldOut } = splitNames(names, seed);
  const tokenizer = CharTokenizer.fromWords(names);
  const context = contextFor(names);
  const trainSet = encodeNames(train, tokenizer, context);
  const heldOutSet = encodeNames(heldOut, tokenizer, context);
  const bigramHeldOutLoss = bigramLoss(fitBigram(train, tokenizer), heldOut, tokenizer);

  const config = { vocabSize: tokenizer.vocabSize, context, width: d.width, heads: d.heads, blocks: d.blocks };
  let params = initNamesModel(config);
  const stepsPerEpoch = Math.floor(trainSet.count / batchSize);
  if (stepsPerEpoch === 0)
    throw new LazygradError(
      `names demo: the batch size ${batchSize} is larger than the ${trainSet.count} training names`,
    );
  const totalSteps = epochs * stepsPerEpoch;
  const opt = optim.chain(
    optim.clipByGlobalNorm(d.clipNorm),
    optim.adamw({
      lr: optim.schedules.warmupCosine(peakLr, Math.min(d.warmupSteps, totalSteps - 1), totalSteps),
      weightDecay: d.weightDecay,
    }),
  );
  let state = opt.init(params);
  const step = makeTrainStep(opt, d.heads);
  const heldOutNll = jit((p: NamesModelParams, inputs: Tensor, targets: Tensor, mask: Tensor) => {
    const { total, tokens } = maskedNll(namesLogits(p, inputs, d.heads), targets, mask);
    return [total, tokens];
  });

  const info = backendInfo();
  const paramCount = treeTensors(params).reduce((n, t) => n + t.size, 0);
  log(
    `lazygrad names demo: causal transformer (width ${d.width}, ${d.heads} heads, ${d.blocks} blocks, context ${context}, ${paramCount.toLocaleString('en')} parameters) backend=${info.name} (${info.mode}) fusion=${opts.fusion ?? true} epochs=${epochs} batch=${batchSize}`,
  );
  log(
    `data: ${names.length} distinct first names (vocabulary: ${tokenizer.vocabSize} ids = boundary + "${tokenizer.alphabet.join('')}"), ${train.length} for training, ${heldOut.length} held out`,
  );
  log(
    `bigram baseline (add-one, counted from the training names): held-out loss ${bigramHeldOutLoss.toFixed(4)} nats/token`,
  );

  let kernelsPerStep = 0;
  let compileMs = 0;
  let steps = 0;
  let trainSeconds = 0;
  const history: NamesDemoResult['epochs'] = [];
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
    let n = 0;
    const te = performance.now();
    for (const batch of sequenceBatches(trainSet, batchSize, { seed: seed * 1000 + epoch + 1 })) {
      const first = steps === 0;
      const ts = performance.now();
      if (first) kernelsPerStep = step.lower(params, state, batch.inputs, batch.targets, batch.mask).stats().kernels;
      const [np, ns, loss] = step(params, state, batch.inputs, batch.targets, batch.mask);
      params = np;
      state = ns;
      const l = loss.item() as number;
      if (first) compileMs = performance.now() - ts;
      batch.inputs.dispose();
      batch.targets.dispose();
      batch.mask.dispose();
      lossSum += l;
      n++;
      steps++;
      bar?.update(n, { loss: l.toFixed(4) });
    }
    bar?.stop();
    const seconds = (performance.now() - te) / 1000;
    trainSeconds += seconds;
    const heldOutLoss = meanNll(heldOutNll, params, heldOutSet);
    history.push({ trainLoss: lossSum / n, heldOutLoss, seconds });
    const gain = (1 - heldOutLoss / bigramHeldOutLoss) * 100;
    log(
      `epoch ${epoch + 1}: train loss ${(lossSum / n).toFixed(4)}  held-out loss ${heldOutLoss.toFixed(4)}  (bigram ${bigramHeldOutLoss.toFixed(4)}, ${gain >= 0 ? `${gain.toFixed(1)}% lower` : `${(-gain).toFixed(1)}% higher`})  (${seconds.toFixed(1)} s)`,
    );
  }

  const samples = sampleNames(params, d.heads, tokenizer, opts.samples ?? d.samples, seed);
  log(`samples: ${samples.join(', ')}`);
  const result: NamesDemoResult = {
    epochs: history,
    bigramHeldOutLoss,
    samples,
    stepsPerSecond: steps / trainSeconds,
    kernelsPerStep,
    traceCount: step.traceCount,
    compileMs,
    totalSeconds: (performance.now() - t0) / 1000,
  };
  log(
    `steps/s: ${result.stepsPerSecond.toFixed(2)}  kernels per step: ${kernelsPerStep}  traces of the step: ${result.traceCount}  first-call compile: ${compileMs.toFixed(0)} ms  total: ${result.totalSeconds.toFixed(1)} s`,
  );
  return result;
}

/** Mean negative log-likelihood per name token of a whole set, in fixed-shape batches. */
function meanNll(
  nll: (p: NamesModelParams, inputs: Tensor, targets: Tensor, mask: Tensor) => Tensor[],
  params: NamesModelParams,
  set: SequenceSet,
): number {
  let total = 0;
  let tokens = 0;
  for (const batch of sequenceBatches(set, EVAL_BATCH, { remainder: 'pad' })) {
    const [t, k] = nll(params, batch.inputs, batch.targets, batch.mask);
    total += t.item() as number;
    tokens += k.item() as number;
    batch.inputs.dispose();
    batch.targets.dispose();
    batch.mask.dispose();
  }
  return total / tokens;
}

/**
 * `count` names drawn character by character from the model's softmax (all
 * names in one batch), with uniforms from the seeded counter-based generator.
 * A name ends when the boundary token is drawn or when it has `context - 1`
 * characters, the most a training name has.
 */
export function sampleNames(
  params: NamesModelParams,
  heads: number,
  tokenizer: CharTokenizer,
  count: number,
  seed: number,
): string[] {
  const [context] = params.position.w.shape;
  const probabilities = jit((p: NamesModelParams, ids: Tensor) => namesLogits(p, ids, heads).softmax(-1));
  const V = tokenizer.vocabSize;
  const ids = new Int32Array(count * context).fill(BOUNDARY);
  const open = new Array<boolean>(count).fill(true);
  const drawn: number[][] = Array.from({ length: count }, () => []);
  for (let t = 0; t + 1 < context && open.some(Boolean); t++) {
    const input = fromValues(ids, [count, context], 'i32');
    const probs = probabilities(params, input).dataSync();
    input.dispose();
    for (let row = 0; row < count; row++) {
      if (!open[row]) continue;
      const next = drawFrom(probs, (row * context + t) * V, V, uniform(seed ^ SAMPLING_STREAM, row * context + t));
      if (next === BOUNDARY) open[row] = false;
      else {
        drawn[row].push(next);
        ids[row * context + t + 1] = next;
      }
    }
  }
  return drawn.map((row) => tokenizer.decode(row));
}

/** The id whose cumulative probability first exceeds `u` in the row of `V` probabilities at `at`. */
function drawFrom(probs: ArrayLike<number>, at: number, V: number, u: number): number {
  let rest = u;
  for (let id = 0; id < V; id++) {
    rest -= probs[at + id];
    if (rest < 0) return id;
  }
  return V - 1; // rounding left u above the row's float32 sum
}
