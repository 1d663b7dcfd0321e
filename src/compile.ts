/**
 * From a graph to a runnable program: the pass pipeline (typecheck,
 * autodiff, simplify, cse, dce), fusion, scheduling and backend compilation,
 * cached by the graph's structural key, so a rebuilt graph of the same
 * structure (also with other scalar values) is neither re-planned nor
 * recompiled. Also the inspection stages and the debug output.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Expr, Graph, KernelPlan, Node } from '../ir';
import { byteSize, graphToDot, printGraph } from '../ir';
import type { Backend, CompiledPlan, DeviceBuffer, KernelTiming } from '../backends/backend';
import {
  PassManager,
  autodiff,
  constNodes,
  cse,
  dce,
  decomposePlan,
  fuse,
  schedule,
  simplify,
  structuralKey,
  typecheck,
  type FusionResult,
  peakBytes,
} from '../passes';
import { settings } from './settings';

export const passManager = new PassManager()
  .register('typecheck', typecheck)
  .register('autodiff', autodiff)
  .register('simplify', simplify)
  .register('cse', cse)
  .register('dce', dce);

const PIPELINE = ['typecheck', 'autodiff', 'simplify', 'cse', 'dce', 'simplify', 'dce'];

export interface Program {
  readonly graph: Graph;
  readonly grad: Graph;
  readonly optimized: Graph;
  readonly fused: FusionResult;
  readonly plan: KernelPlan;
  readonly compiled: CompiledPlan;
  readonly backend: Backend;
  /** For each plan scalar: index into the source graph's constant list, or -1 (fixed value). */
  readonly scalarSources: readonly number[];
  /** For each plan capture: index into the source graph's buffer-leaf list. */
  readonly captureSources: readonly number[];
}

/** Constants and captured buffers of a graph, in a deterministic order (bodies included). */
export function graphLeaves(g: Graph): { consts: Node[]; buffers: Node[] } {
  const consts: Node[] = [];
  const buffers: Node[] = [];
  const seen = new Set<Node>();
  const walk = (gr: Graph) => {
    for (const n of gr.nodes) {
      if (seen.has(n)) continue;
      seen.add(n);
      if (n.op === 'const') consts.push(n);
      else if (n.op === 'buffer') buffers.push(n);
      if (n.body) walk(n.body);
    }
  };
  walk(g);
  return { consts, buffers };
}

const programCache = new Map<string, Program>();

export interface CompileOptions {
  readonly backend: Backend;
  readonly fusion: boolean;
  /** Storage reuse between temporaries (default on). */
  readonly reuse?: boolean;
  /** Donated parameter indices (jit's `donate`). */
  readonly donated?: ReadonlySet<number>;
}

/** A number per backend instance: compiled programs hold that instance's kernels (its memory, on wasm). */
const backendIds = new WeakMap<Backend, number>();
let nextBackendId = 0;
function backendId(b: Backend): number {
  let id = backendIds.get(b);
  if (id === undefined) backendIds.set(b, (id = nextBackendId++));
  return id;
}

export function compileGraph(g: Graph, opts: CompileOptions): Program {
  const key = `${opts.backend.mode}#${backendId(opts.backend)}|${opts.fusion}|${opts.reuse ?? true}|${[...(opts.donated ?? [])]}|${structuralKey(g)}`;
  const hit = programCache.get(key);
  if (hit) return hit;
  const prog = buildProgram(g, opts);
  if (programCache.size > 2000) programCache.clear();
  programCache.set(key, prog);
  return prog;
}

function buildProgram(g: Graph, opts: CompileOptions): Program {
  const dump = settings.debug >= 2 && settings.debug !== 3;
  let grad: Graph = g;
  const { graph: optimized } = passManager.run(g, PIPELINE, {
    after: (pass, gr) => {
      if (pass === 'autodiff') grad = gr;
      if (dump) console.log(`--- ${g.name} after ${pass} ---\n${printGraph(gr)}`);
    },
  });
  const fused = fuse(optimized, { fusion: opts.fusion, limits: opts.backend.limits });
  const scheduled = schedule(fused, {
    reuse: opts.reuse ?? true,
    donated: opts.donated,
    inPlaceWithinKernel: opts.backend.limits.inPlaceWithinKernel,
  });
  const plan = decomposePlan(scheduled, opts.backend.limits.nativeOps);
  const compiled = opts.backend.compile(plan);
  if (settings.debug >= 3) for (const s of compiled.sources) console.log(`--- kernel ${s.name} ---\n${s.source}`);
  const leaves = graphLeaves(g);
  const sourceConsts = new Map(leaves.consts.map((n, i) => [n, i]));
  // Plan scalars index the optimised graph's constants; map them back to the source graph's.
  const optimizedConsts = constNodes(optimized);
  const scalarSources = plan.scalars.map((s) => sourceConsts.get(optimizedConsts[s.source]) ?? -1);
  const bufIndex = new Map<unknown, number>(leaves.buffers.map((n, i) => [n.data ?? n, i]));
  const captureSources = plan.captures.map((d) => {
    const i = bufIndex.get(d);
    if (i === undefined) throw new Error('compile: a captured buffer is not in the source graph');
    return i;
  });
  const prog: Program = {
    graph: g,
    grad,
    optimized,
    fused,
    plan,
    compiled,
    backend: opts.backend,
    scalarSources,
    captureSources,
  };
  if (settings.dumpDir) dumpProgram(prog, settings.dumpDir);
  return prog;
}

let dumpCounter = 0;
function dumpProgram(p: Program, dir: string): void {
  mkdirSync(dir, { recursive: true });
  const base = join(dir, `${String(dumpCounter++).padStart(3, '0')}_${p.graph.name}`);
  for (const [stage, gr] of [
    ['traced', p.graph],
    ['grad', p.grad],
    ['optimized', p.optimized],
  ] as const) {
    writeFileSync(`${base}.${stage}.ir`, printGraph(gr) + '\n');
    writeFileSync(`${base}.${stage}.dot`, graphToDot(gr) + '\n');
  }
  writeFileSync(`${base}.fused.ir`, fusedText(p) + '\n');
  writeFileSync(`${base}.kernels.${p.backend.sourceExtension ?? 'js'}`, kernelsText(p) + '\n');
}

/** The `fused` stage: the optimised graph grouped into kernels. */
export function fusedText(p: Program): string {
  const lines: string[] = [];
  p.plan.kernels.forEach((k, i) => {
    const ins = k.inputs.map((b) => `b${b}`).join(', ');
    const outs = k.outputs.map((o) => `b${o.buffer}`).join(', ');
    lines.push(`kernel ${i} ${k.name}: ${outs} = [${k.ops.join(', ')}](${ins}) over [${k.shape.join(',')}]`);
  });
  p.plan.buffers.forEach((b) =>
    lines.push(
      `  b${b.id}: ${b.dtype}[${b.shape.join(',')}] ${b.role}${b.slot !== undefined ? ` slot ${b.slot}` : ''}`,
    ),
  );
  return lines.join('\n');
}

export function kernelsText(p: Program): string {
  return p.compiled.sources.map((s) => `// kernel ${s.name}\n${s.source}`).join('\n\n');
}

export function programStats(p: Program): { nodes: number; kernels: number; bytes: number } {
  return { nodes: p.optimized.nodes.length, kernels: p.plan.kernels.length, bytes: peakBytes(p.plan) };
}

/** The scalar values and captured leaves a program needs from a graph of its structure. */
export function programInputs(p: Program, g: Graph): { scalars: number[]; captures: Node[] } {
  const leaves = graphLeaves(g);
  const scalars = p.plan.scalars.map((s, i) =>
    p.scalarSources[i] >= 0 ? (leaves.consts[p.scalarSources[i]].attrs.value as number) : s.value,
  );
  return { scalars, captures: p.captureSources.map((i) => leaves.buffers[i]) };
}

/** Runs a program for a graph of its structure: params' buffers, then the graph's own constants and captures. */
export function runProgram(
  p: Program,
  g: Graph,
  params: readonly DeviceBuffer[],
  captureBuffer: (n: Node) => DeviceBuffer,
  donated?: ReadonlySet<number>,
): DeviceBuffer[] {
  const { scalars, captures } = programInputs(p, g);
  return runPrepared(p, params, captures.map(captureBuffer), scalars, donated);
}

export function runPrepared(
  p: Program,
  params: readonly DeviceBuffer[],
  captures: readonly DeviceBuffer[],
  scalars: readonly number[],
  donated?: ReadonlySet<number>,
): DeviceBuffer[] {
  const onKernel = settings.debug >= 1 ? (t: KernelTiming) => debugLine(t, p.plan) : undefined;
  return p.backend.run(p.compiled, params, captures, scalars, { onKernel, donated });
}

/** LAZYGRAD_DEBUG=1: one line per kernel with its time, its rate (GFLOP/s and GB/s moved) and the ops fused into it. */
function debugLine({ kernel, ms }: KernelTiming, plan: KernelPlan): void {
  const elems = kernel.shape.reduce((a, b) => a * b, 1);
  let flops = 0;
  const seen = new Set<unknown>();
  const walk = (e: Expr, mult: number) => {
    if (seen.has(e)) return;
    seen.add(e);
    if (e.kind === 'op') flops += mult;
    if (e.kind === 'reduce') {
      mult *= e.vars.reduce((a, v) => a * v.size, 1);
      flops += mult; // the accumulation
    }
    if (e.kind === 'op') e.args.forEach((a) => walk(a, mult));
    if (e.kind === 'reduce') walk(e.body, mult);
  };
  kernel.outputs.forEach((o) => walk(o.expr, elems));
  const bufferBytes = (id: number) => plan.buffers[id].size * byteSize(plan.buffers[id].dtype);
  const bytes = [...kernel.inputs, ...kernel.outputs.map((o) => o.buffer)].reduce((a, id) => a + bufferBytes(id), 0);
  const rate = ms > 0 ? `${(flops / ms / 1e6).toFixed(2)} GFLOP/s ${(bytes / ms / 1e6).toFixed(2)} GB/s` : '-';
  console.log(
    `[lazygrad] ${kernel.name.padEnd(32)} ${ms.toFixed(3).padStart(9)} ms  ${rate.padStart(26)}  [${kernel.ops.join(', ')}]`,
  );
}
