/** The `lazygrad` command line: the MNIST demo, IR dumps, fused-vs-unfused comparison. */
import { Command, InvalidArgumentError } from 'commander';
// Bundled into dist/cli.js by tsup and read directly by tsx, so both report the same version.
import { version } from '../package.json';
import { DEMO_DEFAULTS, runDemo } from './demo';
import { runNamesDemo } from './names-demo';
import { LazygradError } from '../ir';
import { PROGRAMS } from './programs';
import { jit, type Stage } from './jit';
import { backendNames, getBackend, setBackend } from './settings';
import { dotToSvg } from './svg';

const program = new Command();
program.name('lazygrad').description('A lazy tensor compiler for TypeScript').version(version);

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

function integer(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n)) throw new InvalidArgumentError('expected an integer');
  return n;
}

function positiveNumber(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number');
  return n;
}

program
  .command('demo', { isDefault: true })
  .description('train on the real MNIST digits, or first names with --model names, with a jit-compiled training step')
  .option('--model <model>', 'mlp, cnn (MNIST) or names (first names)', DEMO_DEFAULTS.model)
  .option('--backend <backend>', `one of: ${backendNames().join(', ')}`, getBackend())
  .option('--no-fusion', 'run every primitive as its own kernel (default: fused)')
  .option(
    '--epochs <n>',
    `training epochs (default: ${DEMO_DEFAULTS.epochs.mlp} for mlp, ${DEMO_DEFAULTS.epochs.cnn} for cnn)`,
    positiveInt,
  )
  .option('--batch-size <n>', 'batch size', positiveInt, DEMO_DEFAULTS.batchSize)
  .option('--lr <x>', 'Adam learning rate', positiveNumber, DEMO_DEFAULTS.lr)
  .option('--seed <n>', 'random seed for weights, split and batches', integer, DEMO_DEFAULTS.seed)
  .action((o, command: Command) => {
    if (o.model === 'names') {
      // --batch-size and --lr default to the MNIST values; the names demo keeps its own unless given.
      const given = (key: string) => command.getOptionValueSource(key) !== 'default';
      runNamesDemo({
        backend: o.backend,
        fusion: o.fusion,
        epochs: o.epochs,
        batchSize: given('batchSize') ? o.batchSize : undefined,
        lr: given('lr') ? o.lr : undefined,
        seed: o.seed,
      });
      return;
    }
    if (o.model !== 'mlp' && o.model !== 'cnn')
      throw new InvalidArgumentError(`--model must be mlp, cnn or names, got '${o.model}'`);
    runDemo({
      model: o.model,
      backend: o.backend,
      fusion: o.fusion,
      epochs: o.epochs,
      batchSize: o.batchSize,
      lr: o.lr,
      seed: o.seed,
    });
  });

const STAGES = ['traced', 'grad', 'optimized', 'fused', 'kernels'];

function lookupProgram(name: string) {
  const p = PROGRAMS[name];
  if (!p) throw new InvalidArgumentError(`unknown program '${name}' (built-in: ${Object.keys(PROGRAMS).join(', ')})`);
  return p;
}

program
  .command('ir')
  .description('print the IR of a built-in program at a stage, as text, DOT or SVG')
  .argument('[program]', `one of: ${Object.keys(PROGRAMS).join(', ')}`, 'mlp-loss')
  .option('--stage <stage>', STAGES.join(' | '), 'optimized')
  .option('--format <format>', 'text | dot | svg', 'text')
  .option('--backend <backend>', `one of: ${backendNames().join(', ')}`, getBackend())
  .option('--no-fusion', 'lower without fusion')
  .action(async (name: string, o) => {
    if (!STAGES.includes(o.stage)) throw new InvalidArgumentError(`--stage must be one of ${STAGES.join(', ')}`);
    if (!['text', 'dot', 'svg'].includes(o.format))
      throw new InvalidArgumentError(`--format must be text, dot or svg, got ${o.format}`);
    setBackend(o.backend);
    const p = lookupProgram(name);
    const low = jit(p.fn, { fusion: o.fusion }).lower(...p.args());
    if (o.format === 'text') console.log(low.ir(o.stage as Stage));
    else if (o.format === 'dot') console.log(low.dot(o.stage as Stage));
    else console.log(await dotToSvg(low.dot(o.stage as Stage)));
  });

program
  .command('compare')
  .description('run a built-in program fused and unfused: kernels, planned bytes, ms per call')
  .argument('[program]', `one of: ${Object.keys(PROGRAMS).join(', ')}`, 'w2')
  .option('--backend <backend>', `one of: ${backendNames().join(', ')}`, getBackend())
  .option('--runs <n>', 'timed runs', positiveInt, 10)
  .action((name: string, o) => {
    setBackend(o.backend);
    const p = lookupProgram(name);
    const args = p.args();
    console.log(`${name}: ${p.description} (backend ${o.backend})`);
    for (const fusion of [true, false]) {
      const f = jit(p.fn, { fusion });
      const stats = f.lower(...args).stats();
      const read = (r: unknown) =>
        JSON.stringify(r, (_k, v) =>
          v && typeof v === 'object' && 'dataSync' in v ? (v as { dataSync(): unknown }).dataSync() && 0 : v,
        );
      read(f(...(args as never[])));
      const times: number[] = [];
      for (let i = 0; i < o.runs; i++) {
        const t0 = performance.now();
        read(f(...(args as never[])));
        times.push(performance.now() - t0);
      }
      times.sort((a, b) => a - b);
      const ms = times[Math.floor(times.length / 2)];
      console.log(
        `  ${fusion ? 'fused  ' : 'unfused'}  kernels ${String(stats.kernels).padStart(3)}  planned bytes ${String(stats.bytes).padStart(10)}  median ${ms.toFixed(2)} ms`,
      );
    }
  });

program.parseAsync(process.argv).catch((e: unknown) => {
  if (e instanceof LazygradError || e instanceof InvalidArgumentError) {
    console.error(`lazygrad: ${e.message}`);
    process.exit(2);
  }
  throw e;
});
