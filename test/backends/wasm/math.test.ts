/**
 * The wasm backend's vectorised math (backends/wasm/math.ts) against float64
 * `Math` rounded to float32: a stride through all float32 bit patterns, dense
 * samples of each function's interesting range, edge values, and a grid of
 * pow pairs. Errors are in float32 ulps of the rounded reference (subnormal
 * results: units of 2^-149); NaN, ±Infinity and signed zeros must match.
 */
import { describe, expect, it } from 'vitest';
import { FunctionBuilder, ModuleBuilder } from '../../../backends/wasm/encoder';
import { MATH_FNS, MathLibrary, mathArity, type MathFn } from '../../../backends/wasm/math';

interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, (...args: number[]) => number> };
  Memory: new (descriptor: { initial: number }) => { buffer: ArrayBuffer };
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

const MAX_ULP = 3;
const CHUNK = 1 << 20; // elements per driver call
const PAGES = Math.ceil((3 * CHUNK * 4) / 65536) + 1;
const SIN_COS_ACCURATE = 1e4;

const sigmoidRef = (x: number) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));
const REF: Record<MathFn, (x: number, y: number) => number> = {
  exp: Math.exp,
  log: Math.log,
  sin: Math.sin,
  cos: Math.cos,
  tanh: Math.tanh,
  sigmoid: sigmoidRef,
  log1p: Math.log1p,
  expm1: Math.expm1,
  pow: Math.pow,
};

// ---------------------------------------------------------------------------
// The module: every vector function with a driver over memory, and every scalar one.

function buildModule(): { bytes: Uint8Array; vectorIndex: Map<MathFn, number> } {
  const mod = new ModuleBuilder({ initial: PAGES });
  // A kernel before the library: its functions' indices are not 0, 1, ….
  const kernel = new FunctionBuilder('kernel', ['i32'], ['i32']);
  kernel.op('local.get', 0);
  mod.addFunction(kernel);
  const lib = new MathLibrary(mod);
  const vectorIndex = new Map<MathFn, number>();
  for (const fn of MATH_FNS) {
    const vec = lib.vector(fn);
    vectorIndex.set(fn, vec);
    // drive_fn(in, in2, out, bytes): out[i] = fn(in[i], in2[i]), 16 bytes at a time.
    const d = new FunctionBuilder(`drive_${fn}`, ['i32', 'i32', 'i32', 'i32'], []);
    const i = d.local('i32');
    d.op('block', 'void').op('loop', 'void');
    d.op('local.get', i).op('local.get', 3).op('i32.ge_s').op('br_if', 1);
    d.op('local.get', 2).op('local.get', i).op('i32.add');
    d.op('local.get', 0).op('local.get', i).op('i32.add').op('v128.load', {});
    if (mathArity(fn) === 2) d.op('local.get', 1).op('local.get', i).op('i32.add').op('v128.load', {});
    d.op('call', vec).op('v128.store', {});
    d.op('local.get', i).op('i32.const', 16).op('i32.add').op('local.set', i).op('br', 0);
    d.op('end').op('end');
    mod.addFunction(d, `v_${fn}`);
    // The scalar function, exported through a wrapper (the library adds it unexported).
    const sc = lib.scalar(fn);
    const params = mathArity(fn) === 2 ? (['f32', 'f32'] as const) : (['f32'] as const);
    const w = new FunctionBuilder(`scalar_${fn}`, params, ['f32']);
    params.forEach((_, p) => w.op('local.get', p));
    w.op('call', sc);
    mod.addFunction(w, `s_${fn}`);
  }
  return { bytes: mod.encode(), vectorIndex };
}

const built = buildModule();
const memory = new WA.Memory({ initial: PAGES });
const instance = new WA.Instance(new WA.Module(built.bytes), { env: { memory } });
const heap = new Float32Array(memory.buffer);

/** fn over xs (and ys) through the vector driver. */
function runVector(fn: MathFn, xs: Float32Array, ys?: Float32Array): Float32Array {
  const out = new Float32Array(xs.length);
  const drive = instance.exports[`v_${fn}`];
  for (let start = 0; start < xs.length; start += CHUNK) {
    const n = Math.min(CHUNK, xs.length - start);
    heap.set(xs.subarray(start, start + n), 0);
    if (ys) heap.set(ys.subarray(start, start + n), CHUNK);
    drive(0, CHUNK * 4, 2 * CHUNK * 4, Math.ceil(n / 4) * 16);
    out.set(heap.subarray(2 * CHUNK, 2 * CHUNK + n), start);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Errors

const bitsBuf = new Float32Array(1);
const bitsView = new Uint32Array(bitsBuf.buffer);
function bitsOf(x: number): number {
  bitsBuf[0] = x;
  return bitsView[0];
}
function fromBits(b: number): number {
  bitsView[0] = b >>> 0;
  return bitsBuf[0];
}

/** The ulp of float32 `v` (finite): 2^(e-23), 2^-149 for subnormals. */
function ulp32(v: number): number {
  const e = (bitsOf(v) >>> 23) & 0xff;
  return 2 ** (Math.max(e, 1) - 150);
}
const MAX_F32 = fromBits(0x7f7fffff);

/** Error of `got` against float64 reference `ref64`, in ulps; Infinity for a wrong special value. */
function ulpError(got: number, ref64: number): number {
  if (Number.isNaN(ref64)) return Number.isNaN(got) ? 0 : Infinity;
  if (ref64 === 0) return Object.is(got, ref64) ? 0 : Infinity;
  if (Number.isNaN(got)) return Infinity;
  const ref = Math.fround(ref64);
  if (got === ref) return 0;
  if (!Number.isFinite(ref)) {
    // A finite reference that rounds past the largest float: its ulp there is the max float's.
    return Number.isFinite(ref64) ? Math.abs(got - ref64) / ulp32(MAX_F32) : Infinity;
  }
  return Math.abs(got - ref) / ulp32(ref);
}

interface Worst {
  err: number;
  x: number;
  y: number;
  got: number;
  ref: number;
  count: number;
}
const worst = new Map<MathFn, Worst>();
/** sin/cos beyond the accurate range: the max error for |x| up to each bound (reported, not asserted). */
const TRIG_BANDS = [1e5, 1e6, 1e7, 1e9];
const trigFar = new Map<MathFn, number[]>([
  ['sin', TRIG_BANDS.map(() => 0)],
  ['cos', TRIG_BANDS.map(() => 0)],
]);

function check(fn: MathFn, xs: Float32Array, ys?: Float32Array): void {
  const got = runVector(fn, xs, ys);
  const ref = REF[fn];
  const w = worst.get(fn) ?? { err: 0, x: 0, y: 0, got: 0, ref: 0, count: 0 };
  const trig = fn === 'sin' || fn === 'cos';
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i];
    const y = ys ? ys[i] : 0;
    const g = got[i];
    if (trig && Math.abs(x) > SIN_COS_ACCURATE) {
      // Beyond the accurate range: in [-1, 1] (NaN only for ±Infinity); the error is only reported.
      const ok = Number.isFinite(x) ? g >= -1 && g <= 1 : Number.isNaN(g);
      if (!ok) Object.assign(w, { err: Infinity, x, y, got: g, ref: ref(x, y) });
      const band = TRIG_BANDS.findIndex((b) => Math.abs(x) <= b);
      if (ok && band >= 0) {
        const farErr = trigFar.get(fn)!;
        farErr[band] = Math.max(farErr[band], ulpError(g, ref(x, y)));
      }
      continue;
    }
    const r = ref(x, y);
    const e = ulpError(g, r);
    if (e > w.err || Number.isNaN(e)) Object.assign(w, { err: e, x, y, got: g, ref: r });
  }
  w.count += xs.length;
  worst.set(fn, w);
}

// ---------------------------------------------------------------------------
// Inputs

let seed = 12345;
/** A deterministic uniform [0, 1). */
function random(): number {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  const hi = seed >>> 5;
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return (hi * 134217728 + (seed >>> 6)) / 9007199254740992;
}
const uniform = (n: number, lo: number, hi: number) =>
  Float32Array.from({ length: n }, () => lo + (hi - lo) * random());

/** Every float32 whose bit pattern is a multiple of an odd stride (~2.1M values, all exponents, both signs). */
function sweep(): Float32Array {
  const stride = 2053;
  const out = new Float32Array(Math.floor(2 ** 32 / stride) + 1);
  for (let i = 0; i < out.length; i++) out[i] = fromBits(i * stride);
  return out;
}

const MIN_SUB = fromBits(1);
const MAX_SUB = fromBits(0x007fffff);
const MIN_NORMAL = 2 ** -126;
const near = (v: number, k = 3) => {
  const b = bitsOf(Math.fround(v));
  return Array.from({ length: 2 * k + 1 }, (_, i) => fromBits(b + i - k));
};
const COMMON_EDGES = [
  0,
  -0,
  Infinity,
  -Infinity,
  NaN,
  MIN_SUB,
  -MIN_SUB,
  MAX_SUB,
  -MAX_SUB,
  MIN_NORMAL,
  -MIN_NORMAL,
  MAX_F32,
  -MAX_F32,
  1,
  -1,
  0.5,
  -0.5,
  2,
  -2,
  ...near(1),
  ...near(-1),
  ...near(2 ** -24),
  ...near(-(2 ** -24)),
  ...near(2 ** -12),
  ...near(-(2 ** -12)),
];
const EDGES: Record<MathFn, number[]> = {
  exp: [...near(Math.log(MAX_F32), 8), ...near(-103.972, 8), ...near(-87.33655, 8), ...near(-149 * Math.LN2, 8)],
  expm1: [...near(Math.log(MAX_F32), 8), ...near(Math.LN2), ...near(-Math.LN2), ...near(-17.33, 8), -40, -100],
  sigmoid: [...near(103.972, 8), ...near(-103.972, 8), ...near(-87.33655, 8), ...near(16.635532, 8), ...near(88.7)],
  tanh: [...near(0.5625), ...near(-0.5625), ...near(9.0109, 8), ...near(-9.0109, 8), 9.5, 44, 45, 89, 90],
  log: [...near(Math.SQRT1_2), ...near(Math.SQRT2), ...near(MIN_NORMAL), ...near(MAX_SUB), ...near(Math.E)],
  log1p: [...near(-1, 8), ...near(MIN_NORMAL), ...near(Math.SQRT2 - 1), ...near(Math.SQRT1_2 - 1), ...near(2 ** 24)],
  sin: [],
  cos: [],
  pow: [],
};
// Multiples of π/2 up to 1e4, and the floats around them.
for (let k = 1; k * (Math.PI / 2) <= SIN_COS_ACCURATE; k++) {
  const v = near(k * (Math.PI / 2), 2);
  EDGES.sin.push(...v, ...v.map((t) => -t));
}
EDGES.cos = EDGES.sin;

/** Dense samples where each function does something (beyond the sweep's coarse ones). */
function dense(fn: MathFn): Float32Array {
  const n = 400_000;
  switch (fn) {
    case 'exp':
      return uniform(n, -110, 90);
    case 'expm1':
      return Float32Array.from([...uniform(n / 2, -20, 90), ...uniform(n / 2, -1, 1)]);
    case 'sigmoid':
      return uniform(n, -110, 20);
    case 'tanh':
      return Float32Array.from([...uniform(n / 2, -10, 10), ...uniform(n / 2, -1, 1)]);
    case 'log':
      return Float32Array.from([...uniform(n / 2, 0, 4), ...uniform(n / 2, 0.5, 2)]);
    case 'log1p':
      return Float32Array.from([...uniform(n / 2, -1, 1), ...uniform(n / 2, -0.01, 0.01), ...uniform(n / 4, -1, 100)]);
    case 'sin':
    case 'cos':
      return Float32Array.from([
        ...uniform(n, -SIN_COS_ACCURATE, SIN_COS_ACCURATE),
        ...uniform(n / 2, -4, 4),
        ...TRIG_BANDS.flatMap((b) => [...uniform(n / 8, -b, b)]),
      ]);
    case 'pow':
      return new Float32Array(0);
  }
}

/** pow pairs: a cross grid of special and ordinary values, and random pairs with finite results. */
function powPairs(): [Float32Array, Float32Array] {
  const special = [0, -0, Infinity, -Infinity, NaN, 1, -1, MIN_SUB, -MIN_SUB, MAX_F32, -MAX_F32, MIN_NORMAL];
  const xs = [
    ...special,
    ...[0.5, 2, 3, 10, 0.1, Math.E, 1e-10, 1e10, 1.5, 7].flatMap((v) => [v, -v]),
    ...near(1, 4),
    ...near(-1, 4),
  ];
  for (let e = -40; e <= 40; e += 0.37) xs.push(2 ** e, -(2 ** e));
  const ys = [
    ...special,
    ...[0.5, 1.5, 2.5, 1 / 3, 2 ** 24, 2 ** 24 - 1, 2 ** 24 + 2, 2 ** 31, 1e10, 1e30, 1e-45, 1e-30, 0.1, 127.5].flatMap(
      (v) => [v, -v],
    ),
  ];
  for (let k = -64; k <= 64; k++) ys.push(k);
  for (let i = 0; i < 60; i++) ys.push(-40 + 80 * random());
  const gx: number[] = [];
  const gy: number[] = [];
  for (const x of xs) {
    for (const y of ys) {
      gx.push(x);
      gy.push(y);
    }
  }
  // Random: x = ±2^u·(1..2), y uniform, 20% integer y; and x near 1 with large y.
  for (let i = 0; i < 500_000; i++) {
    const x = (random() < 0.3 ? -1 : 1) * 2 ** (-30 + 60 * random()) * (1 + random());
    let y = -25 + 50 * random();
    if (random() < 0.2) y = Math.round(y * 4);
    gx.push(x);
    gy.push(y);
  }
  for (let i = 0; i < 300_000; i++) {
    gx.push(fromBits(bitsOf(1) + Math.floor(-3000 + 6000 * random())));
    gy.push((random() < 0.5 ? -1 : 1) * 10 ** (7 * random()));
  }
  return [Float32Array.from(gx), Float32Array.from(gy)];
}

// ---------------------------------------------------------------------------

describe('wasm math library', () => {
  it('emits a valid module; each function once, indices from addFunction', () => {
    expect(WA.validate(built.bytes)).toBe(true);
    const mod = new ModuleBuilder();
    const lib = new MathLibrary(mod);
    const a = lib.vector('tanh');
    expect(lib.vector('tanh')).toBe(a);
    const kernel = new FunctionBuilder('k', [], []);
    const k = mod.addFunction(kernel);
    expect(k).toBe(a + 1);
    const s = lib.scalar('exp'); // adds exp's vector function, then the scalar one
    expect(s).toBe(k + 2);
    expect(lib.scalar('exp')).toBe(s);
    expect(lib.vector('exp')).toBe(k + 1);
    expect(WA.validate(mod.encode())).toBe(true);
    expect(mod.toText()).toContain('math_tanh_f32x4');
  });

  it('scalar functions agree with the vector ones', () => {
    const xs = Float32Array.from([0.3, -2.5, 10, -0, 1e-40, 88, -1, 3]);
    const ys = Float32Array.from([2, 3, -1.5, 0, 0.5, 0.25, 3, -2]);
    for (const fn of MATH_FNS) {
      const vec = runVector(fn, xs, ys);
      const scalar = instance.exports[`s_${fn}`];
      xs.forEach((x, i) => expect(Object.is(scalar(x, ys[i]), vec[i])).toBe(true));
    }
  });

  it(`is within ${MAX_ULP} ulp of Math, with Math's special values`, () => {
    const all = sweep();
    for (const fn of MATH_FNS) {
      if (fn === 'pow') continue;
      check(fn, all);
      check(fn, dense(fn));
      check(fn, Float32Array.from([...COMMON_EDGES, ...EDGES[fn]]));
    }
    // pow: the sweep's x against a few y, then the pairs.
    for (const y of [2, -1, 0.5, 3, -2.5]) check('pow', all, new Float32Array(all.length).fill(y));
    check('pow', ...powPairs());

    const lines = MATH_FNS.map((fn) => {
      const w = worst.get(fn)!;
      const at = fn === 'pow' ? `x=${w.x}, y=${w.y}` : `x=${w.x}`;
      return `  ${fn.padEnd(8)} max ${w.err.toFixed(3)} ulp over ${w.count} values (worst at ${at}: got ${w.got}, Math ${w.ref})`;
    });
    const far = [...trigFar].map(
      ([fn, errs]) =>
        `  ${fn} beyond ${SIN_COS_ACCURATE}: ${errs.map((e, i) => `|x| <= ${TRIG_BANDS[i]}: ${e.toFixed(1)} ulp`).join(', ')}`,
    );
    console.log(['wasm math: max error vs float64 Math rounded to float32', ...lines, ...far].join('\n'));
    for (const fn of MATH_FNS) expect(worst.get(fn)!.err, fn).toBeLessThanOrEqual(MAX_ULP);
  });
});
