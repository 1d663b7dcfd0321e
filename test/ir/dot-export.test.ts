import { describe, expect, it } from 'vitest';
import { type Graph, constant, emit, graphFrom, graphToDot, makeNode, param, parseGraph } from '../../ir';
import { randomGraph } from './random-graph';

interface DotSummary {
  /** id -> label of every declared node (DOT escapes decoded). */
  nodes: Map<string, string>;
  edges: [string, string][];
  clusters: number;
}

/**
 * A small structural reader of the DOT subset graphToDot writes: it checks
 * the envelope, balanced braces, and that every line is a node, an edge, a
 * cluster header/footer or a graph attribute, with well-formed quoted strings.
 */
function readDot(text: string): DotSummary {
  const lines = text.split('\n');
  expect(lines[0]).toMatch(/^digraph "(?:[^"\\]|\\.)*" \{$/);
  expect(lines[lines.length - 1]).toBe('}');
  const quoted = String.raw`"(?:[^"\\]|\\.)*"`;
  const nodeRe = new RegExp(String.raw`^\s*(n\d+) \[label=(${quoted})(?:, shape=\w+)?\];$`);
  const edgeRe = new RegExp(String.raw`^\s*(n\d+) -> (n\d+)(?: \[label="\d+"\])?;$`);
  const out: DotSummary = { nodes: new Map(), edges: [], clusters: 0 };
  let depth = 0;
  for (const line of lines) {
    let m: RegExpExecArray | null;
    if (/^digraph /.test(line) || /^\s*subgraph cluster_n\d+ \{$/.test(line)) {
      depth++;
      if (line.includes('subgraph')) out.clusters++;
    } else if (/^\s*\}$/.test(line)) depth--;
    else if ((m = nodeRe.exec(line))) {
      expect(out.nodes.has(m[1]), `node ${m[1]} declared twice`).toBe(false);
      out.nodes.set(m[1], JSON.parse(m[2]) as string);
    } else if ((m = edgeRe.exec(line))) out.edges.push([m[1], m[2]]);
    else expect(line).toMatch(new RegExp(String.raw`^\s*(node \[.*\];|label=${quoted}; style=dashed;)$`));
    expect(depth).toBeGreaterThanOrEqual(0);
  }
  expect(depth).toBe(0);
  for (const [a, b] of out.edges) {
    expect(out.nodes.has(a), `edge source ${a}`).toBe(true);
    expect(out.nodes.has(b), `edge target ${b}`).toBe(true);
  }
  return out;
}

/** Counts of IR nodes, operand edges and outputs, bodies included. */
function census(g: Graph): { irNodes: number; operandEdges: number; outputs: number } {
  let irNodes = g.params.length + g.nodes.length;
  let operandEdges = 0;
  let outputs = g.outputs.length;
  for (const n of g.nodes) {
    operandEdges += n.inputs.length;
    if (n.body) {
      const c = census(n.body);
      irNodes += c.irNodes;
      operandEdges += c.operandEdges;
      outputs += c.outputs;
    }
  }
  return { irNodes, operandEdges, outputs };
}

function checkAgainstGraph(g: Graph): DotSummary {
  const dot = readDot(graphToDot(g));
  const c = census(g);
  const outs = [...dot.nodes.values()].filter((l) => /^out \d+$/.test(l)).length;
  expect(outs).toBe(c.outputs);
  expect(dot.nodes.size - outs).toBe(c.irNodes);
  expect(dot.edges.length).toBe(c.operandEdges + c.outputs);
  return dot;
}

describe('graphToDot', () => {
  it('writes one node per IR node and one labelled edge per operand (small graph)', () => {
    const x = param('f32', [2, 3]);
    const w = param('f32', [3, 4]);
    const y = emit('dot', [x.out, w.out], { batch: [[], []], contract: [[1], [0]] });
    const z = emit('mul', [y, constant(0.5, 'f32')]);
    const s = emit('sum', [z], { axes: [1], keepdims: false });
    const g = graphFrom('loss', [x, w], [s, emit('cast', [s], { dtype: 'i32' })]);
    const text = graphToDot(g);
    const dot = checkAgainstGraph(g);
    expect(text.split('\n')[0]).toBe('digraph "loss" {');
    const labels = [...dot.nodes.values()];
    expect(labels.filter((l) => l.startsWith('param'))).toEqual(['param\nf32[2,3]', 'param\nf32[3,4]']);
    expect(labels).toContain('const 0.5\nf32[]');
    expect(labels).toContain('sum {axes=[1], keepdims=false}\nf32[2]');
    expect(labels).toContain('cast {dtype="i32"}\ni32[2]');
    // The dot node has edges labelled 0 and 1 from the two params.
    const id = (label: string) => [...dot.nodes].find(([, l]) => l.startsWith(label))![0];
    expect(text).toContain(`${id('param\nf32[2,3]')} -> ${id('dot')} [label="0"];`);
    expect(text).toContain(`${id('param\nf32[3,4]')} -> ${id('dot')} [label="1"];`);
  });

  it('draws a vjp body as a cluster with its own nodes', () => {
    const body = parseGraph(
      [
        'graph f(%0: f32[3]) {',
        '  %1 = tanh %0 : f32[3]',
        '  %2 = sum %1 {axes=[0], keepdims=false} : f32[]',
        '  return %2',
        '}',
      ].join('\n'),
    );
    const x = param('f32', [3]);
    const v = makeNode('vjp', [x.out, constant(1, 'f32')], { wrt: [0] }, body);
    const g = graphFrom('gradf', [x], [v.outs[1]]);
    const text = graphToDot(g);
    const dot = checkAgainstGraph(g);
    expect(dot.clusters).toBe(1);
    expect(text).toMatch(/subgraph cluster_n\d+ \{\n\s+label="f"; style=dashed;/);
    expect([...dot.nodes.values()]).toContain('vjp {wrt=[0]}\nf32[], f32[3]');
    expect([...dot.nodes.values()]).toContain('tanh\nf32[3]');
  });

  it('escapes quotes in graph names and labels', () => {
    const x = param('f32', [2]);
    const g = graphFrom('say "hi"', [x], [emit('cast', [x.out], { dtype: 'bool' })]);
    const text = graphToDot(g);
    expect(text.split('\n')[0]).toBe('digraph "say \\"hi\\"" {');
    checkAgainstGraph(g);
  });

  it('is structurally valid for 100 random graphs', () => {
    for (let seed = 0; seed < 100; seed++) checkAgainstGraph(randomGraph(seed * 7919 + 1));
  });
});
