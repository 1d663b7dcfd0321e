/** The names demo's pieces: data split, tokenizer, sequences, bigram baseline, a tiny jitted training run, the CLI. */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { manualSeed, optim } from '../../src';
import { BOUNDARY, CharTokenizer } from '../../src/data/char-tokenizer';
import { contextFor, encodeNames, sequenceBatches } from '../../src/data/name-sequences';
import { loadFirstNames, splitNames } from '../../src/data/names';
import { bigramLoss, fitBigram } from '../../src/names-bigram';
import { makeTrainStep, sampleNames } from '../../src/names-demo';
import { initNamesModel, namesLoss } from '../../src/names-model';

describe('names data', () => {
  const names = loadFirstNames();

  it('loads the distinct lower-case names of both stdlib lists', () => {
    expect(names.length).toBe(8422); // 4,951 + 3,898 names, 427 of them in both lists
    expect(new Set(names).size).toBe(names.length);
    expect(names.every((n) => /^[a-z-]+$/.test(n))).toBe(true);
  });

  it('splits 90/10, deterministically per seed, disjoint and covering every name', () => {
    const a = splitNames(names, 0);
    expect(splitNames(names, 0)).toEqual(a);
    expect(a.heldOut.length).toBe(Math.round(names.length * 0.1));
    const train = new Set(a.train);
    expect(a.heldOut.some((n) => train.has(n))).toBe(false);
    expect([...a.train, ...a.heldOut].sort()).toEqual(names);
    expect(splitNames(names, 1).heldOut).not.toEqual(a.heldOut);
  });

  it('tokenizes every name and decodes it back', () => {
    const tokenizer = CharTokenizer.fromWords(names);
    expect(tokenizer.vocabSize).toBe(28);
    for (const n of names) expect(tokenizer.decode(tokenizer.encode(n))).toBe(n);
    expect(() => tokenizer.encode('zoë')).toThrow(/character "ë" in "zoë" is not in the alphabet/);
    expect(() => tokenizer.decode([99])).toThrow(/id 99 is out of range/);
  });
});

describe('name sequences', () => {
  const tokenizer = new CharTokenizer(['a', 'b']);

  it('shifts targets by one and masks the padding', () => {
    const set = encodeNames(['ab', 'b'], tokenizer, contextFor(['ab', 'b']));
    expect(set.context).toBe(3);
    expect([...set.inputs]).toEqual([BOUNDARY, 1, 2, BOUNDARY, 2, BOUNDARY]);
    expect([...set.targets]).toEqual([1, 2, BOUNDARY, 2, BOUNDARY, BOUNDARY]);
    expect([...set.mask]).toEqual([1, 1, 1, 1, 1, 0]);
    expect(() => encodeNames(['abab'], tokenizer, 3)).toThrow(/a context of 3 holds at most 2/);
  });

  it('pads a last partial batch with masked-out rows', () => {
    const set = encodeNames(['a', 'b', 'ab'], tokenizer, 3);
    const batches = [...sequenceBatches(set, 2, { remainder: 'pad' })];
    expect(batches.map((b) => b.mask.shape)).toEqual([
      [2, 3],
      [2, 3],
    ]);
    expect(batches[1].mask.toArray()).toEqual([
      [1, 1, 1],
      [0, 0, 0],
    ]);
    expect([...sequenceBatches(set, 2)].length).toBe(1);
  });
});

describe('bigram baseline', () => {
  it('matches add-one counts worked out by hand', () => {
    // ids: 0 boundary, 1 'a', 2 'b'. Training transitions: ab → (0,a) (a,b) (b,0); a → (0,a) (a,0).
    // Rows with add-one: from 0: a 3/5, b 1/5; from a: 0 2/5, b 2/5; from b: 0 2/4, a 1/4.
    const tokenizer = new CharTokenizer(['a', 'b']);
    const model = fitBigram(['ab', 'a'], tokenizer);
    // Held out: b → (0,b) 1/5, (b,0) 2/4; ba → (0,b) 1/5, (b,a) 1/4, (a,0) 2/5: five tokens.
    const expected = -(2 * Math.log(1 / 5) + Math.log(2 / 4) + Math.log(1 / 4) + Math.log(2 / 5)) / 5;
    expect(bigramLoss(model, ['b', 'ba'], tokenizer)).toBeCloseTo(expected, 12);
  });
});

describe('names transformer', () => {
  const words = ['ada', 'bob', 'cab', 'dad', 'abba', 'bea', 'ed', 'cade'];
  const tokenizer = CharTokenizer.fromWords(words);
  const context = contextFor(words);
  const config = { vocabSize: tokenizer.vocabSize, context, width: 16, heads: 2, blocks: 1 };

  it('ignores targets at masked (padding) positions', () => {
    manualSeed(1);
    const params = initNamesModel(config);
    const set = encodeNames(words, tokenizer, context);
    const [batch] = [...sequenceBatches(set, words.length)];
    const scrambled = encodeNames(words, tokenizer, context);
    scrambled.mask.forEach((m, i) => {
      if (m === 0) scrambled.targets[i] = 1 + (i % (tokenizer.vocabSize - 1));
    });
    const [other] = [...sequenceBatches(scrambled, words.length)];
    const loss = namesLoss(params, batch.inputs, batch.targets, batch.mask, config.heads).item() as number;
    expect(namesLoss(params, other.inputs, other.targets, other.mask, config.heads).item()).toBeCloseTo(loss, 5);
  });

  it('a jitted AdamW step with a warm-up schedule traces once and lowers the loss', () => {
    manualSeed(2);
    let params = initNamesModel(config);
    const opt = optim.chain(
      optim.clipByGlobalNorm(1),
      optim.adamw({ lr: optim.schedules.warmupCosine(1e-2, 1, 10), weightDecay: 0.1 }),
    );
    let state = opt.init(params);
    const step = makeTrainStep(opt, config.heads);
    const [batch] = [...sequenceBatches(encodeNames(words, tokenizer, context), words.length)];
    const losses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const [p, s, loss] = step(params, state, batch.inputs, batch.targets, batch.mask);
      [params, state] = [p, s];
      losses.push(loss.item() as number);
    }
    // Step 0 has learning rate 0 (warm-up): the first two losses are equal, then they fall.
    expect(losses[1]).toBeCloseTo(losses[0], 5);
    expect(losses[2]).toBeLessThan(losses[1]);
    expect(losses[3]).toBeLessThan(losses[2]);
    expect(step.traceCount).toBe(1);
    const samples = sampleNames(params, config.heads, tokenizer, 3, 0);
    expect(samples).toHaveLength(3);
    expect(samples.every((n) => [...n].every((c) => tokenizer.alphabet.includes(c)) && n.length < context)).toBe(true);
    expect(sampleNames(params, config.heads, tokenizer, 3, 0)).toEqual(samples);
  });
});

describe('lazygrad demo --model', () => {
  it('rejects an unknown model, naming the choices', () => {
    let failure: { status: number; stderr: string } | undefined;
    try {
      execFileSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'demo', '--model', 'gpt5'], {
        cwd: new URL('../../', import.meta.url),
        encoding: 'utf8',
        stdio: 'pipe',
      });
    } catch (e) {
      failure = e as { status: number; stderr: string };
    }
    expect(failure?.status).toBe(2);
    expect(failure?.stderr).toMatch(/--model must be mlp, cnn or names, got 'gpt5'/);
  });
});
