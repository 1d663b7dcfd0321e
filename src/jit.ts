/**
 * jit: traces a function once per input signature (pytree structure, every
 * leaf's shape and dtype, number kinds, static argument values) into one
 * graph, compiles it through the pass pipeline to a kernel plan, and on
 * later calls with the same signature runs the cached plan directly: no
 * retracing and no graph walks on the hot path.
 */
import { type Node, type Graph, LazygradError, bufferLeaf, graphFrom, graphToDot, param, printGraph } from '../ir';
import type { DeviceBuffer } from '../backends/backend';
import {
  compileGraph,
  fusedText,
  kernelsText,
  programInputs,
  programStats,
  runPrepared,
  type Program,
} from './compile';
import { rngState } from './creation';
import { flattenTree, treeDefKey, unflattenTree, type TreeDef } from './pytree';
import { type BackendName, backendByName, settings } from './settings';
import { Storage } from './storage';
import { Tensor } from './tensor';
import { isTracing, withTrace, type Trace } from './trace';
import { realizeTensors } from './realize';
import { checkOptions, describeValue, rules } from './option-check';

export interface JitOptions {
  fusion?: boolean;
  backend?: BackendName;
  /**
   * Argument indices whose tensors' buffers may be reused for outputs; the
   * donated tensors cannot be used after the call. A donated buffer that is
   * also passed in another argument slot (the same tensor twice, tied
   * parameters in a pytree) or captured by the function is not overwritten
   * on that call: it is treated as not donated (the output gets a fresh
   * buffer), so aliasing never gives wrong numbers.
   */
  donate?: number | number[];
  /** Argument indices that are part of the signature (axes, shapes, flags). */
  static?: number | number[];
  /** Reuse the storage of dead temporaries (default true; off only to measure what it saves). */
  reuse?: boolean;
}

export type Stage = 'traced' | 'grad' | 'optimized' | 'fused' | 'kernels';

export interface Lowered {
  ir(stage?: Stage): string;
  dot(stage?: Stage): string;
  stats(): { nodes: number; kernels: number; bytes: number };
}

type Fn = (...args: any[]) => any; // eslint-disable-line @typescript-eslint/no-explicit-any

interface Entry {
  readonly prog: Program;
  readonly graph: Graph;
  readonly outDef: TreeDef;
  readonly rngDraws: number;
  readonly usesRng: boolean;
  readonly scalars: readonly number[];
  readonly captures: readonly Node[];
  /** Parameter indices whose buffers are donated. */
  readonly donatedParams: ReadonlySet<number>;
}

const asList = (x: number | number[] | undefined) => (x === undefined ? [] : typeof x === 'number' ? [x] : x);

export interface Jitted extends Fn {
  lower(...args: unknown[]): Lowered;
  /** How many times the function has been traced (a test and debugging aid). */
  readonly traceCount: number;
}

export function jit<F extends Fn>(f: F, opts: JitOptions = {}): F & Jitted {
  if (typeof f !== 'function') throw new LazygradError(`jit: expected a function, got ${describeValue(f)}`);
  opts = checkJitOptions('jit', opts);
  const statics = new Set(asList(opts.static));
  const donate = new Set(asList(opts.donate));
  const both = [...donate].find((i) => statics.has(i));
  if (both !== undefined)
    throw new LazygradError(
      `jit: argument ${both} is in both donate and static; a static argument has no buffer to donate`,
    );
  const indexed: [string, number[]][] = [
    ['donate', [...donate]],
    ['static', [...statics]],
  ];
  const cache = new Map<string, Entry>();
  let traces = 0;

  const backendName = () => opts.backend ?? settings.backendName;
  const fusion = () => opts.fusion ?? settings.fusion;

  /** Flattens the arguments; returns the cache signature and the dynamic leaves. */
  const analyse = (args: unknown[]) => {
    for (const [name, list] of indexed) {
      const bad = list.find((i) => i >= args.length);
      if (bad !== undefined)
        throw new LazygradError(
          `jit: option ${name} names argument ${bad}, but the function was called with ${args.length} argument(s) (indices 0..${args.length - 1})`,
        );
    }
    const sig: string[] = [backendName(), String(fusion()), String(args.length)];
    const leaves: (Tensor | number)[] = [];
    args.forEach((a, i) => {
      if (statics.has(i)) {
        let key: string;
        try {
          key = JSON.stringify(a);
        } catch {
          throw new LazygradError(
            `jit: static argument ${i} must be JSON-serialisable (a number, string, array or plain object)`,
          );
        }
        sig.push(`s${i}=${key}`);
        return;
      }
      const { leaves: ls, def } = flattenTree(a);
      sig.push(treeDefKey(def));
      for (const l of ls) {
        if (l instanceof Tensor) {
          l._check('jit');
          sig.push(`${l._dtype}[${l._value.shape}]`);
          leaves.push(l);
        } else if (typeof l === 'number') {
          sig.push(Number.isInteger(l) ? 'int' : 'float');
          leaves.push(l);
        } else {
          throw new LazygradError(
            `jit: argument ${i} ${ls.length === 1 && def.kind === 'leaf' ? 'is' : 'holds'} ${describeValue(l)}; arguments must be tensors, numbers or pytrees of them (mark other values static: {static: [${i}]})`,
          );
        }
      }
    });
    return { sig: sig.join('|'), leaves };
  };

  const trace = (args: unknown[]): Entry => {
    traces++;
    const params: Node[] = [];
    const donatedParams = new Set<number>();
    const tracedArgs = args.map((arg, i) => {
      if (statics.has(i)) return arg;
      const { leaves, def } = flattenTree(arg);
      return unflattenTree(
        def,
        leaves.map((l) => {
          if (l instanceof Tensor) {
            if (donate.has(i)) donatedParams.add(params.length);
            const p = param(l._value.dtype, l._value.shape);
            params.push(p);
            return new Tensor(p.out);
          }
          if (typeof l === 'number') {
            // Numbers are weakly typed 0-d inputs: integers as int32, others float32.
            const p = param(Number.isInteger(l) ? 'i32' : 'f32', []);
            params.push(p);
            return new Tensor(p.out);
          }
          return l;
        }),
      );
    });
    const tr: Trace = { kind: 'jit', rngOffset: 0 };
    const result = withTrace(tr, () => f(...tracedArgs));
    const fo = flattenTree(result);
    const outs = fo.leaves.map((l) => {
      if (!(l instanceof Tensor))
        throw new LazygradError(`jit: the function must return tensors or pytrees of tensors, got a ${typeof l}`);
      return l._value;
    });
    if (tr.rngKey) params.push(tr.rngKey);
    let graph: Graph;
    try {
      graph = graphFrom(f.name || 'anonymous', params, outs);
    } catch (e) {
      throw new LazygradError(
        `jit: the function's results depend on values traced elsewhere (${(e as Error).message})`,
      );
    }
    const backend = backendByName(backendName());
    const prog = compileGraph(graph, { backend, fusion: fusion(), donated: donatedParams, reuse: opts.reuse ?? true });
    const { scalars, captures } = programInputs(prog, graph);
    return {
      prog,
      graph,
      outDef: fo.def,
      rngDraws: tr.rngOffset,
      usesRng: !!tr.rngKey,
      scalars,
      captures,
      donatedParams,
    };
  };

  const entryFor = (args: unknown[]) => {
    const a = analyse(args);
    let e = cache.get(a.sig);
    if (!e) {
      e = trace(args);
      cache.set(a.sig, e);
    }
    return { e, a };
  };

  const call = (...args: unknown[]) => {
    if (isTracing()) return f(...args); // nested jit: inline into the enclosing trace
    const { e, a } = entryFor(args);
    const backend = e.prog.backend;
    realizeTensors(
      a.leaves.filter((v): v is Tensor => v instanceof Tensor),
      'jit',
    );
    // Buffers made for this call only (numbers, the random key, tensors living on another backend).
    const uploaded: DeviceBuffer[] = [];
    const fresh = (b: DeviceBuffer) => (uploaded.push(b), b);
    const on = (s: Storage) => (s.backend === backend ? s.on(backend, 'jit') : fresh(s.on(backend, 'jit')));
    // Parameters in leaf order; numbers travel as 0-d int32 or float32 buffers, as traced.
    const params: DeviceBuffer[] = a.leaves.map((v) =>
      v instanceof Tensor ? on(v._storage!) : fresh(backend.upload(Number.isInteger(v) ? 'i32' : 'f32', [v])),
    );
    if (e.usesRng) {
      const rng = rngState();
      params.push(fresh(backend.upload('i32', [rng.seed, rng.counter])));
      rng.counter = (rng.counter + e.rngDraws) | 0;
    }
    const captures = e.captures.map((n) => on(n.data as Storage));
    const outs = runPrepared(
      e.prog,
      params,
      captures,
      e.scalars,
      donatable(e.donatedParams, a.leaves, params, captures),
    );
    // The call's own uploads are dead now, unless an output took one over or the run freed it (donated).
    const kept = new Set([...outs, ...[...e.donatedParams].map((i) => params[i])]);
    for (const b of uploaded) if (!kept.has(b)) backend.free(b);
    // Donated tensors are spent: their buffers may now hold outputs.
    a.leaves.forEach((v, i) => {
      if (e.donatedParams.has(i) && v instanceof Tensor) v._storage!.release('donated');
    });
    const results = outs.map((b, i) => {
      const v = e.graph.outputs[i];
      return new Tensor(bufferLeaf(v.dtype, v.shape, new Storage(backend, b)));
    });
    return unflattenTree(e.outDef, results);
  };

  const lower = (...args: unknown[]): Lowered => {
    const { e } = entryFor(args);
    const p = e.prog;
    const graphs: Record<string, Graph> = { traced: e.graph, grad: p.grad, optimized: p.optimized };
    return {
      ir: (stage: Stage = 'optimized') => {
        if (stage in graphs) return printGraph(graphs[stage]);
        if (stage === 'fused') return fusedText(p);
        if (stage === 'kernels') return kernelsText(p);
        throw new LazygradError(
          `lower().ir: unknown stage '${stage}' (expected traced, grad, optimized, fused or kernels)`,
        );
      },
      dot: (stage: Stage = 'optimized') => {
        if (stage in graphs) return graphToDot(graphs[stage]);
        if (stage === 'fused' || stage === 'kernels') return kernelsDot(p);
        throw new LazygradError(`lower().dot: unknown stage '${stage}'`);
      },
      stats: () => programStats(p),
    };
  };

  Object.defineProperty(call, 'traceCount', { get: () => traces });
  return Object.assign(call, { lower }) as unknown as F & Jitted;
}

/** The kernel graph as DOT: kernels as boxes, buffers as edges. */
function kernelsDot(p: Program): string {
  const lines = ['digraph kernels {', '  node [shape=box, fontname="monospace", fontsize=10];'];
  const producer = new Map<number, string>();
  p.plan.buffers.forEach((b) => {
    if (b.role === 'input' || b.role === 'capture') {
      lines.push(`  b${b.id} [label="${b.role} b${b.id}\\n${b.dtype}[${b.shape}]", shape=ellipse];`);
      producer.set(b.id, `b${b.id}`);
    }
  });
  p.plan.kernels.forEach((k, i) => {
    lines.push(`  k${i} [label="${k.name}\\n[${k.ops.join(', ')}]\\n[${k.shape}]"];`);
    k.inputs.forEach((b) => lines.push(`  ${producer.get(b)} -> k${i};`));
    k.outputs.forEach((o) => producer.set(o.buffer, `k${i}`));
  });
  p.plan.outputs.forEach((b, i) =>
    lines.push(`  out${i} [shape=plaintext, label="out ${i}"];`, `  ${producer.get(b)} -> out${i};`),
  );
  lines.push('}');
  return lines.join('\n');
}

/**
 * The donated parameters whose buffers may really be overwritten: not those
 * whose memory the user holds from `dataSync`, and not those whose buffer is
 * also passed in another argument slot (donated or not, anywhere in the
 * pytrees) or captured by the function: overwriting it would change what the
 * other slot reads. Such a parameter is treated as not donated for this call
 * (its output gets a fresh buffer): donation saves memory, it never changes
 * what the user can see.
 */
function donatable(
  donated: ReadonlySet<number>,
  leaves: readonly unknown[],
  params: readonly DeviceBuffer[],
  captures: readonly DeviceBuffer[],
): ReadonlySet<number> {
  if (!donated.size) return donated;
  const uses = new Map<DeviceBuffer, number>();
  for (const b of [...params, ...captures]) uses.set(b, (uses.get(b) ?? 0) + 1);
  const keep = (i: number) =>
    !(leaves[i] instanceof Tensor && (leaves[i] as Tensor)._storage!.exposed) && uses.get(params[i]) === 1;
  return [...donated].every(keep) ? donated : new Set([...donated].filter(keep));
}

const isIndex = rules.nonNegativeInt.ok;
const indexRule = {
  expected: 'an argument index (a non-negative integer) or an array of them',
  ok: (v: unknown) => isIndex(v) || (Array.isArray(v) && v.every(isIndex)),
};

function checkJitOptions(what: string, opts: unknown): JitOptions {
  return checkOptions<JitOptions>(what, opts, {
    fusion: rules.boolean,
    backend: { expected: 'a backend name (a string)', ok: (v) => typeof v === 'string' },
    donate: indexRule,
    static: indexRule,
    reuse: rules.boolean,
  });
}

/** The traced IR of `f` at these arguments, like jax.make_jaxpr. */
export function makeIR(f: Fn, opts: JitOptions = {}): (...args: unknown[]) => string {
  if (typeof f !== 'function') throw new LazygradError(`makeIR: expected a function, got ${describeValue(f)}`);
  opts = checkJitOptions('makeIR', opts);
  return (...args: unknown[]) =>
    jit(f, opts)
      .lower(...args)
      .ir('traced');
}
