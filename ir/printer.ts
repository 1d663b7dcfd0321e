/**
 * The text form of SPEC: one line per node, SSA names numbered from the
 * parameters on, attributes as `{name=json, ...}`, `: type(s)` at the end.
 * Buffers are numbered in order of first appearance in this printout.
 */
import type { AttrValue, Graph, Node, TensorType, Value } from './graph';
import { OPS, isOp } from './ops';

export function fmtType(t: TensorType): string {
  return `${t.dtype}[${t.shape.join(',')}]`;
}

export function fmtNumber(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (v === Infinity) return 'inf';
  if (v === -Infinity) return '-inf';
  if (Object.is(v, -0)) return '-0';
  return String(v);
}

/**
 * JSON, except that numbers print as `fmtNumber` does: JSON.stringify would
 * turn -inf (maxPool2d's pad value) and nan into `null`, and -0 into `0`.
 */
export function fmtAttr(v: AttrValue): string {
  if (typeof v === 'number') return fmtNumber(v);
  if (Array.isArray(v)) return `[${v.map(fmtAttr).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as { readonly [k: string]: AttrValue };
    return `{${Object.keys(o)
      .map((k) => `${JSON.stringify(k)}:${fmtAttr(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** Attributes that the text form shows elsewhere than in `{...}`. */
const IMPLICIT_ATTRS: Record<string, readonly string[]> = {
  param: ['dtype', 'shape'],
  const: ['value', 'dtype'],
  buffer: ['dtype', 'shape'],
};

export function attrText(node: Node): string {
  const hidden = IMPLICIT_ATTRS[node.op] ?? [];
  const order = isOp(node.op) ? Object.keys(OPS[node.op].attrs) : Object.keys(node.attrs);
  const names = [...order.filter((k) => k in node.attrs), ...Object.keys(node.attrs).filter((k) => !order.includes(k))];
  const parts = names.filter((k) => !hidden.includes(k)).map((k) => `${k}=${fmtAttr(node.attrs[k])}`);
  return parts.length ? ` {${parts.join(', ')}}` : '';
}

export interface PrintOptions {
  /** Numbering of buffers shared with nested bodies. */
  buffers?: Map<unknown, number>;
}

export function printGraph(g: Graph, opts: PrintOptions = {}): string {
  const lines: string[] = [];
  printInto(g, lines, '', opts.buffers ?? new Map());
  return lines.join('\n');
}

function printInto(g: Graph, lines: string[], indent: string, buffers: Map<unknown, number>): void {
  const names = new Map<Value, string>();
  let counter = 0;
  const name = (v: Value) => {
    const n = names.get(v);
    if (n === undefined) throw new Error(`printGraph: value of ${v.node.op} used before its definition`);
    return n;
  };
  const params = g.params.map((p) => {
    const n = `%${counter++}`;
    names.set(p.out, n);
    return `${n}: ${fmtType(p.types[0])}`;
  });
  lines.push(`${indent}graph ${g.name}(${params.join(', ')}) {`);
  for (const node of g.nodes) {
    const lhs = node.outs.map((v) => {
      const n = `%${counter++}`;
      names.set(v, n);
      return n;
    });
    let rhs = node.op;
    if (node.op === 'const') rhs += ` ${fmtNumber(node.attrs.value as number)}`;
    else if (node.op === 'buffer') {
      let k = buffers.get(node.data ?? node);
      if (k === undefined) buffers.set(node.data ?? node, (k = buffers.size));
      rhs += ` #${k}`;
    }
    if (node.inputs.length) rhs += ' ' + node.inputs.map(name).join(', ');
    rhs += attrText(node);
    lines.push(`${indent}  ${lhs.join(', ')} = ${rhs} : ${node.types.map(fmtType).join(', ')}`);
    if (node.body) printInto(node.body, lines, indent + '    ', buffers);
  }
  lines.push(`${indent}  return ${g.outputs.map(name).join(', ')}`);
  lines.push(`${indent}}`);
}
