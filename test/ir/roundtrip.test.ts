import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  type Graph,
  bufferLeaf,
  constant,
  emit,
  graphFrom,
  makeNode,
  param,
  parseGraph,
  printGraph,
  verifyGraph,
} from '../../ir';
import { NASTY_FLOATS, randomGraph } from './random-graph';

const roundTrip = (g: Graph) => printGraph(parseGraph(printGraph(g)));

describe('print -> parse -> print', () => {
  it('is the identity on 400 random graphs over every op family', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (seed) => {
        const g = randomGraph(seed);
        verifyGraph(g);
        const text = printGraph(g);
        for (const m of text.matchAll(/= (\w+)/g)) seen.add(m[1]);
        const back = parseGraph(text);
        verifyGraph(back);
        expect(printGraph(back)).toBe(text);
      }),
      { seed: 20240611, numRuns: 400 },
    );
    // The generator really covered the op table (not a vacuous property).
    for (const op of [
      'add',
      'lt',
      'where',
      'sum',
      'max',
      'reshape',
      'permute',
      'expand',
      'slice',
      'pad',
      'concat',
      'gather',
      'cast',
      'dot',
      'iota',
      'const',
      'buffer',
      'random',
      'vjp',
      'exp',
      'not',
    ]) {
      expect(seen, op).toContain(op);
    }
  });

  it('keeps every constant value bit-exactly, -0, inf, -inf and nan included', () => {
    const x = param('f32', [3]);
    const outs = NASTY_FLOATS.map((v) => emit('mul', [x.out, constant(v, 'f32')]));
    const g = graphFrom('consts', [x], outs);
    const text = printGraph(g);
    expect(text).toContain('const -0 : f32[]');
    expect(text).toContain('const inf : f32[]');
    expect(text).toContain('const -inf : f32[]');
    expect(text).toContain('const nan : f32[]');
    const back = parseGraph(text);
    const values = back.nodes.filter((n) => n.op === 'const').map((n) => n.attrs.value);
    expect(values).toHaveLength(NASTY_FLOATS.length);
    values.forEach((v, i) => expect(Object.is(v, NASTY_FLOATS[i]), `${v} vs ${NASTY_FLOATS[i]}`).toBe(true));
    expect(printGraph(back)).toBe(text);
  });

  it('keeps non-finite and -0 numbers inside attributes (pad value)', () => {
    for (const value of [-Infinity, Infinity, NaN, -0, 2.5]) {
      const x = param('f32', [2]);
      const g = graphFrom('p', [x], [emit('pad', [x.out], { pads: [[1, 0]], value })]);
      const back = parseGraph(printGraph(g));
      expect(Object.is(back.nodes[0].attrs.value, value), String(value)).toBe(true);
      expect(printGraph(back)).toBe(printGraph(g));
    }
  });

  it('reads the SPEC example and prints it back unchanged', () => {
    const spec = [
      'graph loss(%0: f32[128,784], %1: f32[784,10], %2: i32[128]) {',
      '  %3 = dot %0, %1 {batch=[[],[]], contract=[[1],[0]]} : f32[128,10]',
      '  %4 = const 0.5 : f32[]',
      '  %5 = mul %3, %4 : f32[128,10]',
      '  %6 = sum %5 {axes=[1], keepdims=false} : f32[128]',
      '  return %6',
      '}',
    ].join('\n');
    const g = parseGraph(spec);
    expect(g.name).toBe('loss');
    expect(g.params.map((p) => p.types[0])).toEqual([
      { dtype: 'f32', shape: [128, 784] },
      { dtype: 'f32', shape: [784, 10] },
      { dtype: 'i32', shape: [128] },
    ]);
    expect(g.nodes.map((n) => n.op)).toEqual(['dot', 'const', 'mul', 'sum']);
    expect(g.outputs[0].shape).toEqual([128]);
    expect(printGraph(g)).toBe(spec);
  });

  it('prints multi-output nodes and nested vjp bodies, and reads them back', () => {
    const bx = param('f32', [3]);
    const body = graphFrom('f', [bx], [emit('sum', [emit('mul', [bx.out, bx.out])], { axes: [0], keepdims: false })]);
    const x = param('f32', [3]);
    const v = makeNode('vjp', [x.out, constant(1, 'f32')], { wrt: [0] }, body);
    const g = graphFrom('outer', [x], [v.outs[0], v.outs[1]]);
    const text = printGraph(g);
    expect(text).toBe(
      [
        'graph outer(%0: f32[3]) {',
        '  %1 = const 1 : f32[]',
        '  %2, %3 = vjp %0, %1 {wrt=[0]} : f32[], f32[3]',
        '    graph f(%0: f32[3]) {',
        '      %1 = mul %0, %0 : f32[3]',
        '      %2 = sum %1 {axes=[0], keepdims=false} : f32[]',
        '      return %2',
        '    }',
        '  return %2, %3',
        '}',
      ].join('\n'),
    );
    expect(roundTrip(g)).toBe(text);
  });
});

describe('buffer leaves', () => {
  it('print as `buffer #k` numbered by first appearance, not by creation order', () => {
    const dataB = { name: 'B' };
    const dataA = { name: 'A' };
    const b = bufferLeaf('f32', [2], dataB); // created first, read second
    const a = bufferLeaf('f32', [2], dataA);
    const a2 = bufferLeaf('f32', [2], dataA); // the same captured tensor again
    const out = emit('add', [emit('add', [a, b]), a2]);
    const g = graphFrom('bufs', [], [out]);
    const text = printGraph(g);
    expect(text.split('\n').filter((l) => l.includes('buffer'))).toEqual([
      '  %0 = buffer #0 : f32[2]',
      '  %1 = buffer #1 : f32[2]',
      '  %3 = buffer #0 : f32[2]',
    ]);
    // Independent of what was printed before.
    printGraph(graphFrom('other', [], [bufferLeaf('f32', [1], { name: 'C' })]));
    expect(printGraph(g)).toBe(text);
    expect(roundTrip(g)).toBe(text);
  });

  it('parse hands the given data to `#k` and keeps one buffer one', () => {
    const text = [
      'graph anonymous() {',
      '  %0 = buffer #1 : i32[3]',
      '  %1 = buffer #0 : i32[3]',
      '  %2 = buffer #1 : i32[3]',
      '  %3 = add %0, %1 : i32[3]',
      '  %4 = mul %3, %2 : i32[3]',
      '  return %4',
      '}',
    ].join('\n');
    const data = [{ d: 0 }, { d: 1 }];
    const g = parseGraph(text, { buffers: data });
    const leaves = g.nodes.filter((n) => n.op === 'buffer');
    expect(leaves.map((n) => n.data)).toEqual([data[1], data[0], data[1]]);
    expect(leaves[0].data).toBe(leaves[2].data);
    // Renumbered by first appearance when printed again.
    const lines = printGraph(g).split('\n');
    expect(lines.slice(1, 4)).toEqual([
      '  %0 = buffer #0 : i32[3]',
      '  %1 = buffer #1 : i32[3]',
      '  %2 = buffer #0 : i32[3]',
    ]);
  });

  it('numbers buffers in a vjp body together with the outer graph', () => {
    const shared = { name: 'W' };
    const bx = param('f32', [2]);
    const body = graphFrom(
      'f',
      [bx],
      [emit('sum', [emit('mul', [bx.out, bufferLeaf('f32', [2], shared)])], { axes: [0], keepdims: false })],
    );
    const x = param('f32', [2]);
    const other = bufferLeaf('f32', [2], { name: 'V' });
    const v = makeNode('vjp', [emit('add', [x.out, other]), constant(1, 'f32')], { wrt: [0] }, body);
    const g = graphFrom('outer', [x], [emit('add', [v.outs[1], bufferLeaf('f32', [2], shared)])]);
    const text = printGraph(g);
    expect(text).toContain('  %1 = buffer #0 : f32[2]');
    expect(text).toContain('      %1 = buffer #1 : f32[2]');
    expect(text).toContain('  %6 = buffer #1 : f32[2]');
    expect(roundTrip(g)).toBe(text);
  });
});
