/**
 * The baseline the names transformer has to beat: a character bigram model
 * counted from the training names, with add-`smoothing` (Laplace) counts, and
 * its mean negative log-likelihood per predicted token (each character and the
 * end of each name), in plain float64 JavaScript.
 */
import { LazygradError } from '../ir';
import { BOUNDARY, type CharTokenizer } from './data/char-tokenizer';

export interface BigramModel {
  readonly vocabSize: number;
  /** log P(next | previous), row-major [previous, next]. */
  readonly logProb: Float64Array;
}

/** The (previous, next) id pairs of a name, from its start boundary to its end boundary. */
function transitions(name: string, tokenizer: CharTokenizer): [number, number][] {
  const ids = [BOUNDARY, ...tokenizer.encode(name), BOUNDARY];
  return ids.slice(1).map((next, i) => [ids[i], next]);
}

export function fitBigram(names: readonly string[], tokenizer: CharTokenizer, smoothing = 1): BigramModel {
  if (!(smoothing > 0)) throw new LazygradError(`fitBigram: smoothing must be > 0, got ${smoothing}`);
  const V = tokenizer.vocabSize;
  const counts = new Float64Array(V * V);
  for (const name of names) for (const [prev, next] of transitions(name, tokenizer)) counts[prev * V + next]++;
  const logProb = new Float64Array(V * V);
  for (let prev = 0; prev < V; prev++) {
    let rowTotal = 0;
    for (let next = 0; next < V; next++) rowTotal += counts[prev * V + next];
    const denominator = rowTotal + smoothing * V;
    for (let next = 0; next < V; next++)
      logProb[prev * V + next] = Math.log((counts[prev * V + next] + smoothing) / denominator);
  }
  return { vocabSize: V, logProb };
}

/** Mean negative log-likelihood (nats) per predicted token of `names` under the bigram model. */
export function bigramLoss(model: BigramModel, names: readonly string[], tokenizer: CharTokenizer): number {
  if (tokenizer.vocabSize !== model.vocabSize)
    throw new LazygradError(
      `bigramLoss: the tokenizer has ${tokenizer.vocabSize} ids but the model was fitted with ${model.vocabSize}`,
    );
  let total = 0;
  let tokens = 0;
  for (const name of names)
    for (const [prev, next] of transitions(name, tokenizer)) {
      total -= model.logProb[prev * model.vocabSize + next];
      tokens++;
    }
  if (tokens === 0) throw new LazygradError('bigramLoss: no names to score');
  return total / tokens;
}
