/**
 * The plain-JS side of the BENCH.md workloads: hand-written loops over
 * Float32Arrays (the baselines of bench/run.ts and the references the peers
 * are checked against) and the workloads' constants. No lazygrad import, so
 * the peer processes (bench/peers/) can use it without loading lazygrad.
 */

type F32 = Float32Array;

// ---------------------------------------------------------------- W1 matmul

/** Naive i-k-j matmul of row-major n×n matrices: c = a·b. */
export function matmulNaive(a: F32, b: F32, c: F32, n: number): void {
  c.fill(0);
  for (let i = 0; i < n; i++) {
    const ci = i * n;
    for (let k = 0; k < n; k++) {
      const aik = a[ci + k];
      const bk = k * n;
      for (let j = 0; j < n; j++) c[ci + j] += aik * b[bk + j];
    }
  }
}

/** i-k-j matmul over 4 rows of a at once: each row of b is loaded once per 4 rows of c. n % 4 == 0. */
export function matmulTiled4(a: F32, b: F32, c: F32, n: number): void {
  c.fill(0);
  for (let i = 0; i < n; i += 4) {
    const r0 = i * n,
      r1 = r0 + n,
      r2 = r1 + n,
      r3 = r2 + n;
    for (let k = 0; k < n; k++) {
      const a0 = a[r0 + k],
        a1 = a[r1 + k],
        a2 = a[r2 + k],
        a3 = a[r3 + k];
      const bk = k * n;
      for (let j = 0; j < n; j++) {
        const bv = b[bk + j];
        c[r0 + j] += a0 * bv;
        c[r1 + j] += a1 * bv;
        c[r2 + j] += a2 * bv;
        c[r3 + j] += a3 * bv;
      }
    }
  }
}

// ------------------------------------------- W2 / W2b elementwise chains

export function w2HandFused(x: F32, y: F32): void {
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    y[i] = Math.tanh(v * 1.5 + 0.5) * (1 / (1 + Math.exp(-v))) + v * v;
  }
}

/** Preallocated temporaries for the unfused hand versions (one buffer per intermediate). */
export function tempBuffers(n: number, count: number): F32[] {
  return Array.from({ length: count }, () => new Float32Array(n));
}

/** W2 as 7 loops, one per primitive, through float32 buffers (as an unfused kernel plan would). */
export function w2HandUnfused(x: F32, y: F32, t: F32[]): void {
  const n = x.length;
  const [t1, t2, t3, t4, t5, t6] = t;
  for (let i = 0; i < n; i++) t1[i] = x[i] * 1.5;
  for (let i = 0; i < n; i++) t2[i] = t1[i] + 0.5;
  for (let i = 0; i < n; i++) t3[i] = Math.tanh(t2[i]);
  for (let i = 0; i < n; i++) t4[i] = 1 / (1 + Math.exp(-x[i]));
  for (let i = 0; i < n; i++) t5[i] = t3[i] * t4[i];
  for (let i = 0; i < n; i++) t6[i] = x[i] * x[i];
  for (let i = 0; i < n; i++) y[i] = t5[i] + t6[i];
}

export function w2bHandFused(x: F32, y: F32): void {
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    y[i] = ((v * 1.5 + 0.5) * v - 0.25) * 0.5 + v;
  }
}

/** W2b as 6 loops, one per primitive. */
export function w2bHandUnfused(x: F32, y: F32, t: F32[]): void {
  const n = x.length;
  const [t1, t2, t3, t4, t5] = t;
  for (let i = 0; i < n; i++) t1[i] = x[i] * 1.5;
  for (let i = 0; i < n; i++) t2[i] = t1[i] + 0.5;
  for (let i = 0; i < n; i++) t3[i] = t2[i] * x[i];
  for (let i = 0; i < n; i++) t4[i] = t3[i] - 0.25;
  for (let i = 0; i < n; i++) t5[i] = t4[i] * 0.5;
  for (let i = 0; i < n; i++) y[i] = t5[i] + x[i];
}

// ------------------------------------------------------ W3 row softmax

/** Row softmax of a rows×cols matrix, one row at a time: max, exp and sum, divide. */
export function softmaxRows(x: F32, y: F32, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let m = -Infinity;
    for (let j = 0; j < cols; j++) if (x[o + j] > m) m = x[o + j];
    let s = 0;
    for (let j = 0; j < cols; j++) {
      const e = Math.exp(x[o + j] - m);
      y[o + j] = e;
      s += e;
    }
    for (let j = 0; j < cols; j++) y[o + j] /= s;
  }
}

// ------------------------------------------------ W4 MLP training step

export const MLP_SIZES = [784, 512, 10];
export const W4_BATCH = 128;
export const W4_LR = 0.01;

/** Plain-JS parameters of a 2-layer MLP, w as [in, out] row-major (lazygrad's layout). */
export interface HandMlp {
  w1: F32;
  b1: F32;
  w2: F32;
  b2: F32;
}

/** Buffers of the hand-written step, allocated once. */
export interface HandScratch {
  h: F32;
  logits: F32;
  dl: F32;
  dh: F32;
  dw1: F32;
  db1: F32;
  dw2: F32;
  db2: F32;
}

export function handScratch(batch: number, inD: number, hid: number, out: number): HandScratch {
  const f = (n: number) => new Float32Array(n);
  return {
    h: f(batch * hid),
    logits: f(batch * out),
    dl: f(batch * out),
    dh: f(batch * hid),
    dw1: f(inD * hid),
    db1: f(hid),
    dw2: f(hid * out),
    db2: f(out),
  };
}

/** y = a·w + b for a batch of rows, in i-k-j loops. */
function linear(a: F32, w: F32, b: F32, y: F32, batch: number, inD: number, outD: number): void {
  for (let i = 0; i < batch; i++) {
    const ai = i * inD,
      yi = i * outD;
    for (let j = 0; j < outD; j++) y[yi + j] = b[j];
    for (let k = 0; k < inD; k++) {
      const av = a[ai + k],
        wk = k * outD;
      for (let j = 0; j < outD; j++) y[yi + j] += av * w[wk + j];
    }
  }
}

/** Gradients of a linear layer y = a·w + b from dy, in i-k-j loops: dw = aᵀ·dy, db = Σ dy (rows). */
function linearGrads(a: F32, dy: F32, dw: F32, db: F32, batch: number, inD: number, outD: number): void {
  dw.fill(0);
  db.fill(0);
  for (let i = 0; i < batch; i++) {
    const ai = i * inD,
      yi = i * outD;
    for (let k = 0; k < inD; k++) {
      const av = a[ai + k],
        wk = k * outD;
      for (let j = 0; j < outD; j++) dw[wk + j] += av * dy[yi + j];
    }
    for (let j = 0; j < outD; j++) db[j] += dy[yi + j];
  }
}

/**
 * One SGD step of MLP inD-hid-out (relu, softmax cross-entropy, mean over the
 * batch) in naive i-k-j loops: forward, backward, update in place. Returns the loss.
 */
export function handStep(
  p: HandMlp,
  s: HandScratch,
  x: F32,
  y: Int32Array,
  batch: number,
  inD: number,
  hid: number,
  out: number,
  lr: number,
): number {
  const { h, logits, dl, dh, dw1, db1, dw2, db2 } = s;
  const { w1, b1, w2, b2 } = p; // locals: keeps property loads out of the inner loops
  // h = relu(x·w1 + b1), logits = h·w2 + b2
  linear(x, w1, b1, h, batch, inD, hid);
  for (let i = 0; i < h.length; i++) if (h[i] < 0) h[i] = 0;
  linear(h, w2, b2, logits, batch, hid, out);
  // softmax cross-entropy; dl = (softmax - onehot) / batch
  let loss = 0;
  for (let i = 0; i < batch; i++) {
    const li = i * out;
    let m = -Infinity;
    for (let j = 0; j < out; j++) if (logits[li + j] > m) m = logits[li + j];
    let sum = 0;
    for (let j = 0; j < out; j++) sum += Math.exp(logits[li + j] - m);
    loss -= logits[li + y[i]] - m - Math.log(sum);
    for (let j = 0; j < out; j++) dl[li + j] = (Math.exp(logits[li + j] - m) / sum - (j === y[i] ? 1 : 0)) / batch;
  }
  loss /= batch;
  linearGrads(h, dl, dw2, db2, batch, hid, out);
  // dh = (dl·w2ᵀ) masked by relu; then dw1, db1
  for (let i = 0; i < batch; i++) {
    const li = i * out,
      hi = i * hid;
    for (let j = 0; j < hid; j++) {
      let acc = 0;
      const wj = j * out;
      for (let k = 0; k < out; k++) acc += dl[li + k] * w2[wj + k];
      dh[hi + j] = h[hi + j] > 0 ? acc : 0;
    }
  }
  linearGrads(x, dh, dw1, db1, batch, inD, hid);
  // SGD update
  for (let i = 0; i < dw1.length; i++) w1[i] -= lr * dw1[i];
  for (let i = 0; i < db1.length; i++) b1[i] -= lr * db1[i];
  for (let i = 0; i < dw2.length; i++) w2[i] -= lr * dw2[i];
  for (let i = 0; i < db2.length; i++) b2[i] -= lr * db2[i];
  return loss;
}
