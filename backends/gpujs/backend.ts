/**
 * The `gpujs` backend: every kernel of a plan runs as a gpu.js kernel.
 *
 * On headless GL, results stay on the device as immutable pipeline textures
 * and feed the next kernels directly; data crosses to the host only on
 * upload (a buffer's first use by a kernel) and download. Each buffer owns
 * at most one texture, deleted when the buffer is freed (`free`, the plan's
 * `frees` for temporaries, donated inputs after the run, or a finalizer when
 * an unfreed buffer is collected). Small host buffers (jit's scalar inputs)
 * get a texture per run instead, deleted at its end. `textureCount` is the
 * number of live textures this backend owns. Plans run through the shared
 * executor (../executor.ts): the buffers it allocates are empty until a
 * kernel's dispatch attaches its result texture.
 *
 * In the webasm/cpu fallback the same kernels run over Float32Arrays.
 * Values of every dtype travel as float32 (int32 exact below 2^24).
 */
import type { Texture } from 'gpu.js';
import { type BackendLimits, type DType, type Kernel, type KernelPlan, LazygradError } from '../../ir';
import {
  type AllocateOptions,
  type Backend,
  type CompiledPlan,
  type DeviceBuffer,
  type RunOptions,
  type TypedArray,
  arrayFor,
} from '../backend';
import { runPlan } from '../executor';
import { type LoweredKernel, MAX_ELEMENTS, lowerKernel } from './codegen';
import { type CachedKernel, type Device, device } from './device';
import { runOnHost } from './host';
import { GPUJS_NATIVE_OPS } from './op-table';

/** Host buffers up to this size get a per-run texture rather than a cached one (jit scalars, rng keys). */
const SMALL = 16;

interface GpujsBuffer extends DeviceBuffer {
  /** Exact values on the host (uploads, downloads, host kernels). */
  host?: TypedArray;
  /** Values as float32 (fallback modes). */
  f32?: Float32Array;
  tex?: Texture;
  freed?: boolean;
}

/** A plan kernel ready to dispatch: its lowering and the gpu.js kernel of every step. */
interface PreparedKernel {
  readonly lowered: LoweredKernel;
  readonly fns: readonly CachedKernel[];
}

const HOST_SOURCE = 'function host() { /* the random primitive, evaluated on the host with ir/random.ts uniform() */ }';

export class GpujsBackend implements Backend {
  readonly name = 'gpujs';
  readonly freesBuffers = true;
  readonly downloadIsView = false;
  /** Pipeline textures are immutable: every kernel result is a new texture. */
  readonly writesInPlace = false;
  readonly float64Scalars = false;
  readonly limits: BackendLimits = {
    maxKernelInputs: 16,
    multiReduceKernels: false,
    randomOnHost: true,
    inPlaceWithinKernel: false,
    minStoredInnerDot: 256,
    nativeOps: GPUJS_NATIVE_OPS,
  };
  readonly dev: Device;
  private live = 0;
  private readonly finalizer = new FinalizationRegistry<Texture>((tex) => this.deleteTexture(tex));
  /** Textures of small host buffers for the current run (see SMALL), deleted by `endRun`. */
  private readonly runTextures = new Map<GpujsBuffer, Texture>();

  constructor() {
    this.dev = device();
  }

  get mode(): string {
    return this.dev.mode;
  }

  get compileCount(): number {
    return this.dev.compiles;
  }

  /** Live textures owned by this backend (buffers' textures and per-run ones). */
  get textureCount(): number {
    return this.live;
  }

  /** Compile statistics: kernels built, total milliseconds of their first calls. */
  get compileStats(): { kernels: number; ms: number } {
    return { kernels: this.dev.compiles, ms: this.dev.compileMs };
  }

  private deleteTexture(tex: Texture): void {
    tex.delete();
    this.live--;
  }

  private own(buf: GpujsBuffer, tex: Texture): void {
    this.live++;
    buf.tex = tex;
    this.finalizer.register(buf, tex, buf);
  }

  upload(dtype: DType, data: ArrayLike<number>): DeviceBuffer {
    const host = arrayFor(dtype, data.length);
    host.set(data);
    return { dtype, size: data.length, host } as GpujsBuffer;
  }

  download(buf: DeviceBuffer): TypedArray {
    const b = this.check(buf, 'download');
    if (!b.host) {
      const src = b.tex ? (b.tex.toArray() as Float32Array) : b.f32!;
      const out = arrayFor(b.dtype, b.size);
      for (let i = 0; i < b.size; i++) out[i] = src[i];
      b.host = out;
    }
    return b.host;
  }

  free(buf: DeviceBuffer): void {
    const b = buf as GpujsBuffer;
    if (b.freed) return;
    b.freed = true;
    if (b.tex) {
      this.finalizer.unregister(b);
      this.deleteTexture(b.tex);
      b.tex = undefined;
    }
    b.host = undefined;
    b.f32 = undefined;
  }

  private check(buf: DeviceBuffer, what: string): GpujsBuffer {
    const b = buf as GpujsBuffer;
    if (b.freed) throw new LazygradError(`gpujs: ${what} of a freed buffer`);
    return b;
  }

  checkLive(buf: DeviceBuffer, what: string): void {
    this.check(buf, what);
  }

  /** An empty buffer: the dispatch that writes it attaches its values. */
  allocate(dtype: DType, size: number, _opts?: AllocateOptions): DeviceBuffer {
    return { dtype, size } as GpujsBuffer;
  }

  copy(buf: DeviceBuffer): DeviceBuffer {
    const b = this.check(buf, 'copy');
    const copy: GpujsBuffer = { dtype: b.dtype, size: b.size, host: b.host?.slice(), f32: b.f32?.slice() };
    if (b.tex) this.own(copy, b.tex.clone());
    return copy;
  }

  finish(): void {
    this.dev.finish();
  }

  endRun(): void {
    for (const t of this.runTextures.values()) this.deleteTexture(t);
    this.runTextures.clear();
  }

  compile(plan: KernelPlan): CompiledPlan {
    const lowered = plan.kernels.map((k) =>
      lowerKernel(
        k,
        k.inputs.map((b) => plan.buffers[b].size),
      ),
    );
    const fns = lowered.map((lk) => lk.steps.map((s) => this.dev.kernel(s.source, s.threads)));
    const sources = plan.kernels.map((k, i) => ({
      name: k.name,
      source: lowered[i].host
        ? HOST_SOURCE
        : lowered[i].steps.length
          ? lowered[i].steps.map((s) => s.source).join('\n\n')
          : 'function empty() { /* no elements */ }',
    }));
    return { plan, sources, prepared: lowered.map((lk, i): PreparedKernel => ({ lowered: lk, fns: fns[i] })) };
  }

  /** The kernel-argument form of a buffer: a texture (GL) or float32 values. */
  private devValue(b: GpujsBuffer): Texture | Float32Array {
    this.check(b, 'kernel input');
    if (!this.dev.isGL) {
      if (!b.f32) b.f32 = b.host instanceof Float32Array ? b.host : Float32Array.from(b.host!);
      return b.f32;
    }
    if (b.tex) return b.tex;
    const hit = this.runTextures.get(b);
    if (hit) return hit;
    if (b.size === 0) return this.emptyTexture();
    if (b.size > MAX_ELEMENTS)
      throw new LazygradError(
        `gpujs: a buffer of ${b.size} elements is over the 2^24 elements float32 indexing reaches`,
      );
    const data = b.host instanceof Float32Array ? b.host : Float32Array.from(b.host!);
    const tex = this.dev.upload(data);
    if (b.size <= SMALL) {
      this.live++;
      this.runTextures.set(b, tex);
    } else this.own(b, tex);
    return tex;
  }

  private empty?: Texture;
  /** A one-element stand-in for empty inputs (their loads compile to 0). */
  private emptyTexture(): Texture {
    if (!this.empty) this.empty = this.dev.upload(new Float32Array(1));
    return this.empty;
  }

  private call(k: CachedKernel, args: unknown[], what: string): Texture | Float32Array {
    const first = k.firstCallMs === undefined;
    const t0 = first ? performance.now() : 0;
    let out: Texture | Float32Array;
    try {
      out = (k.fn as unknown as (...a: unknown[]) => Texture | Float32Array)(...args);
    } catch (e) {
      if (!first) throw e;
      throw new LazygradError(`gpujs: ${what} failed to build on ${this.dev.mode}: ${(e as Error).message}`);
    }
    if (first) {
      this.dev.checkImpl(k.fn, what);
      k.firstCallMs = performance.now() - t0;
      this.dev.compileMs += k.firstCallMs;
    }
    return out;
  }

  /** Runs the gpu.js steps of kernel `k` and attaches the result to `out`. */
  private runSteps(
    k: Kernel,
    { lowered, fns }: PreparedKernel,
    inputs: readonly DeviceBuffer[],
    out: GpujsBuffer,
    args: readonly number[],
  ): void {
    const gl = this.dev.isGL;
    let partial: Texture | Float32Array | undefined;
    let result: Texture | Float32Array | undefined;
    lowered.steps.forEach((step, si) => {
      const vals = step.args.map((a) => {
        switch (a.kind) {
          case 'input':
            return this.devValue(inputs[a.slot] as GpujsBuffer);
          case 'partial':
            return partial;
          case 'scalar':
            return args[a.slot];
          case 'const':
            return a.value;
        }
      });
      const r = this.call(fns[si], vals, `kernel ${k.name}`);
      // cpu mode may hand back the same array every call: keep a copy.
      const owned = gl ? r : Float32Array.from(r as Float32Array);
      if (step.writes === 'partial') {
        partial = owned;
        if (gl) this.live++;
      } else result = owned;
    });
    if (partial && gl) this.deleteTexture(partial as Texture);
    if (gl) this.own(out, result as Texture);
    else out.f32 = result as Float32Array;
  }

  dispatch(
    prepared: unknown,
    k: Kernel,
    inputs: readonly DeviceBuffer[],
    outputs: readonly DeviceBuffer[],
    args: readonly number[],
  ): void {
    const pk = prepared as PreparedKernel;
    const out = outputs[0] as GpujsBuffer;
    if (out.size === 0) out.host = arrayFor(out.dtype, 0);
    else if (pk.lowered.host) {
      out.host = runOnHost(
        k,
        inputs.map((b) => this.download(b)),
        args,
        out.dtype,
      );
    } else this.runSteps(k, pk, inputs, out, args);
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

/** The gpujs backend (src/settings.ts creates it on first use). */
export function createGpujsBackend(): Backend {
  return new GpujsBackend();
}
