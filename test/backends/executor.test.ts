/**
 * The plan executor's rules, once for every backend: a fake backend records
 * what the executor asks of it (allocate, free, recycle, dispatch, finish)
 * and computes kernels with the reference interpreter (ir/kernel-eval.ts);
 * plans are written by hand so that slots, aliases and frees are exact.
 */
import { describe, expect, it } from 'vitest';
import {
  type DType,
  type Kernel,
  type KernelPlan,
  type PlanBuffer,
  type BufferRole,
  ExprBuilder,
  LazygradError,
  evaluateKernel,
  sym,
} from '../../ir';
import type { AllocateOptions, Backend, CompiledPlan, DeviceBuffer, RunOptions } from '../../backends/backend';
import { runPlan } from '../../backends/executor';

const N = 4;

interface FakeBuffer extends DeviceBuffer {
  readonly label: string;
  readonly data: Float64Array;
  freed?: boolean;
}

interface FakeOptions {
  writesInPlace: boolean;
  float64Scalars?: boolean;
  recycles?: boolean;
}

/** Records every call; kernel `boom` throws (after its inputs are checked). */
class FakeBackend implements Backend {
  readonly name = 'fake';
  readonly mode = 'fake';
  readonly limits = { maxKernelInputs: Infinity, multiReduceKernels: true };
  readonly compileCount = 0;
  readonly freesBuffers: boolean;
  readonly downloadIsView = false;
  readonly writesInPlace: boolean;
  readonly float64Scalars: boolean;
  readonly recycle?: (buf: DeviceBuffer) => void;
  readonly log: string[] = [];
  readonly args: number[][] = [];
  private count = 0;

  constructor(opts: FakeOptions) {
    this.writesInPlace = opts.writesInPlace;
    this.freesBuffers = !opts.writesInPlace;
    this.float64Scalars = opts.float64Scalars ?? false;
    if (opts.recycles) this.recycle = (buf) => this.log.push(`recycle ${(buf as FakeBuffer).label}`);
  }

  private make(dtype: DType, size: number, data?: ArrayLike<number>): FakeBuffer {
    const buf: FakeBuffer = { dtype, size, label: `#${this.count++}`, data: new Float64Array(size) };
    if (data) buf.data.set(data);
    return buf;
  }

  upload(dtype: DType, data: ArrayLike<number>): FakeBuffer {
    const buf = this.make(dtype, data.length, data);
    this.log.push(`upload ${buf.label}`);
    return buf;
  }
  download(buf: DeviceBuffer): Float64Array {
    return (buf as FakeBuffer).data;
  }
  free(buf: DeviceBuffer): void {
    const b = buf as FakeBuffer;
    this.log.push(`free ${b.label}`);
    b.freed = true;
  }
  allocate(dtype: DType, size: number, opts: AllocateOptions = {}): FakeBuffer {
    const buf = this.make(dtype, size);
    this.log.push(
      `allocate ${buf.label}${opts.temporary ? ' temporary' : ''}${opts.uninitialised ? ' uninitialised' : ''}`,
    );
    return buf;
  }
  checkLive(buf: DeviceBuffer, what: string): void {
    if ((buf as FakeBuffer).freed) throw new LazygradError(`fake: ${what} of a freed buffer`);
  }
  compile(plan: KernelPlan): CompiledPlan {
    return { plan, sources: [], prepared: plan.kernels.map((k) => `prepared ${k.name}`) };
  }
  dispatch(
    prepared: unknown,
    kernel: Kernel,
    inputs: readonly DeviceBuffer[],
    outputs: readonly DeviceBuffer[],
    args: readonly number[],
  ): void {
    expect(prepared).toBe(`prepared ${kernel.name}`);
    for (const b of [...inputs, ...outputs]) this.checkLive(b, `dispatch ${kernel.name}`);
    this.log.push(`dispatch ${kernel.name}`);
    this.args.push([...args]);
    if (kernel.name === 'boom') throw new Error('boom');
    const values = evaluateKernel(
      kernel,
      inputs.map((b) => (b as FakeBuffer).data),
      args,
    );
    outputs.forEach((b, i) => (b as FakeBuffer).data.set(values[i]));
  }
  finish(): void {
    this.log.push('finish');
  }
  endRun(): void {
    this.log.push('endRun');
  }
  run(
    exe: CompiledPlan,
    params: readonly DeviceBuffer[],
    captures: readonly DeviceBuffer[],
    scalars: readonly number[],
    opts?: RunOptions,
  ): DeviceBuffer[] {
    return runPlan(this, exe, params, captures, scalars, opts);
  }
}

interface BufferSpec {
  role: BufferRole;
  source?: number;
  slot?: number;
  aliasOf?: number;
}

/** A kernel `name` over [N] computing `inputs[0] + arg0` (one input) or `inputs[0] * inputs[1]` (two). */
interface KernelSpec {
  name: string;
  inputs: number[];
  out: number;
}

/** A plan over f32[N] buffers (ids in order); frees are the temporaries' last readers, as the scheduler computes them. */
function makePlan(buffers: BufferSpec[], kernels: KernelSpec[], outputs: number[]): KernelPlan {
  const planBuffers: PlanBuffer[] = buffers.map((b, id) => ({ id, dtype: 'f32', shape: [N], size: N, ...b }));
  const lastRead = new Map<number, number>();
  kernels.forEach((k, i) => k.inputs.forEach((b) => lastRead.set(b, i)));
  const frees = kernels.map((_, i) =>
    [...lastRead].filter(([b, last]) => last === i && planBuffers[b].role === 'temp').map(([b]) => b),
  );
  const planKernels: Kernel[] = kernels.map((k) => {
    const e = new ExprBuilder();
    const v = sym.loopVar(0, N);
    const at = sym.idxVar(v);
    const expr =
      k.inputs.length === 1
        ? e.op('add', [e.load(0, at, 'f32'), e.arg(0, 'f32')], 'f32')
        : e.op('mul', [e.load(0, at, 'f32'), e.load(1, at, 'f32')], 'f32');
    return {
      name: k.name,
      shape: [N],
      vars: [v],
      inputs: k.inputs,
      args: k.inputs.length === 1 ? [0] : [],
      outputs: [{ buffer: k.out, expr }],
      ops: [k.inputs.length === 1 ? 'add' : 'mul'],
    };
  });
  return {
    buffers: planBuffers,
    scalars: [{ dtype: 'f32', value: 1, source: 0 }],
    kernels: planKernels,
    frees,
    outputs,
    captures: [],
  };
}

/** x -> t1 (slot 0) -> t2 (slot 1) -> t3 (slot 0, t1 is dead) -> out; each kernel adds the scalar. */
const chain = makePlan(
  [
    { role: 'input', source: 0 },
    { role: 'temp', slot: 0 },
    { role: 'temp', slot: 1 },
    { role: 'temp', slot: 0 },
    { role: 'output', slot: 2 },
  ],
  [
    { name: 'a', inputs: [0], out: 1 },
    { name: 'b', inputs: [1], out: 2 },
    { name: 'c', inputs: [2], out: 3 },
    { name: 'd', inputs: [3], out: 4 },
  ],
  [4],
);

function run(be: FakeBackend, plan: KernelPlan, params: DeviceBuffer[], scalars = [1], opts?: RunOptions) {
  const outs = be.run(be.compile(plan), params, [], scalars, opts) as FakeBuffer[];
  return outs;
}

describe('plan executor: temporaries', () => {
  it('shares one buffer per slot where kernels write in place, and frees temporaries at the end of the run', () => {
    const be = new FakeBackend({ writesInPlace: true });
    const x = be.upload('f32', [0, 1, 2, 3]);
    const [out] = run(be, chain, [x]);
    expect(Array.from(out.data)).toEqual([4, 5, 6, 7]);
    expect(be.log).toEqual([
      'upload #0',
      'allocate #1 temporary',
      'dispatch a',
      'allocate #2 temporary',
      'dispatch b',
      'dispatch c', // t3 takes slot 0's buffer
      'allocate #3 uninitialised',
      'dispatch d',
      'endRun',
      'free #1',
      'free #2',
    ]);
  });

  it('recycles temporaries instead of freeing them where the backend pools them', () => {
    const be = new FakeBackend({ writesInPlace: true, recycles: true });
    run(be, chain, [be.upload('f32', [0, 0, 0, 0])]);
    expect(be.log.slice(-2)).toEqual(['recycle #1', 'recycle #2']);
    expect(be.log.some((l) => l.startsWith('free'))).toBe(false);
  });

  it('gives each temporary its own buffer, freed after its last reader, where kernel results are fresh storage', () => {
    const be = new FakeBackend({ writesInPlace: false });
    const [out] = run(be, chain, [be.upload('f32', [0, 1, 2, 3])]);
    expect(Array.from(out.data)).toEqual([4, 5, 6, 7]);
    expect(be.log).toEqual([
      'upload #0',
      'allocate #1 temporary',
      'dispatch a',
      'allocate #2 temporary',
      'dispatch b',
      'free #1',
      'allocate #3 temporary',
      'dispatch c',
      'free #2',
      'allocate #4 uninitialised',
      'dispatch d',
      'free #3',
      'endRun',
    ]);
    expect(out.freed).toBeUndefined();
  });
});

/** out = p + 1 written over the donated parameter p (its only reader). */
const update = makePlan(
  [
    { role: 'input', source: 0 },
    { role: 'output', slot: 0, aliasOf: 0 },
  ],
  [{ name: 'u', inputs: [0], out: 1 }],
  [1],
);

describe('plan executor: donation', () => {
  it('writes a donated input in place where kernels write in place', () => {
    const be = new FakeBackend({ writesInPlace: true });
    const p = be.upload('f32', [1, 2, 3, 4]);
    const [out] = run(be, update, [p], [1], { donated: new Set([0]) });
    expect(out).toBe(p);
    expect(Array.from(p.data)).toEqual([2, 3, 4, 5]);
    expect(be.log).toEqual(['upload #0', 'dispatch u', 'endRun']);
  });

  it('allocates the output and leaves the input alone when the input is not donated at this run', () => {
    const be = new FakeBackend({ writesInPlace: true });
    const p = be.upload('f32', [1, 2, 3, 4]);
    const [out] = run(be, update, [p]);
    expect(out).not.toBe(p);
    expect(Array.from(p.data)).toEqual([1, 2, 3, 4]);
    expect(Array.from(out.data)).toEqual([2, 3, 4, 5]);
    expect(p.freed).toBeUndefined();
  });

  it('ignores the alias where kernel results are fresh storage, and frees the donated input after the run', () => {
    const be = new FakeBackend({ writesInPlace: false });
    const p = be.upload('f32', [1, 2, 3, 4]);
    const [out] = run(be, update, [p], [1], { donated: new Set([0]) });
    expect(out).not.toBe(p);
    expect(Array.from(out.data)).toEqual([2, 3, 4, 5]);
    expect(be.log).toEqual(['upload #0', 'allocate #1 uninitialised', 'dispatch u', 'endRun', 'free #0']);
  });

  it('frees a donated input that no output took over, also where kernels write in place', () => {
    const be = new FakeBackend({ writesInPlace: true });
    const p = be.upload('f32', [1, 2, 3, 4]);
    const noAlias = makePlan(
      [
        { role: 'input', source: 0 },
        { role: 'output', slot: 0 },
      ],
      [{ name: 'u', inputs: [0], out: 1 }],
      [1],
    );
    run(be, noAlias, [p], [1], { donated: new Set([0]) });
    expect(be.log.slice(-1)).toEqual(['free #0']);
  });
});

describe('plan executor: outputs, scalars, failures, timing', () => {
  const twice = makePlan(
    [
      { role: 'input', source: 0 },
      { role: 'output', slot: 0 },
    ],
    [{ name: 'y', inputs: [0], out: 1 }],
    [1, 1],
  );

  for (const writesInPlace of [true, false]) {
    it(`an output listed twice gives two distinct buffers with its values (writesInPlace ${writesInPlace})`, () => {
      const be = new FakeBackend({ writesInPlace });
      const [a, b] = run(be, twice, [be.upload('f32', [1, 2, 3, 4])]);
      expect(a).not.toBe(b);
      expect(a.data).not.toBe(b.data);
      expect(Array.from(b.data)).toEqual([2, 3, 4, 5]);
      be.free(a);
      a.data.fill(0);
      expect(Array.from(b.data)).toEqual([2, 3, 4, 5]);
    });
  }

  it('a donated in-place output listed twice still gives two buffers', () => {
    const be = new FakeBackend({ writesInPlace: true });
    const plan = makePlan(
      [
        { role: 'input', source: 0 },
        { role: 'output', slot: 0, aliasOf: 0 },
      ],
      [{ name: 'u', inputs: [0], out: 1 }],
      [1, 1],
    );
    const p = be.upload('f32', [1, 2, 3, 4]);
    const [a, b] = run(be, plan, [p], [1], { donated: new Set([0]) });
    expect(a).toBe(p);
    expect(b).not.toBe(p);
    expect(Array.from(b.data)).toEqual([2, 3, 4, 5]);
  });

  it('rounds f32 scalars to float32 unless the backend keeps float64', () => {
    const f32 = new FakeBackend({ writesInPlace: true });
    run(f32, twice, [f32.upload('f32', [0, 0, 0, 0])], [0.1]);
    expect(f32.args[0]).toEqual([Math.fround(0.1)]);
    const f64 = new FakeBackend({ writesInPlace: true, float64Scalars: true });
    run(f64, twice, [f64.upload('f32', [0, 0, 0, 0])], [0.1]);
    expect(f64.args[0]).toEqual([0.1]);
  });

  for (const writesInPlace of [true, false]) {
    it(`a failing kernel frees what the run allocated, and no donated input (writesInPlace ${writesInPlace})`, () => {
      const plan = makePlan(
        [
          { role: 'input', source: 0 },
          { role: 'temp', slot: 0 },
          { role: 'output', slot: 1 },
          { role: 'output', slot: 2 },
        ],
        [
          { name: 'a', inputs: [0], out: 1 },
          { name: 'o', inputs: [1], out: 2 },
          { name: 'boom', inputs: [1], out: 3 },
        ],
        [2, 3],
      );
      const be = new FakeBackend({ writesInPlace });
      const p = be.upload('f32', [1, 2, 3, 4]);
      expect(() => run(be, plan, [p], [1], { donated: new Set([0]) })).toThrow('boom');
      const allocated = be.log.filter((l) => l.startsWith('allocate')).map((l) => l.split(' ')[1]);
      const freed = be.log.filter((l) => l.startsWith('free')).map((l) => l.split(' ')[1]);
      expect(allocated).toEqual(['#1', '#2', '#3']);
      expect(freed.sort()).toEqual(['#1', '#2', '#3']);
      expect(be.log).toContain('endRun');
      expect(p.freed).toBeUndefined();
    });
  }

  it('refuses a freed input before running any kernel', () => {
    const be = new FakeBackend({ writesInPlace: false });
    const p = be.upload('f32', [1, 2, 3, 4]);
    be.free(p);
    expect(() => run(be, chain, [p])).toThrow(/run of a freed buffer/);
    expect(be.log.some((l) => l.startsWith('dispatch') || l.startsWith('allocate'))).toBe(false);
  });

  it('calls onKernel once per kernel, after waiting for the device', () => {
    const be = new FakeBackend({ writesInPlace: false });
    const seen: string[] = [];
    run(be, chain, [be.upload('f32', [0, 0, 0, 0])], [1], {
      onKernel: ({ kernel, ms }) => {
        expect(ms).toBeGreaterThanOrEqual(0);
        expect(be.log[be.log.length - 1]).toBe('finish');
        seen.push(kernel.name);
        be.log.push(`onKernel ${kernel.name}`);
      },
    });
    expect(seen).toEqual(['a', 'b', 'c', 'd']);
    expect(be.log.filter((l) => l === 'finish')).toHaveLength(4);
  });

  it('waits for the device only when timing is asked for', () => {
    const be = new FakeBackend({ writesInPlace: true });
    run(be, chain, [be.upload('f32', [0, 0, 0, 0])]);
    expect(be.log).not.toContain('finish');
  });
});
