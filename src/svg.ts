/**
 * SVG from Graphviz DOT, rendered in-process by Graphviz compiled to
 * WebAssembly (@viz-js/viz): no system `dot` binary needed, in Node or a
 * browser. The module instance is made once and reused.
 */
import { instance } from '@viz-js/viz';
import { LazygradError } from '../ir';

let viz: ReturnType<typeof instance> | undefined;

export async function dotToSvg(dot: string): Promise<string> {
  if (typeof dot !== 'string') throw new LazygradError(`dotToSvg: expected DOT source text, got ${typeof dot}`);
  viz ??= instance();
  const result = (await viz).render(dot, { format: 'svg' });
  if (result.status !== 'success') {
    const why = result.errors.map((e) => e.message).join('; ');
    throw new LazygradError(`dotToSvg: Graphviz could not render the graph: ${why || 'unknown error'}`);
  }
  return result.output;
}
