/**
 * The pass manager: named graph -> graph passes, run in order, each timed,
 * with a hook that sees the graph after every pass (dumps, debug output).
 */
import type { Graph } from '../ir';

export type GraphPass = (g: Graph) => Graph;

export interface PassTiming {
  readonly pass: string;
  readonly ms: number;
}

export interface PassRunOptions {
  /** Called with the graph after each pass. */
  readonly after?: (pass: string, g: Graph) => void;
}

export class PassManager {
  private readonly passes = new Map<string, GraphPass>();

  register(name: string, pass: GraphPass): this {
    this.passes.set(name, pass);
    return this;
  }

  has(name: string): boolean {
    return this.passes.has(name);
  }

  names(): string[] {
    return [...this.passes.keys()];
  }

  run(g: Graph, pipeline: readonly string[], opts: PassRunOptions = {}): { graph: Graph; timings: PassTiming[] } {
    const timings: PassTiming[] = [];
    for (const name of pipeline) {
      const pass = this.passes.get(name);
      if (!pass) throw new Error(`pass manager: no pass named '${name}' (have ${this.names().join(', ')})`);
      const t0 = performance.now();
      g = pass(g);
      timings.push({ pass: name, ms: performance.now() - t0 });
      opts.after?.(name, g);
    }
    return { graph: g, timings };
  }
}
