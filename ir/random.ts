/**
 * The counter-based generator behind the `random` primitive: a float32
 * uniform in [0, 1) from (seed, counter), by two rounds of a 32-bit integer
 * mixing hash. Every backend computes exactly these numbers (gpujs on the
 * host), so results agree across backends under a fixed seed.
 */
function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) | 0;
}

export function uniform(seed: number, counter: number): number {
  const k = mix32(seed ^ 0x5bd1e995);
  const h = mix32((mix32(counter ^ k) + k) | 0);
  return (h >>> 8) / 16777216;
}
