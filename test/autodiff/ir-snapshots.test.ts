/**
 * The vjp IR before and after expansion, pinned as inline snapshots. The
 * traced graphs are written in SPEC's text form (so this also tests that a
 * `vjp` node with its nested body parses and round-trips), expanded by the
 * autodiff pass, cleaned by DCE and printed again. The expanded graphs were
 * checked by hand: d/dx sum(tanh(x) * x) = tanh(x) + x (1 - tanh(x)^2),
 * d²/dx² sin(x) = -sin(x).
 */
import { describe, it, expect } from 'vitest';
import { parseGraph, printGraph, verifyGraph, type Graph } from '../../ir';
import { autodiff, dce } from '../../passes';

const expand = (g: Graph) => dce(autodiff(g));

/** print(parse(print(g))) == print(g), and parsing the given text gives it back verbatim. */
function roundTrip(text: string): Graph {
  const g = parseGraph(text);
  const printed = printGraph(g);
  expect(printed).toBe(text);
  expect(printGraph(parseGraph(printed))).toBe(printed);
  verifyGraph(g);
  return g;
}

const GRAD_TANH_X = `graph grad_f(%0: f32[3]) {
  %1 = const 1 : f32[]
  %2, %3 = vjp %0, %1 {wrt=[0]} : f32[], f32[3]
    graph f(%0: f32[3]) {
      %1 = tanh %0 : f32[3]
      %2 = mul %1, %0 : f32[3]
      %3 = sum %2 {axes=[0], keepdims=false} : f32[]
      return %3
    }
  return %2, %3
}`;

const GRAD_GRAD_SIN = `graph grad2_sin(%0: f32[]) {
  %1 = const 1 : f32[]
  %2, %3 = vjp %0, %1 {wrt=[0]} : f32[], f32[]
    graph dsin(%0: f32[]) {
      %1 = const 1 : f32[]
      %2, %3 = vjp %0, %1 {wrt=[0]} : f32[], f32[]
        graph sin(%0: f32[]) {
          %1 = sin %0 : f32[]
          return %1
        }
      return %3
    }
  return %3
}`;

// Only reachable through the IR: the frontend never emits an f32 -> f32 cast.
const GRAD_CAST = `graph grad_cast(%0: f32[2], %1: f32[2]) {
  %2, %3 = vjp %0, %1 {wrt=[0]} : f32[2], f32[2]
    graph cast_sq(%0: f32[2]) {
      %1 = cast %0 {dtype="f32"} : f32[2]
      %2 = cast %0 {dtype="i32"} : i32[2]
      %3 = cast %2 {dtype="f32"} : f32[2]
      %4 = mul %1, %3 : f32[2]
      return %4
    }
  return %3
}`;

describe('vjp IR snapshots', () => {
  it('f(x) = sum(tanh(x) * x) on f32[3]: traced and expanded', () => {
    const g = roundTrip(GRAD_TANH_X);
    expect(printGraph(g)).toMatchInlineSnapshot(`
      "graph grad_f(%0: f32[3]) {
        %1 = const 1 : f32[]
        %2, %3 = vjp %0, %1 {wrt=[0]} : f32[], f32[3]
          graph f(%0: f32[3]) {
            %1 = tanh %0 : f32[3]
            %2 = mul %1, %0 : f32[3]
            %3 = sum %2 {axes=[0], keepdims=false} : f32[]
            return %3
          }
        return %2, %3
      }"
    `);
    const e = expand(g);
    verifyGraph(e);
    expect(printGraph(e)).toMatchInlineSnapshot(`
      "graph grad_f(%0: f32[3]) {
        %1 = tanh %0 : f32[3]
        %2 = mul %1, %0 : f32[3]
        %3 = sum %2 {axes=[0], keepdims=false} : f32[]
        %4 = const 1 : f32[]
        %5 = reshape %4 {shape=[1]} : f32[1]
        %6 = expand %5 {shape=[3]} : f32[3]
        %7 = mul %6, %1 : f32[3]
        %8 = mul %6, %0 : f32[3]
        %9 = const 1 : f32[]
        %10 = mul %1, %1 : f32[3]
        %11 = sub %9, %10 : f32[3]
        %12 = mul %8, %11 : f32[3]
        %13 = add %7, %12 : f32[3]
        return %3, %13
      }"
    `);
    // The expanded graph is ordinary text form too.
    expect(printGraph(parseGraph(printGraph(e)))).toBe(printGraph(e));
  });
  it('grad(grad(sin)): nested vjp nodes parse, round-trip and expand innermost first', () => {
    const g = roundTrip(GRAD_GRAD_SIN);
    const e = expand(g);
    verifyGraph(e);
    expect(e.nodes.some((n) => n.op === 'vjp')).toBe(false);
    expect(printGraph(e)).toMatchInlineSnapshot(`
      "graph grad2_sin(%0: f32[]) {
        %1 = const 1 : f32[]
        %2 = const 1 : f32[]
        %3 = mul %1, %2 : f32[]
        %4 = sin %0 : f32[]
        %5 = mul %3, %4 : f32[]
        %6 = neg %5 : f32[]
        return %6
      }"
    `);
  });
  it('cast: f32 -> f32 passes the cotangent, through i32 nothing flows', () => {
    const e = expand(roundTrip(GRAD_CAST));
    verifyGraph(e);
    // d/dx (x * float(int(x))) with the int path constant: g * float(int(x)).
    expect(printGraph(e)).toMatchInlineSnapshot(`
      "graph grad_cast(%0: f32[2], %1: f32[2]) {
        %2 = cast %0 {dtype="i32"} : i32[2]
        %3 = cast %2 {dtype="f32"} : f32[2]
        %4 = mul %1, %3 : f32[2]
        return %4
      }"
    `);
  });
  it('a vjp whose cotangent count does not match the body is rejected when parsed', () => {
    const bad = GRAD_TANH_X.replace('vjp %0, %1 {wrt=[0]}', 'vjp %0 {wrt=[0]}');
    expect(() => parseGraph(bad)).toThrow(/vjp/);
  });
});
