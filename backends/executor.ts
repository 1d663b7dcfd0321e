/**
 * The plan executor: runs a compiled kernel plan on any backend through its
 * device primitives (allocate, dispatch, free, ...), so the rules of a run
 * live once:
 *  - buffer roles: inputs and captures are the caller's buffers; temporaries
 *    and outputs are allocated when their kernel first writes them;
 *  - temporaries: on a backend that writes in place, the buffers of one plan
 *    slot share one allocation (`recycle`d at the end of the run); elsewhere
 *    each gets its own, freed after its last reader (`plan.frees`);
 *  - donation: an output aliasing a donated input takes over its storage
 *    where kernels write in place; donated inputs nothing took over are
 *    freed after the run (the caller never reads them again);
 *  - f32 scalars are rounded to float32 unless the backend keeps float64;
 *  - `onKernel` gets each kernel's wall time, after `finish()`;
 *  - on failure every buffer the run allocated is freed;
 *  - an output listed twice gives each caller a buffer of its own.
 */
import type { PlanBuffer } from '../ir';
import type { Backend, CompiledPlan, DeviceBuffer, RunOptions } from './backend';

export function runPlan(
  backend: Backend,
  exe: CompiledPlan,
  params: readonly DeviceBuffer[],
  captures: readonly DeviceBuffer[],
  scalars: readonly number[],
  opts: RunOptions = {},
): DeviceBuffer[] {
  const { plan, prepared } = exe;
  const buffers: (DeviceBuffer | undefined)[] = new Array(plan.buffers.length);
  for (const b of plan.buffers) {
    if (b.role === 'input') buffers[b.id] = params[b.source!];
    else if (b.role === 'capture') buffers[b.id] = captures[b.source!];
    if (buffers[b.id]) backend.checkLive?.(buffers[b.id]!, 'run');
  }
  const args = plan.scalars.map((s, i) =>
    s.dtype === 'f32' && !backend.float64Scalars ? Math.fround(scalars[i]) : scalars[i],
  );
  const isDonated = (input: PlanBuffer) => opts.donated?.has(input.source!) ?? false;
  const liveTemps = new Set<DeviceBuffer>();
  const slotTemps = new Map<number, DeviceBuffer>();
  const newOutputs: DeviceBuffer[] = [];
  const takenOver = new Set<number>();

  const storageFor = (b: PlanBuffer): DeviceBuffer => {
    if (b.role === 'output') {
      if (backend.writesInPlace && b.aliasOf !== undefined && isDonated(plan.buffers[b.aliasOf])) {
        takenOver.add(b.aliasOf);
        return buffers[b.aliasOf]!;
      }
      const out = backend.allocate(b.dtype, b.size, { uninitialised: true });
      newOutputs.push(out);
      return out;
    }
    const shared = backend.writesInPlace && b.slot !== undefined;
    const hit = shared ? slotTemps.get(b.slot!) : undefined;
    if (hit) return hit;
    const temp = backend.allocate(b.dtype, b.size, { temporary: true });
    liveTemps.add(temp);
    if (shared) slotTemps.set(b.slot!, temp);
    return temp;
  };

  let ok = false;
  try {
    plan.kernels.forEach((k, i) => {
      const t0 = opts.onKernel ? performance.now() : 0;
      const outputs = k.outputs.map((o) => (buffers[o.buffer] ??= storageFor(plan.buffers[o.buffer])));
      const inputs = k.inputs.map((b) => buffers[b]!);
      backend.dispatch(
        prepared[i],
        k,
        inputs,
        outputs,
        k.args.map((s) => args[s]),
      );
      if (!backend.writesInPlace) {
        for (const id of plan.frees[i]) {
          const dead = buffers[id]!;
          if (plan.buffers[id].role === 'temp' && liveTemps.delete(dead)) backend.free(dead);
        }
      }
      if (opts.onKernel) {
        backend.finish?.();
        opts.onKernel({ kernel: k, ms: performance.now() - t0 });
      }
    });
    ok = true;
  } finally {
    backend.endRun?.();
    for (const t of liveTemps) (backend.recycle ?? backend.free).call(backend, t);
    if (!ok) for (const o of newOutputs) backend.free(o);
  }
  for (const b of plan.buffers) {
    if (b.role === 'input' && isDonated(b) && !takenOver.has(b.id)) backend.free(buffers[b.id]!);
  }
  const handedOut = new Set<DeviceBuffer>();
  return plan.outputs.map((id) => {
    const buf = buffers[id]!;
    if (!handedOut.has(buf)) {
      handedOut.add(buf);
      return buf;
    }
    // The same result twice: each caller gets a buffer of its own (to free, or to donate, independently).
    return backend.copy ? backend.copy(buf) : backend.upload(buf.dtype, backend.download(buf));
  });
}
