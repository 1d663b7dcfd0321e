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
 * number of live textures this backend owns.
 *
 * In the webasm/cpu fallback the same kernels run over Float32Arrays.
 * Values of every dtype travel as float32 (int32 exact below 2^24).
 */
import type { Texture } from 'gpu.js';
import { type BackendLimits, type DType, type Kernel, type KernelPlan, LazygradError } from '../../ir';
import {
  type Backend,
  type CompiledPlan,
  type DeviceBuffer,
  type RunOptions,
  type TypedArray,
  arrayFor,
} from '../backend';
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

interface GpujsCompiled extends CompiledPlan {
  readonly lowered: readonly LoweredKernel[];
  /** The gpu.js kernel of every step, by plan kernel. */
  readonly fns: readonly (readonly CachedKernel[])[];
}

const HOST_SOURCE = 'function host() { /* the random primitive, evaluated on the host with ir/random.ts uniform() */ }';

export class GpujsBackend implements Backend {
  readonly name = 'gpujs';
  readonly freesBuffers = true;
  readonly downloadIsView = false;
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

  compile(plan: KernelPlan): GpujsCompiled {
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
    return { plan, sources, lowered, fns };
  }

  /** The kernel-argument form of a buffer: a texture (GL) or float32 values. */
  private devValue(b: GpujsBuffer, transient: Map<GpujsBuffer, Texture>): Texture | Float32Array {
    this.check(b, 'kernel input');
    if (!this.dev.isGL) {
      if (!b.f32) b.f32 = b.host instanceof Float32Array ? b.host : Float32Array.from(b.host!);
      return b.f32;
    }
    if (b.tex) return b.tex;
    const hit = transient.get(b);
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
      transient.set(b, tex);
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

  private runSteps(
    k: Kernel,
    lk: LoweredKernel,
    fns: readonly CachedKernel[],
    bufs: GpujsBuffer[],
    args: readonly number[],
    transient: Map<GpujsBuffer, Texture>,
  ): GpujsBuffer {
    const gl = this.dev.isGL;
    let partial: Texture | Float32Array | undefined;
    let result: Texture | Float32Array | undefined;
    lk.steps.forEach((step, si) => {
      const vals = step.args.map((a) => {
        switch (a.kind) {
          case 'input':
            return this.devValue(bufs[k.inputs[a.slot]], transient);
          case 'partial':
            return partial;
          case 'scalar':
            return args[k.args[a.slot]];
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
    const buf: GpujsBuffer = { dtype: k.outputs[0].expr.dtype, size: lk.steps[lk.steps.length - 1].threads };
    if (gl) this.own(buf, result as Texture);
    else buf.f32 = result as Float32Array;
    return buf;
  }

  run(
    exe: CompiledPlan,
    params: readonly DeviceBuffer[],
    captures: readonly DeviceBuffer[],
    scalars: readonly number[],
    opts: RunOptions = {},
  ): DeviceBuffer[] {
    const { plan, lowered, fns } = exe as GpujsCompiled;
    const bufs: GpujsBuffer[] = new Array(plan.buffers.length);
    for (const b of plan.buffers) {
      if (b.role === 'input') bufs[b.id] = this.check(params[b.source!], 'run');
      else if (b.role === 'capture') bufs[b.id] = this.check(captures[b.source!], 'run');
    }
    const args = plan.scalars.map((s, i) => (s.dtype === 'f32' ? Math.fround(scalars[i]) : scalars[i]));
    const transient = new Map<GpujsBuffer, Texture>();
    let ok = false;
    try {
      plan.kernels.forEach((k, i) => {
        const t0 = opts.onKernel ? performance.now() : 0;
        const ob = plan.buffers[k.outputs[0].buffer];
        if (ob.size === 0) bufs[ob.id] = { dtype: ob.dtype, size: 0, host: arrayFor(ob.dtype, 0) } as GpujsBuffer;
        else if (lowered[i].host) {
          const ins = k.inputs.map((b) => this.download(bufs[b]));
          bufs[ob.id] = {
            dtype: ob.dtype,
            size: ob.size,
            host: runOnHost(
              k,
              ins,
              k.args.map((s) => args[s]),
              ob.dtype,
            ),
          } as GpujsBuffer;
        } else bufs[ob.id] = this.runSteps(k, lowered[i], fns[i], bufs, args, transient);
        for (const id of plan.frees[i]) if (plan.buffers[id].role === 'temp') this.free(bufs[id]);
        if (opts.onKernel) {
          this.dev.finish();
          opts.onKernel({ kernel: k, ms: performance.now() - t0 });
        }
      });
      ok = true;
    } finally {
      for (const t of transient.values()) this.deleteTexture(t);
      for (const b of plan.buffers) {
        if (bufs[b.id] && (b.role === 'temp' || (!ok && b.role === 'output'))) this.free(bufs[b.id]);
      }
    }
    // Donated inputs are spent: the caller never reads them again, so their textures go now.
    if (opts.donated) {
      for (const b of plan.buffers) if (b.role === 'input' && opts.donated.has(b.source!)) this.free(bufs[b.id]);
    }
    const seen = new Set<GpujsBuffer>();
    return plan.outputs.map((id) => {
      const b = bufs[id];
      if (!seen.has(b)) {
        seen.add(b);
        return b;
      }
      // The same result twice: each caller gets a buffer of its own to free.
      const copy: GpujsBuffer = { dtype: b.dtype, size: b.size, host: b.host?.slice(), f32: b.f32?.slice() };
      if (b.tex) this.own(copy, b.tex.clone());
      return copy;
    });
  }
}

/** The gpujs backend (src/settings.ts creates it on first use). */
export function createGpujsBackend(): Backend {
  return new GpujsBackend();
}
