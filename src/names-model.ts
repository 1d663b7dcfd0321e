/**
 * A small causal transformer over character ids (GPT-style, pre-LayerNorm):
 * token + position embedding, `blocks` blocks of multi-head causal
 * self-attention and a GELU MLP, each on a layer-normalised residual stream,
 * a final layer norm and a linear read-out to next-token logits. Built from
 * `nn` layers only, with pytree parameters, so `grad`, `jit` and `optim` take
 * it as it is. The loss is the mean cross-entropy over the positions a mask
 * keeps (padding does not count).
 */
import { LazygradError } from '../ir';
import * as nn from './nn';
import type { Tensor } from './tensor';

export interface NamesModelConfig {
  vocabSize: number;
  /** Longest sequence (positions with an embedding). */
  context: number;
  /** Width of the residual stream. */
  width: number;
  heads: number;
  blocks: number;
  /** Hidden width of each MLP as a multiple of `width` (default 4). */
  mlpRatio?: number;
}

export interface BlockParams {
  attentionNorm: nn.LayerNormParams;
  query: nn.LinearParams;
  key: nn.LinearParams;
  value: nn.LinearParams;
  attentionOut: nn.LinearParams;
  mlpNorm: nn.LayerNormParams;
  mlpIn: nn.LinearParams;
  mlpOut: nn.LinearParams;
}

export interface NamesModelParams {
  token: nn.EmbeddingParams;
  position: nn.EmbeddingParams;
  blocks: BlockParams[];
  finalNorm: nn.LayerNormParams;
  readout: nn.LinearParams;
}

export function checkConfig(cfg: NamesModelConfig): Required<NamesModelConfig> {
  const { vocabSize, context, width, heads, blocks, mlpRatio = 4 } = cfg;
  for (const [name, v] of Object.entries({ vocabSize, context, width, heads, blocks, mlpRatio }))
    if (!Number.isInteger(v) || v <= 0)
      throw new LazygradError(`names model: ${name} must be a positive integer, got ${String(v)}`);
  if (width % heads !== 0) throw new LazygradError(`names model: width ${width} must be a multiple of heads ${heads}`);
  return { vocabSize, context, width, heads, blocks, mlpRatio };
}

/** Fresh parameters from the seeded generator (call manualSeed first for reproducible weights). */
export function initNamesModel(config: NamesModelConfig): NamesModelParams {
  const { vocabSize, context, width, blocks, mlpRatio } = checkConfig(config);
  const block = (): BlockParams => ({
    attentionNorm: nn.init.layerNorm(width),
    query: nn.init.linear(width, width),
    key: nn.init.linear(width, width),
    value: nn.init.linear(width, width),
    attentionOut: nn.init.linear(width, width),
    mlpNorm: nn.init.layerNorm(width),
    mlpIn: nn.init.linear(width, width * mlpRatio),
    mlpOut: nn.init.linear(width * mlpRatio, width),
  });
  return {
    token: nn.init.embedding(vocabSize, width),
    position: nn.init.embedding(context, width),
    blocks: Array.from({ length: blocks }, block),
    finalNorm: nn.init.layerNorm(width),
    readout: nn.init.linear(width, vocabSize),
  };
}

/** [B, T, width] → [B, heads, T, width / heads] and back. */
const splitHeads = (x: Tensor, heads: number) => {
  const [B, T, width] = x.shape;
  return x.reshape([B, T, heads, width / heads]).transpose([0, 2, 1, 3]);
};
const mergeHeads = (x: Tensor) => {
  const [B, heads, T, headWidth] = x.shape;
  return x.transpose([0, 2, 1, 3]).reshape([B, T, heads * headWidth]);
};

function causalSelfAttention(p: BlockParams, x: Tensor, heads: number): Tensor {
  const q = splitHeads(nn.linear(p.query, x), heads);
  const k = splitHeads(nn.linear(p.key, x), heads);
  const v = splitHeads(nn.linear(p.value, x), heads);
  return nn.linear(p.attentionOut, mergeHeads(nn.attention(q, k, v, { causal: true })));
}

function mlp(p: BlockParams, x: Tensor): Tensor {
  return nn.linear(p.mlpOut, nn.linear(p.mlpIn, x).gelu());
}

/** Next-token logits [B, T, vocabSize] for int32 ids [B, T] (T at most the context). */
export function namesLogits(p: NamesModelParams, ids: Tensor, heads: number): Tensor {
  const [, T] = ids.shape;
  const [context, width] = p.position.w.shape;
  if (ids.ndim !== 2 || T > context)
    throw new LazygradError(`names model: expected ids [B, T] with T <= ${context}, got [${ids.shape.join(', ')}]`);
  const positions = T === context ? p.position.w : p.position.w.slice([0, 0], [T, width]);
  let x = nn.embedding(p.token, ids).add(positions);
  for (const block of p.blocks) {
    x = x.add(causalSelfAttention(block, nn.layerNorm(block.attentionNorm, x), heads));
    x = x.add(mlp(block, nn.layerNorm(block.mlpNorm, x)));
  }
  return nn.linear(p.readout, nn.layerNorm(p.finalNorm, x));
}

/**
 * The summed negative log-likelihood of the targets over the positions where
 * `mask` is 1, and the number of those positions (both 0-d float32), so
 * held-out batches add up to an exact per-token mean.
 */
export function maskedNll(logits: Tensor, targets: Tensor, mask: Tensor): { total: Tensor; tokens: Tensor } {
  const logProbs = logits.logSoftmax(-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1);
  return { total: logProbs.mul(mask).sum().neg(), tokens: mask.sum() };
}

/** Mean cross-entropy per kept position: the training loss. */
export function namesLoss(p: NamesModelParams, ids: Tensor, targets: Tensor, mask: Tensor, heads: number): Tensor {
  const { total, tokens } = maskedNll(namesLogits(p, ids, heads), targets, mask);
  return total.div(tokens.maximum(1));
}
