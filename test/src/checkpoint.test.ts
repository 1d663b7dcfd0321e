/**
 * Checkpoints in the safetensors format. The expected files are built here
 * by hand from the format's definition (8-byte little-endian header length,
 * JSON header padded with spaces to 8 bytes, tensors ordered F32 < I32 <
 * BOOL and then by name, raw little-endian data), independently of the
 * writer; toSafetensors must produce them byte for byte and fromSafetensors
 * must read them. Malformed files must give LazygradErrors, never crashes.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as lg from '../../src/index';

type T = lg.Tensor;

// ---- building files by hand ----

const ascii = (s: string) => Array.from(s, (c) => c.charCodeAt(0));
function u64le(n: number): number[] {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setUint32(0, n, true);
  return [...out];
}
function f32le(values: number[]): number[] {
  const out = new Uint8Array(values.length * 4);
  values.forEach((v, i) => new DataView(out.buffer).setFloat32(i * 4, v, true));
  return [...out];
}
function i32le(values: number[]): number[] {
  const out = new Uint8Array(values.length * 4);
  values.forEach((v, i) => new DataView(out.buffer).setInt32(i * 4, v, true));
  return [...out];
}
/** A whole file from its header text (padded here with spaces to a multiple of 8) and data bytes. */
function file(header: string, data: number[], pad = true): Uint8Array {
  const h = pad ? header + ' '.repeat((8 - (header.length % 8)) % 8) : header;
  return new Uint8Array([...u64le(h.length), ...ascii(h), ...data]);
}

const bitsOf = (t: T) => [...new Uint32Array(new Float32Array(t.dataSync()).buffer)];
const fromBits = (bits: number[]) => new Float32Array(new Uint32Array(bits).buffer);

function expectError(run: () => unknown, pattern: RegExp) {
  let err: unknown;
  try {
    run();
  } catch (e) {
    err = e;
  }
  expect(err, 'expected a LazygradError').toBeInstanceOf(lg.LazygradError);
  expect((err as Error).message).toMatch(pattern);
}

// A tree with all three dtypes: names sort to layers.0.b, layers.0.w, layers.1.w (F32), count (I32), mask (BOOL).
const W0 = [1, -2.5, 3, 0.25];
const B0 = [0.5, -0.125];
const W1 = [7, 8, 9];
const makeTree = () => ({
  layers: [{ w: lg.tensor([W0.slice(0, 2), W0.slice(2)]), b: lg.tensor(B0) }, { w: lg.tensor([W1]) }],
  count: lg.tensor(new Int32Array([-7])).reshape([]),
  mask: lg.tensor([true, false, true]),
});
/** What the files below load as. */
type Loaded = { layers: { w: T; b: T }[]; count: T; mask: T };
const HEADER =
  '{"layers.0.b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},' +
  '"layers.0.w":{"dtype":"F32","shape":[2,2],"data_offsets":[8,24]},' +
  '"layers.1.w":{"dtype":"F32","shape":[1,3],"data_offsets":[24,36]},' +
  '"count":{"dtype":"I32","shape":[],"data_offsets":[36,40]},' +
  '"mask":{"dtype":"BOOL","shape":[3],"data_offsets":[40,43]}}';
const handBuilt = () => file(HEADER, [...f32le(B0), ...f32le(W0), ...f32le(W1), ...i32le([-7]), 1, 0, 1]);

describe('the format, byte for byte', () => {
  it('a hand-built file with F32, I32 and BOOL tensors loads as the nested tree', () => {
    const bytes = handBuilt();
    expect((bytes.length - 8 - 43) % 8).toBe(0); // the header was padded to 8 bytes
    const tree = lg.fromSafetensors(bytes) as Loaded;
    expect(Object.keys(tree).sort()).toEqual(['count', 'layers', 'mask']);
    expect(Array.isArray(tree.layers)).toBe(true);
    expect(tree.layers[0].w.toArray()).toEqual([
      [1, -2.5],
      [3, 0.25],
    ]);
    expect(tree.layers[0].b.toArray()).toEqual(B0);
    expect(tree.layers[1].w.toArray()).toEqual([W1]);
    expect(tree.count.dtype).toBe('int32');
    expect(tree.count.shape).toEqual([]);
    expect(tree.count.item()).toBe(-7);
    expect(tree.mask.dtype).toBe('bool');
    expect(tree.mask.toArray()).toEqual([true, false, true]);
  });

  it('toSafetensors of the same tree is the hand-built file, byte for byte', () => {
    expect([...lg.toSafetensors(makeTree())]).toEqual([...handBuilt()]);
  });

  it('a header whose length is already a multiple of 8 gets no padding (the reference test vector attn.0)', () => {
    const header = '{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}';
    expect(header.length).toBe(64);
    const want = file(header, f32le([0, 1, 2, 3, 4, 5]));
    const t = lg.arange(0, 6).cast('float32').reshape([1, 2, 3]);
    expect([...lg.toSafetensors({ attn: [t] })]).toEqual([...want]);
    const back = lg.fromSafetensors(want) as { attn: T[] };
    expect(back.attn[0].toArray()).toEqual(t.toArray());
  });

  it('an empty tree is the header {} padded with six spaces', () => {
    expect([...lg.toSafetensors({})]).toEqual([8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]);
    expect(lg.fromSafetensors(lg.toSafetensors({}))).toEqual({});
  });

  it('__metadata__ comes first in the header, and reads back', () => {
    const bytes = lg.toSafetensors({ w: lg.tensor([1]) }, { metadata: { format: 'pt', b: 'x' } });
    const header = '{"__metadata__":{"b":"x","format":"pt"},"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}';
    expect([...bytes]).toEqual([...file(header, f32le([1]))]);
    expect(lg.safetensorsMetadata(bytes)).toEqual({ b: 'x', format: 'pt' });
    expect(lg.safetensorsMetadata(lg.toSafetensors({ w: lg.tensor([1]) }))).toBeUndefined();
  });

  it('numeric names sort as strings (10 before 2), as the reference writer does', () => {
    const tree = Array.from({ length: 11 }, (_, i) => lg.tensor([i]));
    const bytes = lg.toSafetensors({ l: tree });
    const n = new DataView(bytes.buffer).getUint32(0, true);
    const names = Object.keys(JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))));
    // A JS object lists integer-like keys first, but these are 'l.N': insertion order survives.
    expect(names.slice(0, 4)).toEqual(['l.0', 'l.1', 'l.10', 'l.2']);
    const back = lg.fromSafetensors(bytes) as { l: T[] };
    expect(back.l.map((t) => t.item())).toEqual(tree.map((t) => t.item()));
  });
});

describe('round trips', () => {
  it('float32 keeps every bit: NaN payloads, -0, +-Inf, denormals, the largest float', () => {
    const bits = [0x7fc00000, 0xffc00001, 0x7f800001, 0x80000000, 0x7f800000, 0xff800000, 1, 0x7f7fffff, 0x3f800000];
    const bytes = lg.toSafetensors({ x: lg.tensor(fromBits(bits)) });
    expect([...bytes.subarray(bytes.length - 36)]).toEqual([...new Uint8Array(new Uint32Array(bits).buffer)]);
    const back = lg.fromSafetensors(bytes) as { x: T };
    expect(bitsOf(back.x)).toEqual(bits);
    expect([...lg.toSafetensors(back)]).toEqual([...bytes]);
  });

  it('int32 extremes and bool', () => {
    const ints = [-2147483648, -1, 0, 1, 2147483647];
    const back = lg.fromSafetensors(
      lg.toSafetensors({ i: lg.tensor(new Int32Array(ints)), b: lg.tensor([[true], [false]]) }),
    ) as { i: T; b: T };
    expect(Array.from(back.i.dataSync())).toEqual(ints);
    expect(back.i.dtype).toBe('int32');
    expect(back.b.toArray()).toEqual([[true], [false]]);
  });

  it('0-d and empty tensors, lazy tensors (computed on save) and deep nesting', () => {
    const tree = { a: { b: { c: [lg.tensor(2.5), lg.zeros([0, 3])] } }, lazy: lg.ones([2]).mul(3) };
    const back = lg.fromSafetensors(lg.toSafetensors(tree)) as {
      a: { b: { c: T[] } };
      lazy: T;
    };
    expect(back.a.b.c[0].shape).toEqual([]);
    expect(back.a.b.c[0].item()).toBe(2.5);
    expect(back.a.b.c[1].shape).toEqual([0, 3]);
    expect(back.lazy.toArray()).toEqual([3, 3]);
  });

  it('numeric keys come back as an array only when they are exactly 0..n-1', () => {
    const bytes = lg.toSafetensors({ gap: { 0: lg.tensor([1]), 2: lg.tensor([2]) }, one: { 1: lg.tensor([3]) } });
    const back = lg.fromSafetensors(bytes) as Record<string, Record<string, T>>;
    expect(Array.isArray(back.gap)).toBe(false);
    expect(Object.keys(back.gap)).toEqual(['0', '2']);
    expect(Array.isArray(back.one)).toBe(false);
  });

  it('with a template: its structure (null positions included) and adam state come back', () => {
    const params = { w: lg.tensor([[1, 2]]), b: lg.tensor([3]) };
    const opt = lg.optim.adam({ lr: 0.1 });
    const [p1, s1] = opt.update({ w: lg.tensor([[1, 1]]), b: lg.tensor([-1]) }, opt.init(params), params);
    const sgdState = lg.optim.sgd({ lr: 0.1 }).init(params); // {velocity: null}
    const bytes = lg.toSafetensors({ params: p1, state: s1, sgd: sgdState });
    const template = { params, state: opt.init(params), sgd: sgdState };
    const back = lg.fromSafetensors(bytes, template) as {
      params: typeof params;
      state: lg.optim.AdamState;
      sgd: unknown;
    };
    expect(back.sgd).toEqual({ velocity: null });
    expect(back.state.step.item()).toBe(1);
    expect(back.params.w.toArray()).toEqual((p1 as typeof params).w.toArray());
    expect((back.state.m as typeof params).b.toArray()).toEqual(((s1.m as typeof params).b as T).toArray());
  });
});

describe('templates check names, shapes and dtypes', () => {
  const bytes = () => lg.toSafetensors({ layers: [{ w: lg.ones([2, 3]) }], n: lg.tensor(new Int32Array([1])) });
  it('a shape mismatch names the key path and both shapes', () => {
    const template = { layers: [{ w: lg.ones([3, 2]) }], n: lg.tensor(new Int32Array([1])) };
    expectError(
      () => lg.fromSafetensors(bytes(), template),
      /^fromSafetensors: layers\.0\.w has shape \[2,3\] in the file but \[3,2\] in the template$/,
    );
  });
  it('a dtype mismatch names both dtypes', () => {
    const template = { layers: [{ w: lg.ones([2, 3]) }], n: lg.ones([1]) };
    expectError(
      () => lg.fromSafetensors(bytes(), template),
      /^fromSafetensors: n has dtype I32 \(int32\) in the file but float32/,
    );
  });
  it('a name missing from the file, or one the template lacks, is named', () => {
    const more = { layers: [{ w: lg.ones([2, 3]), b: lg.ones([3]) }], n: lg.tensor(new Int32Array([1])) };
    expectError(
      () => lg.fromSafetensors(bytes(), more),
      /template has layers\.0\.b but the file has no tensor .*layers\.0\.w/,
    );
    const fewer = { layers: [{ w: lg.ones([2, 3]) }] };
    expectError(() => lg.fromSafetensors(bytes(), fewer), /the file has tensors the template does not: n$/);
  });
  it('a template that is not a tree of tensors is an error', () => {
    expectError(() => lg.fromSafetensors(bytes(), lg.ones([2])), /template must be a tree/);
    expectError(
      () => lg.fromSafetensors(bytes(), { layers: [{ w: 5 }], n: lg.ones([1]) }),
      /template's layers\.0\.w must be a tensor, got 5/,
    );
  });
});

describe('what cannot be written', () => {
  it('a single tensor, non-tensor leaves, colliding names and traced tensors', () => {
    expectError(() => lg.toSafetensors(lg.ones([2])), /^toSafetensors: expected a tree .*wrap a single tensor/);
    expectError(() => lg.toSafetensors({ a: [lg.ones([1]), 3] }), /^toSafetensors: a\.1 must be a tensor, got 3/);
    expectError(
      () => lg.toSafetensors({ 'a.b': lg.ones([1]), a: { b: lg.ones([1]) } }),
      /two tensors have the key path 'a\.b'/,
    );
    expectError(() => lg.toSafetensors({ x: lg.ones([1]) }, { metadata: { v: 1 } } as never), /option metadata/);
    const f = lg.jit((p: T) => {
      lg.toSafetensors({ p });
      return p;
    });
    expectError(() => f(lg.ones([2])), /^toSafetensors: p is a traced tensor/);
  });
});

describe('malformed files are clear errors, never crashes', () => {
  const one = '{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
  const cases: [string, () => Uint8Array, RegExp][] = [
    ['shorter than 8 bytes', () => new Uint8Array([1, 0, 0]), /file is 3 bytes long/],
    [
      'a header length past the end',
      () => new Uint8Array([...u64le(100), ...ascii('{}')]),
      /header length is 100 .* truncated/,
    ],
    [
      'a huge header length',
      () => new Uint8Array([0, 0, 0, 0, 1, 0, 0, 0, ...ascii('{}')]),
      /more than the format allows/,
    ],
    ['bad JSON', () => file('{"w": {', []), /header is not valid JSON/],
    ['not UTF-8', () => new Uint8Array([...u64le(2), 0xff, 0xfe]), /not valid UTF-8/],
    ['a header that is not an object', () => file('[1,2]', []), /header must be a JSON object/],
    ['data cut short', () => file(one, f32le([1])), /need 8 bytes of data but the file has 4: truncated/],
    ['trailing bytes', () => file(one, [...f32le([1, 2]), 0, 0]), /has 10 bytes of data but .* cover only 8/],
    [
      'offsets out of range',
      () => file('{"w":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}', f32le([1, 2])),
      /'w' starts at byte 8 .* gap/,
    ],
    [
      'overlapping offsets',
      () =>
        file(
          '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}',
          f32le([1, 2]),
        ),
      /'b' \(bytes 4 to 8\) overlaps tensor 'a'/,
    ],
    [
      'offsets that disagree with the shape',
      () => file('{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', f32le([1, 2])),
      /'w' .* \(8 bytes\) but a F32\[3\] tensor takes 12 bytes/,
    ],
    [
      'an unknown dtype',
      () => file('{"w":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}}', f32le([1])),
      /unknown dtype "F33"/,
    ],
    [
      'a dtype lazygrad cannot hold',
      () => file('{"w":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}', [0, 0, 0, 0]),
      /dtype F16, which lazygrad cannot hold \(supported: F32, I32, BOOL\)/,
    ],
    [
      'negative or fractional offsets',
      () => file('{"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}', []),
      /data_offsets \[-4,0\]; expected \[begin, end\]/,
    ],
    [
      'a bad shape',
      () => file('{"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}', f32le([1])),
      /shape \[1\.5\]/,
    ],
    ['a tensor entry that is not an object', () => file('{"w":3}', []), /'w' in the header must be an object/],
    [
      'non-string metadata',
      () => file('{"__metadata__":{"a":1}}', []),
      /__metadata__ must be an object of string values/,
    ],
    [
      'a BOOL byte other than 0 or 1',
      () => file('{"m":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]}}', [1, 2]),
      /BOOL tensor 'm' holds the byte 2 at index 1/,
    ],
    [
      'names that form no tree',
      () =>
        file(
          '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a.b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}',
          f32le([1, 2]),
        ),
      /'a' is both a tensor and a prefix .*pass a template/,
    ],
  ];
  for (const [name, make, pattern] of cases)
    it(name, () => expectError(() => lg.fromSafetensors(make()), new RegExp(`^fromSafetensors: .*${pattern.source}`)));

  it('bytes inside a larger buffer, at an unaligned offset, read the same (Buffer pools do this)', () => {
    const good = handBuilt();
    const big = new Uint8Array(good.length + 3);
    big.set(good, 3);
    const back = lg.fromSafetensors(big.subarray(3)) as Loaded;
    expect(back.layers[0].b.toArray()).toEqual(B0);
    expect(back.count.item()).toBe(-7);
    expect((lg.fromSafetensors(good.buffer.slice(0) as ArrayBuffer) as Loaded).mask.toArray()).toEqual([
      true,
      false,
      true,
    ]);
  });

  it('not bytes at all', () => {
    expectError(
      () => lg.fromSafetensors('abc' as never),
      /^fromSafetensors: expected the file's bytes as a Uint8Array/,
    );
  });

  it('every truncation and many corruptions of a valid file either load or throw a LazygradError', () => {
    const good = handBuilt();
    for (let n = 0; n < good.length; n++)
      expect(() => lg.fromSafetensors(good.subarray(0, n))).toThrow(lg.LazygradError);
    let seed = 12345;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    for (let k = 0; k < 300; k++) {
      const bad = good.slice();
      bad[next() % bad.length] = next() % 256;
      try {
        lg.fromSafetensors(bad);
      } catch (e) {
        expect(e, String(e)).toBeInstanceOf(lg.LazygradError);
      }
    }
  });
});

describe('save and load (Node)', () => {
  const dir = fs.mkdtempSync(nodePath.join(os.tmpdir(), 'lazygrad-checkpoint-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('save writes exactly toSafetensors, load reads it back, nothing else is left in the directory', () => {
    const path = nodePath.join(dir, 'model.safetensors');
    lg.save(makeTree(), path);
    expect([...fs.readFileSync(path)]).toEqual([...handBuilt()]);
    const back = lg.load(path) as Loaded;
    expect(back.layers[0].w.toArray()).toEqual([
      [1, -2.5],
      [3, 0.25],
    ]);
    const template = makeTree();
    const checked = lg.load(path, template) as Loaded;
    expect(checked.mask.toArray()).toEqual([true, false, true]);
    lg.save({ x: lg.tensor([1]) }, path); // overwrites
    expect((lg.load(path) as { x: T }).x.toArray()).toEqual([1]);
    expect(fs.readdirSync(dir)).toEqual(['model.safetensors']);
  });

  it('load errors name the file; unreadable and unwritable paths are LazygradErrors', () => {
    const path = nodePath.join(dir, 'bad.safetensors');
    fs.writeFileSync(path, new Uint8Array([1, 2, 3]));
    expectError(
      () => lg.load(path),
      new RegExp(`^load ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: the file is 3 bytes`),
    );
    expectError(() => lg.load(nodePath.join(dir, 'missing')), /^load: cannot read .*missing/);
    expectError(
      () => lg.save({ x: lg.ones([1]) }, nodePath.join(dir, 'no', 'such', 'dir', 'f')),
      /^save: cannot write/,
    );
    expectError(() => lg.save({ x: lg.ones([1]) }, 5 as never), /^save: path must be a non-empty string, got 5/);
  });

  it('without process.getBuiltinModule (a browser, old Node) save and load say what they need', () => {
    const proc = process as unknown as { getBuiltinModule?: unknown };
    const original = proc.getBuiltinModule;
    proc.getBuiltinModule = undefined;
    try {
      expectError(
        () => lg.save({ x: lg.ones([1]) }, nodePath.join(dir, 'y')),
        /^save: needs Node's fs .*toSafetensors/,
      );
      expectError(() => lg.load(nodePath.join(dir, 'y')), /^load: needs Node's fs/);
    } finally {
      proc.getBuiltinModule = original;
    }
  });

  it('the checkpoint module imports nothing Node-specific at top level', () => {
    const source = fs.readFileSync(nodePath.join(__dirname, '../../src/checkpoint.ts'), 'utf8');
    const imports = [...source.matchAll(/^import .* from '([^']+)';$/gm)].map((m) => m[1]);
    expect(imports.length).toBeGreaterThan(0);
    for (const spec of imports) expect(spec).toMatch(/^\.\.?\//);
  });
});
