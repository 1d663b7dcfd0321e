/** Reads the text form written by printer.ts back into a graph. */
import { makeNode } from './builder';
import { isDType, type DType } from './dtype';
import { GraphError } from './errors';
import type { Attrs, AttrValue, Graph, Node, TensorType, Value } from './graph';
import { fmtType } from './printer';

export interface ParseOptions {
  /** Data for `buffer #k` leaves; without it each buffer gets `{ buffer: k }`. */
  buffers?: readonly unknown[];
}

export function parseGraph(text: string, opts: ParseOptions = {}): Graph {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  const cursor = { i: 0 };
  const g = parseBody(lines, cursor, opts, new Map());
  if (cursor.i !== lines.length) throw new GraphError(`parse: unexpected text after the graph: '${lines[cursor.i]}'`);
  return g;
}

function fail(line: string, why: string): never {
  throw new GraphError(`parse: ${why} in line '${line}'`);
}

function parseType(s: string, line: string): TensorType {
  const m = /^(\w+)\[([\d,\s]*)\]$/.exec(s.trim());
  if (!m || !isDType(m[1])) fail(line, `bad type '${s}'`);
  const parts = m[2].trim() === '' ? [] : m[2].split(',').map((d) => d.trim());
  // `f32[2,,3]` would otherwise read as f32[2,0,3].
  if (parts.some((d) => d === '')) fail(line, `bad type '${s}'`);
  const dims = parts.map(Number);
  return { dtype: m[1] as DType, shape: dims };
}

function parseNumber(s: string, line: string): number {
  if (s === 'inf') return Infinity;
  if (s === '-inf') return -Infinity;
  if (s === 'nan') return NaN;
  const v = Number(s);
  if (s === '' || Number.isNaN(v)) fail(line, `bad number '${s}'`);
  return v;
}

/**
 * An attribute value: JSON, plus the number tokens `inf`, `-inf` and `nan`
 * that the printer writes for non-finite numbers. Undefined when malformed.
 */
function parseAttrValue(text: string): AttrValue | undefined {
  const s = text.trim();
  let i = 0;
  const ws = () => {
    while (i < s.length && /\s/.test(s[i])) i++;
  };
  const value = (): AttrValue => {
    ws();
    const c = s[i];
    if (c === '[' || c === '{') {
      const close = c === '[' ? ']' : '}';
      const arr: AttrValue[] = [];
      const obj: Record<string, AttrValue> = {};
      i++;
      ws();
      if (s[i] === close) {
        i++;
        return c === '[' ? arr : obj;
      }
      for (;;) {
        if (c === '[') arr.push(value());
        else {
          ws();
          const key = value();
          if (typeof key !== 'string') throw new Error('key');
          ws();
          if (s[i++] !== ':') throw new Error(':');
          obj[key] = value();
        }
        ws();
        const sep = s[i++];
        if (sep === close) return c === '[' ? arr : obj;
        if (sep !== ',') throw new Error(',');
      }
    }
    if (c === '"') {
      let j = i + 1;
      while (j < s.length && s[j] !== '"') j += s[j] === '\\' ? 2 : 1;
      const str = JSON.parse(s.slice(i, j + 1)) as string;
      i = j + 1;
      return str;
    }
    const m = /^(-?inf|nan|true|false|null|-?\d+(\.\d+)?([eE][+-]?\d+)?)/.exec(s.slice(i));
    if (!m) throw new Error('token');
    i += m[0].length;
    const w = m[0];
    if (w === 'true' || w === 'false') return w === 'true';
    if (w === 'null') return null;
    return w === 'inf' ? Infinity : w === '-inf' ? -Infinity : w === 'nan' ? NaN : Number(w);
  };
  try {
    const v = value();
    ws();
    return i === s.length ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Splits on commas that are not nested in brackets or strings. */
function splitTop(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let inStr = false;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (inStr) {
      if (c === '\\') i++;
      else if (c === '"') inStr = false;
    } else if (c === '"') inStr = true;
    else if (c === '[' || c === '{') depth++;
    else if (c === ']' || c === '}') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(s.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(s.slice(start));
  return parts.map((p) => p.trim()).filter((p) => p.length);
}

/** `buffers` maps `#k` to its data across the whole text (bodies included), so one buffer stays one. */
function parseBody(lines: string[], cursor: { i: number }, opts: ParseOptions, buffers: Map<number, unknown>): Graph {
  const header = lines[cursor.i++] ?? '';
  // Any name without parentheses: graphs are named after JS functions ('bound f', ...).
  const hm = /^graph\s+([^()]*?)\((.*)\)\s*\{$/.exec(header);
  if (!hm) fail(header, 'expected `graph name(params) {`');
  const env = new Map<string, Value>();
  const params: Node[] = [];
  for (const p of splitTop(hm[2])) {
    const pm = /^(%\d+)\s*:\s*(.+)$/.exec(p);
    if (!pm) fail(header, `bad parameter '${p}'`);
    const ty = parseType(pm[2], header);
    const node = makeNode('param', [], { dtype: ty.dtype, shape: [...ty.shape] });
    params.push(node);
    if (env.has(pm[1])) fail(header, `${pm[1]} is defined twice`);
    env.set(pm[1], node.out);
  }
  const nodes: Node[] = [];
  const lookup = (name: string, line: string) => env.get(name) ?? fail(line, `undefined value ${name}`);
  for (;;) {
    const line = lines[cursor.i++];
    if (line === undefined) throw new GraphError(`parse: graph ${hm[1]} is missing its return and closing brace`);
    if (line.startsWith('return')) {
      const outs = splitTop(line.slice('return'.length)).map((n) => lookup(n, line));
      if (lines[cursor.i++] !== '}') fail(line, 'expected `}` after return');
      return { name: hm[1], params, nodes, outputs: outs };
    }
    const eq = line.indexOf(' = ');
    const colon = line.lastIndexOf(' : ');
    if (eq < 0 || colon < eq) fail(line, 'expected `%x = op ... : type`');
    const lhs = splitTop(line.slice(0, eq));
    const declared = splitTop(line.slice(colon + 3)).map((s) => parseType(s, line));
    let rest = line.slice(eq + 3, colon).trim();
    const om = /^(\w+)\s*/.exec(rest);
    if (!om) fail(line, 'missing op');
    const op = om[1];
    rest = rest.slice(om[0].length);
    const attrs: Record<string, AttrValue> = {};
    const brace = rest.indexOf('{');
    if (brace >= 0) {
      if (!rest.endsWith('}')) fail(line, 'unterminated attributes');
      for (const kv of splitTop(rest.slice(brace + 1, -1))) {
        const k = kv.indexOf('=');
        if (k < 0) fail(line, `bad attribute '${kv}'`);
        const value = parseAttrValue(kv.slice(k + 1));
        if (value === undefined) fail(line, `bad attribute value '${kv}'`);
        attrs[kv.slice(0, k).trim()] = value;
      }
      rest = rest.slice(0, brace).trim();
    }
    let data: unknown;
    const words = splitTop(rest);
    if (op === 'const') {
      const v = words.shift();
      if (v === undefined || declared.length !== 1) fail(line, 'const needs a value and one type');
      attrs.value = parseNumber(v, line);
      attrs.dtype = declared[0].dtype;
    } else if (op === 'buffer') {
      const ref = words.shift();
      const bm = ref && /^#(\d+)$/.exec(ref);
      if (!bm || declared.length !== 1) fail(line, 'buffer needs `#k` and one type');
      const k = Number(bm[1]);
      if (opts.buffers && k >= opts.buffers.length)
        fail(line, `no data for buffer #${k} (${opts.buffers.length} given)`);
      if (!buffers.has(k)) buffers.set(k, opts.buffers ? opts.buffers[k] : { buffer: k });
      data = buffers.get(k);
      attrs.dtype = declared[0].dtype;
      attrs.shape = [...declared[0].shape];
    }
    const inputs = words.map((w) => lookup(w, line));
    const body = op === 'vjp' ? parseBody(lines, cursor, opts, buffers) : undefined;
    let node: Node;
    try {
      node = makeNode(op, inputs, attrs as Attrs, body, data);
    } catch (e) {
      fail(line, (e as Error).message);
    }
    const got = node.types.map(fmtType).join(', ');
    const want = declared.map(fmtType).join(', ');
    if (got !== want) fail(line, `declared type ${want} but the op gives ${got}`);
    if (lhs.length !== node.outs.length) fail(line, `${lhs.length} names for ${node.outs.length} outputs`);
    lhs.forEach((n, i) => {
      if (env.has(n)) fail(line, `${n} is defined twice`);
      env.set(n, node.outs[i]);
    });
    nodes.push(node);
  }
}
