/** The `lazygrad` command line: the MNIST demo, IR dumps, fused-vs-unfused comparison. */
import { Command, InvalidArgumentError } from 'commander';
import { runDemo } from './demo';
import { LazygradError } from '../ir';

const program = new Command();
program.name('lazygrad').description('A lazy tensor compiler for TypeScript');

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

program
  .command('demo', { isDefault: true })
  .description('train on the real MNIST digits with a jit-compiled training step')
  .option('--model <model>', 'mlp or cnn', 'mlp')
  .option('--backend <backend>', 'js or gpujs', 'js')
  .option('--no-fusion', 'run every primitive as its own kernel')
  .option('--epochs <n>', 'training epochs', positiveInt)
  .option('--batch-size <n>', 'batch size', positiveInt)
  .option('--seed <n>', 'random seed', Number)
  .action((o) => {
    if (o.model !== 'mlp' && o.model !== 'cnn') throw new InvalidArgumentError(`--model must be mlp or cnn, got ${o.model}`);
    runDemo({ model: o.model, backend: o.backend, fusion: o.fusion, epochs: o.epochs, batchSize: o.batchSize, seed: o.seed });
  });

program.parseAsync(process.argv).catch((e: unknown) => {
  if (e instanceof LazygradError || e instanceof InvalidArgumentError) {
    console.error(`lazygrad: ${e.message}`);
    process.exit(2);
  }
  throw e;
});
