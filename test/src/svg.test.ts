/**
 * SVG rendering runs in-process (Graphviz compiled to WebAssembly), so
 * `lazygrad ir --format svg` works without a system `dot` binary.
 */
import { describe, expect, it } from 'vitest';
import * as lg from '../../src/index';
import { dotToSvg } from '../../src/svg';

const nodeGroups = (svg: string) => (svg.match(/<g id="[^"]*" class="node">/g) ?? []).length;

describe('dotToSvg', () => {
  it('renders a hand-written DOT graph: an <svg> with one node group per node', async () => {
    const svg = await dotToSvg('digraph g { a -> b; b -> c; a -> c }');
    expect(svg).toMatch(/<svg[\s>]/);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(nodeGroups(svg)).toBe(3);
    expect((svg.match(/class="edge"/g) ?? []).length).toBe(3);
  });

  it("renders a lowered program's DOT: param, const, add and the output marker are four nodes", async () => {
    const dot = lg
      .jit((x: lg.Tensor) => x.add(1))
      .lower(lg.ones([2]))
      .dot('traced');
    const svg = await dotToSvg(dot);
    expect(nodeGroups(svg)).toBe(4);
    expect(svg).toContain('add');
  });

  it('malformed DOT is a LazygradError naming the renderer', async () => {
    await expect(dotToSvg('digraph { a -> ')).rejects.toThrow(lg.LazygradError);
    await expect(dotToSvg('digraph { a -> ')).rejects.toThrow(/dotToSvg: Graphviz could not render/);
    await expect(dotToSvg(5 as never)).rejects.toThrow(lg.LazygradError);
  });
});
