/**
 * Scheduling: turns a fused graph into the kernel plan. Kernels run in graph
 * (dependency) order; each temporary buffer dies after its last reader, and
 * a later kernel's output of the same dtype and size takes over its storage
 * slot. Graph outputs get slots of their own, since they outlive the plan.
 */
import type { Expr, Graph, Idx, Kernel, KernelPlan, Node, PlanBuffer, PlanScalar } from '../ir';
import { byteSize, exprArgs, sym } from '../ir';

const { flatIndex } = sym;
import type { FusionResult } from './fuse';
import { KernelLowering } from './lower-expr';

export interface ScheduleOptions {
  /** Reuse dead temporaries' storage (default true). */
  readonly reuse?: boolean;
  /** Parameters whose buffers the caller donates: outputs may be written into them in place. */
  readonly donated?: ReadonlySet<number>;
  /** Whether a kernel may write a donated buffer it also reads (loop backends: yes; one-pass GPU kernels: no). */
  readonly inPlaceWithinKernel?: boolean;
}

/** The constant nodes of a graph in order; plan scalars refer to this list. */
export function constNodes(g: Graph): Node[] {
  return g.nodes.filter((n) => n.op === 'const');
}

export function schedule(fused: FusionResult, opts: ScheduleOptions = {}): KernelPlan {
  const g = fused.graph;
  const buffers: PlanBuffer[] = [];
  const bufferOfNode = new Map<Node, number>();
  const captures: unknown[] = [];
  const rootBuffer = new Map<Node, number>();
  const addBuffer = (node: Node, role: PlanBuffer['role'], source?: number) => {
    const t = node.types[0];
    const id = buffers.length;
    buffers.push({ id, dtype: t.dtype, shape: [...t.shape], size: t.shape.reduce((a, b) => a * b, 1), role, source });
    // A parameter or capture that is also an output is copied: readers keep the original.
    if (!bufferOfNode.has(node)) bufferOfNode.set(node, id);
    return id;
  };
  g.params.forEach((p, i) => addBuffer(p, 'input', i));
  for (const n of g.nodes)
    if (n.op === 'buffer' && !bufferOfNode.has(n)) addBuffer(n, 'capture', captures.push(n.data) - 1);

  const consts = constNodes(g);
  const scalarOfNode = new Map<Node, number>();
  const scalars: PlanScalar[] = consts.map((n, i) => {
    scalarOfNode.set(n, i);
    return { dtype: n.types[0].dtype, value: n.attrs.value as number, source: i };
  });

  const outputNodes = new Set(g.outputs.map((v) => v.node));
  const kernels: Kernel[] = [];
  const ctx = {
    bufferOf: (n: Node) => bufferOfNode.get(n),
    scalarOf: (n: Node) => {
      const s = scalarOfNode.get(n);
      if (s === undefined) throw new Error('schedule: constant outside the graph');
      return s;
    },
  };
  for (const root of fused.roots) {
    const out = addBuffer(root, outputNodes.has(root) ? 'output' : 'temp');
    rootBuffer.set(root, out);
    const lowering = new KernelLowering(ctx, root);
    const shape = root.types[0].shape;
    const vars = lowering.outputVars(shape);
    const expr = lowering.at(root.out, vars.map(sym.idxVar));
    const ops = lowering.ops.length ? lowering.ops : ['copy'];
    kernels.push({
      name: `k${kernels.length}_${ops.slice(0, 4).join('_')}${ops.length > 4 ? '_etc' : ''}`,
      shape: [...shape],
      vars,
      inputs: lowering.inputs,
      args: lowering.args,
      outputs: [{ buffer: out, expr }],
      ops,
    });
  }

  // Lifetimes: a temporary dies after the last kernel that reads it.
  const lastUse = new Map<number, number>();
  kernels.forEach((k, i) => k.inputs.forEach((b) => lastUse.set(b, i)));
  const frees: number[][] = kernels.map(() => []);
  for (const [b, i] of lastUse) if (buffers[b].role === 'temp') frees[i].push(b);

  assignSlots(buffers, kernels, frees, opts.reuse ?? true);
  if (opts.donated?.size) assignDonations(buffers, kernels, opts.donated, opts.inPlaceWithinKernel ?? false);
  return { buffers, scalars, kernels, frees, outputs: g.outputs.map((v) => rootBuffer.get(v.node)!), captures };
}

/**
 * In-place updates: an output may take over a donated input of the same
 * dtype and size when every read of that input happens before the write:
 * all readers run earlier, or the writing kernel is the last reader and
 * reads it only at the element it writes (p - lr * g), which a loop backend
 * may do in place.
 */
function assignDonations(
  buffers: PlanBuffer[],
  kernels: readonly Kernel[],
  donated: ReadonlySet<number>,
  inPlaceWithinKernel: boolean,
): void {
  const lastRead = new Map<number, number>();
  kernels.forEach((k, i) => k.inputs.forEach((b) => lastRead.set(b, i)));
  const free = buffers.filter((b) => b.role === 'input' && donated.has(b.source!));
  kernels.forEach((k, i) => {
    for (const o of k.outputs) {
      const out = buffers[o.buffer];
      if (out.role !== 'output') continue;
      const pick = free.findIndex((inp) => {
        if (inp.dtype !== out.dtype || inp.size !== out.size) return false;
        const last = lastRead.get(inp.id) ?? -1;
        if (last < i) return true;
        if (last > i || !inPlaceWithinKernel) return false;
        const slot = k.inputs.indexOf(inp.id);
        return readsOnlyAt(o.expr, slot, flatIndex(k.vars.map(sym.idxVar), k.shape));
      });
      if (pick >= 0) {
        out.aliasOf = free[pick].id;
        free.splice(pick, 1);
      }
    }
  });
}

/**
 * Whether every load of input `slot` in `e` is at index `at` (and none sits inside a reduction);
 * an indirect load's index values are searched too (a gather's indices may be the slot).
 */
function readsOnlyAt(e: Expr, slot: number, at: Idx): boolean {
  const seen = new Set<Expr>();
  const ok = (x: Expr, inReduce: boolean): boolean => {
    if (seen.has(x)) return true;
    seen.add(x);
    if (x.kind === 'load' && x.input === slot && !(x.at === at && !inReduce)) return false;
    return exprArgs(x).every((a) => ok(a, inReduce || x.kind === 'reduce'));
  };
  return ok(e, false);
}

/** Storage slots: a kernel's temporary output may take the slot of a dead temporary of equal dtype and size. */
function assignSlots(
  buffers: PlanBuffer[],
  kernels: readonly Kernel[],
  frees: readonly number[][],
  reuse: boolean,
): void {
  let next = 0;
  const pool = new Map<string, number[]>();
  kernels.forEach((k, i) => {
    for (const o of k.outputs) {
      const b = buffers[o.buffer];
      const key = `${b.dtype}:${b.size}`;
      const free = b.role === 'temp' && reuse ? pool.get(key) : undefined;
      b.slot = free && free.length ? free.pop()! : next++;
    }
    for (const f of frees[i]) {
      const b = buffers[f];
      const key = `${b.dtype}:${b.size}`;
      if (!pool.has(key)) pool.set(key, []);
      pool.get(key)!.push(b.slot!);
    }
  });
}

/**
 * Planned peak bytes of temporaries and outputs (what `stats().bytes`
 * reports): the storage of every distinct slot, since a slot is allocated
 * once per run and shared by the buffers assigned to it.
 */
export function peakBytes(plan: KernelPlan): number {
  const slotBytes = new Map<number, number>();
  for (const k of plan.kernels) {
    for (const o of k.outputs) {
      const b = plan.buffers[o.buffer];
      slotBytes.set(b.slot!, Math.max(slotBytes.get(b.slot!) ?? 0, b.size * byteSize(b.dtype)));
    }
  }
  let total = 0;
  for (const v of slotBytes.values()) total += v;
  return total;
}
