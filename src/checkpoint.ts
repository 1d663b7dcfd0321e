/**
 * Checkpoints in the safetensors format (huggingface/safetensors): an 8-byte
 * little-endian u64 header length N, N bytes of JSON header
 * `{name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?: {string: string}}`
 * padded with spaces to a multiple of 8 bytes, then the raw little-endian
 * data, offsets counted from the end of the header. Written as the reference
 * writer does: tensors ordered by dtype alignment (F32, then I32, then BOOL),
 * then by name, packed with no gaps; `__metadata__` first. Names are pytree
 * key paths (`layers.0.w`).
 *
 * `toSafetensors` / `fromSafetensors` work everywhere; `save` / `load` need
 * Node's fs, fetched lazily so this module imports nothing Node-specific.
 */
import { type DType, LazygradError, checkSize, fmtShape, sizeOf } from '../ir';
import type { TypedArray } from '../backends/backend';
import { fromValues } from './creation';
import { checkOptions, describeValue } from './option-check';
import { flattenTree, type TreeDef, unflattenTree } from './pytree';
import { readTensor, realizeTensors } from './realize';
import { Tensor } from './tensor';
import { isTraced } from './traced';
import { leafPaths } from './tree-util';

/** The safetensors dtypes lazygrad reads and writes, with their element size and write order. */
const FORMATS = {
  F32: { dtype: 'f32', bytes: 4, order: 0 },
  I32: { dtype: 'i32', bytes: 4, order: 1 },
  BOOL: { dtype: 'bool', bytes: 1, order: 2 },
} as const;
type FormatName = keyof typeof FORMATS;
const FORMAT_OF: Record<DType, FormatName> = { f32: 'F32', i32: 'I32', bool: 'BOOL' };
/** dtypes of the format that lazygrad has no dtype for (named in the error). */
const OTHER_FORMATS = ['F64', 'F16', 'BF16', 'F8_E5M2', 'F8_E4M3', 'I64', 'U64', 'U32', 'I16', 'U16', 'I8', 'U8'];

/** The reference reader's limit on the header size. */
const MAX_HEADER_BYTES = 100_000_000;
const METADATA_KEY = '__metadata__';

const hostIsLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Reverses each `width`-byte group in place: little-endian file bytes <-> a big-endian host's. */
function swapBytes(bytes: Uint8Array, width: number): void {
  if (hostIsLittleEndian || width === 1) return;
  for (let i = 0; i < bytes.length; i += width) bytes.subarray(i, i + width).reverse();
}

/** UTF-8 byte order, the order Rust's String comparison (the reference writer's sort) uses. */
function compareUtf8(a: string, b: string): number {
  const x = utf8.encode(a);
  const y = utf8.encode(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}
const utf8 = new TextEncoder();

interface Entry {
  name: string;
  format: FormatName;
  shape: number[];
  data: Uint8Array;
}

export interface SafetensorsOptions {
  /** String pairs stored as the header's `__metadata__`. */
  metadata?: Record<string, string>;
}

const METADATA_RULE = {
  expected: 'an object of string values',
  ok: (v: unknown) =>
    v !== null &&
    typeof v === 'object' &&
    !Array.isArray(v) &&
    Object.values(v as object).every((x) => typeof x === 'string'),
};

/** The tensors of a tree by key path, checked to be nameable, distinct and readable. */
function namedTensors(op: string, tree: unknown): { name: string; tensor: Tensor }[] {
  const { leaves, def } = flattenTree(tree);
  if (def.kind === 'leaf')
    throw new LazygradError(
      `${op}: expected a tree (object or array) of tensors, got ${describeValue(tree)}; ` +
        'tensors are stored under their key paths, so wrap a single tensor: {w: t}',
    );
  const names = leafPaths(def);
  const seen = new Set<string>();
  return leaves.map((leaf, i) => {
    const name = names[i];
    if (!(leaf instanceof Tensor))
      throw new LazygradError(`${op}: ${name} must be a tensor, got ${describeValue(leaf)}`);
    if (isTraced(leaf))
      throw new LazygradError(
        `${op}: ${name} is a traced tensor (inside jit or grad) whose values do not exist yet; save the tensors jit returns`,
      );
    if (name === METADATA_KEY) throw new LazygradError(`${op}: the key path ${METADATA_KEY} is reserved by the format`);
    if (seen.has(name))
      throw new LazygradError(
        `${op}: two tensors have the key path '${name}' (a key containing '.' collides with a nested one)`,
      );
    seen.add(name);
    return { name, tensor: leaf };
  });
}

/** A tensor's values as little-endian bytes of its file dtype (bit-exact: NaN payloads, -0). */
function tensorBytes(values: TypedArray, dtype: DType): Uint8Array {
  // A float64 backend buffer holds float32 tensors as doubles: narrow them first.
  const typed = dtype === 'f32' && !(values instanceof Float32Array) ? Float32Array.from(values) : values;
  const bytes = new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength).slice();
  swapBytes(bytes, FORMATS[FORMAT_OF[dtype]].bytes);
  return bytes;
}

/** The header JSON, built by hand: a JS object would reorder integer-like names ("0", "1"). */
function headerJson(entries: readonly Entry[], offsets: readonly number[], metadata?: Record<string, string>): string {
  const fields: string[] = [];
  if (metadata) {
    const keys = Object.keys(metadata).sort(compareUtf8);
    const pairs = keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(metadata[k])}`);
    fields.push(`${JSON.stringify(METADATA_KEY)}:{${pairs.join(',')}}`);
  }
  entries.forEach((e, i) => {
    const info = { dtype: e.format, shape: e.shape, data_offsets: [offsets[i], offsets[i] + e.data.length] };
    fields.push(`${JSON.stringify(e.name)}:${JSON.stringify(info)}`);
  });
  return `{${fields.join(',')}}`;
}

function allocate(op: string, bytes: number): Uint8Array {
  try {
    return new Uint8Array(bytes);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    throw new LazygradError(`${op}: cannot allocate ${bytes} bytes for the file`);
  }
}

function serialise(op: string, tree: unknown, opts: unknown): Uint8Array {
  const { metadata } = checkOptions<SafetensorsOptions>(op, opts, { metadata: METADATA_RULE });
  const named = namedTensors(op, tree);
  realizeTensors(
    named.map((n) => n.tensor),
    op,
  );
  const entries: Entry[] = named.map(({ name, tensor }) => ({
    name,
    format: FORMAT_OF[tensor._dtype],
    shape: tensor.shape,
    data: tensorBytes(readTensor(tensor, op, false), tensor._dtype),
  }));
  entries.sort((a, b) => FORMATS[a.format].order - FORMATS[b.format].order || compareUtf8(a.name, b.name));
  const offsets: number[] = [];
  let dataBytes = 0;
  for (const e of entries) {
    offsets.push(dataBytes);
    dataBytes += e.data.length;
  }
  let header = utf8.encode(headerJson(entries, offsets, metadata));
  const padded = Math.ceil(header.length / 8) * 8; // so that the data starts 8-byte aligned
  if (padded !== header.length) {
    const h = new Uint8Array(padded).fill(0x20);
    h.set(header);
    header = h;
  }
  const out = allocate(op, 8 + header.length + dataBytes);
  const view = new DataView(out.buffer);
  view.setUint32(0, header.length % 2 ** 32, true);
  view.setUint32(4, Math.floor(header.length / 2 ** 32), true);
  out.set(header, 8);
  entries.forEach((e, i) => out.set(e.data, 8 + header.length + offsets[i]));
  return out;
}

/** The tensors of a tree as safetensors bytes; null positions hold no tensor and are not written. */
export function toSafetensors(tree: unknown, opts?: SafetensorsOptions): Uint8Array {
  return serialise('toSafetensors', tree, opts);
}

// ---- reading ----

interface FileEntry {
  name: string;
  format: FormatName;
  shape: number[];
  begin: number;
  end: number;
}

interface ParsedFile {
  entries: FileEntry[];
  metadata?: Record<string, string>;
  dataStart: number;
}

const isIndex = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

function checkBytes(op: string, bytes: unknown): Uint8Array {
  // A plain view: Node's Buffer (a subclass) has a slice that shares memory instead of copying.
  if (bytes instanceof Uint8Array) return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes instanceof ArrayBuffer) return new Uint8Array(bytes);
  throw new LazygradError(
    `${op}: expected the file's bytes as a Uint8Array or ArrayBuffer, got ${describeValue(bytes)}`,
  );
}

function entryOf(op: string, name: string, info: unknown): FileEntry {
  const bad = (what: string) => new LazygradError(`${op}: tensor '${name}' in the header ${what}`);
  if (info === null || typeof info !== 'object' || Array.isArray(info))
    throw bad(`must be an object {dtype, shape, data_offsets}, got ${describeValue(info)}`);
  const { dtype, shape, data_offsets: offsets } = info as Record<string, unknown>;
  if (typeof dtype !== 'string') throw bad(`has dtype ${describeValue(dtype)}; expected a string such as "F32"`);
  if (!(dtype in FORMATS))
    throw bad(
      OTHER_FORMATS.includes(dtype)
        ? `has dtype ${dtype}, which lazygrad cannot hold (supported: F32, I32, BOOL)`
        : `has an unknown dtype ${JSON.stringify(dtype)} (supported: F32, I32, BOOL)`,
    );
  if (!Array.isArray(shape) || !shape.every(isIndex))
    throw bad(`has shape ${describeValue(shape)}; expected an array of non-negative integers`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isIndex))
    throw bad(`has data_offsets ${describeValue(offsets)}; expected [begin, end], non-negative integers`);
  const [begin, end] = offsets as number[];
  const format = dtype as FormatName;
  if (end < begin) throw bad(`has data_offsets [${begin}, ${end}] that end before they begin`);
  const expected = sizeOf(shape) * FORMATS[format].bytes;
  if (end - begin !== expected)
    throw bad(
      `has data_offsets [${begin}, ${end}] (${end - begin} bytes) but a ${format}${fmtShape(shape)} tensor takes ${expected} bytes`,
    );
  return { name, format, shape, begin, end };
}

/** Parses and checks the header; every offset is checked before any data is read. */
function parse(op: string, bytes: Uint8Array): ParsedFile {
  if (bytes.length < 8)
    throw new LazygradError(
      `${op}: the file is ${bytes.length} bytes long; a safetensors file starts with an 8-byte header length`,
    );
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const high = view.getUint32(4, true);
  const headerBytes = view.getUint32(0, true) + high * 2 ** 32;
  if (high !== 0 || headerBytes > MAX_HEADER_BYTES)
    throw new LazygradError(
      `${op}: the header length is ${headerBytes} bytes, more than the format allows (${MAX_HEADER_BYTES}): not a safetensors file?`,
    );
  if (8 + headerBytes > bytes.length)
    throw new LazygradError(
      `${op}: the header length is ${headerBytes} bytes but the file has only ${bytes.length - 8} after it: truncated or not a safetensors file`,
    );
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerBytes));
  } catch {
    throw new LazygradError(`${op}: the header is not valid UTF-8: not a safetensors file?`);
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    throw new LazygradError(`${op}: the header is not valid JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header))
    throw new LazygradError(`${op}: the header must be a JSON object, got ${describeValue(header)}`);
  let metadata: Record<string, string> | undefined;
  const entries: FileEntry[] = [];
  for (const [name, info] of Object.entries(header)) {
    if (name !== METADATA_KEY) {
      entries.push(entryOf(op, name, info));
      continue;
    }
    if (!METADATA_RULE.ok(info))
      throw new LazygradError(
        `${op}: the header's ${METADATA_KEY} must be an object of string values, got ${describeValue(info)}`,
      );
    metadata = info as Record<string, string>;
  }
  // As the reference reader: sorted by offsets, the tensors must tile the data section exactly.
  const byOffset = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  for (const e of byOffset) {
    if (e.begin < covered) {
      const other = byOffset.find((o) => o !== e && o.end > e.begin && o.begin <= e.begin)?.name;
      throw new LazygradError(
        `${op}: tensor '${e.name}' (bytes ${e.begin} to ${e.end}) overlaps tensor '${other}' in the data section`,
      );
    }
    if (e.begin > covered)
      throw new LazygradError(
        `${op}: tensor '${e.name}' starts at byte ${e.begin} of the data but the tensors before it end at ${covered}: the data has a gap`,
      );
    covered = e.end;
  }
  const dataStart = 8 + headerBytes;
  const dataBytes = bytes.length - dataStart;
  if (covered !== dataBytes)
    throw new LazygradError(
      covered > dataBytes
        ? `${op}: the header's tensors need ${covered} bytes of data but the file has ${dataBytes}: truncated`
        : `${op}: the file has ${dataBytes} bytes of data but the header's tensors cover only ${covered}`,
    );
  return { entries, metadata, dataStart };
}

/** One tensor's values, copied out of the file (aligned, and not aliasing the caller's bytes). */
function readEntry(op: string, bytes: Uint8Array, dataStart: number, e: FileEntry): Tensor {
  checkSize(e.shape, op);
  const raw = bytes.slice(dataStart + e.begin, dataStart + e.end);
  const { dtype } = FORMATS[e.format];
  swapBytes(raw, FORMATS[e.format].bytes);
  const n = sizeOf(e.shape);
  const values =
    dtype === 'f32' ? new Float32Array(raw.buffer, 0, n) : dtype === 'i32' ? new Int32Array(raw.buffer, 0, n) : raw;
  if (dtype === 'bool') {
    const i = raw.findIndex((b) => b > 1);
    if (i >= 0)
      throw new LazygradError(
        `${op}: BOOL tensor '${e.name}' holds the byte ${raw[i]} at index ${i} (expected 0 or 1)`,
      );
  }
  return fromValues(values, e.shape, dtype);
}

const INDEX_KEY = /^(0|[1-9][0-9]*)$/;

/** A nested tree from dotted names; a level whose keys are exactly 0..n-1 becomes an array. */
function treeFromNames(op: string, named: ReadonlyMap<string, Tensor>): unknown {
  type Level = Map<string, Level | Tensor>;
  const root: Level = new Map();
  for (const [name, t] of named) {
    const parts = name.split('.');
    let level = root;
    parts.forEach((part, i) => {
      const here = level.get(part);
      const path = parts.slice(0, i + 1).join('.');
      if (i === parts.length - 1) {
        if (here) throw conflict(op, path, here instanceof Tensor ? name : `${name}.…`);
        level.set(part, t);
        return;
      }
      if (here instanceof Tensor) throw conflict(op, path, name);
      if (!here) level.set(part, new Map());
      level = level.get(part) as Level;
    });
  }
  const build = (level: Level): unknown => {
    const keys = [...level.keys()];
    const value = (x: Level | Tensor) => (x instanceof Tensor ? x : build(x));
    const isArray = keys.every((k) => INDEX_KEY.test(k)) && keys.every((_, i) => level.has(String(i)));
    if (isArray && keys.length > 0) return keys.map((_, i) => value(level.get(String(i))!));
    // fromEntries defines own properties, so a name like __proto__ stays data.
    return Object.fromEntries(keys.sort().map((k) => [k, value(level.get(k)!)]));
  };
  return build(root);
}

const conflict = (op: string, path: string, other: string) =>
  new LazygradError(
    `${op}: '${path}' is both a tensor and a prefix of another tensor's name ('${other}'), so the names form no tree; pass a template`,
  );

/** Checks the file's tensors against a template's leaves and builds the template's structure. */
function treeFromTemplate(
  op: string,
  entries: readonly FileEntry[],
  read: (e: FileEntry) => Tensor,
  template: unknown,
): unknown {
  const { leaves, def } = flattenTree(template);
  if (def.kind === 'leaf')
    throw new LazygradError(
      `${op}: the template must be a tree (object or array) of tensors, got ${describeValue(template)}`,
    );
  const names = leafPaths(def as TreeDef);
  const byName = new Map(entries.map((e) => [e.name, e]));
  const wanted = new Set(names);
  const extra = entries.filter((e) => !wanted.has(e.name)).map((e) => e.name);
  const found = (list: readonly string[]) => (list.length > 8 ? `${list.slice(0, 8).join(', ')}, …` : list.join(', '));
  const checked = leaves.map((leaf, i) => {
    const name = names[i];
    if (!(leaf instanceof Tensor))
      throw new LazygradError(`${op}: the template's ${name} must be a tensor, got ${describeValue(leaf)}`);
    const e = byName.get(name);
    if (!e)
      throw new LazygradError(
        `${op}: the template has ${name} but the file has no tensor of that name (the file has: ${found([...byName.keys()])})`,
      );
    const sameShape = e.shape.length === leaf.ndim && e.shape.every((d, k) => d === leaf.shape[k]);
    if (!sameShape)
      throw new LazygradError(
        `${op}: ${name} has shape ${fmtShape(e.shape)} in the file but ${fmtShape(leaf.shape)} in the template`,
      );
    if (FORMATS[e.format].dtype !== leaf._dtype)
      throw new LazygradError(
        `${op}: ${name} has dtype ${e.format} (${toPublicName(e.format)}) in the file but ${leaf.dtype} in the template`,
      );
    return e;
  });
  if (extra.length) throw new LazygradError(`${op}: the file has tensors the template does not: ${found(extra)}`);
  return unflattenTree(def, checked.map(read));
}

const toPublicName = (f: FormatName) => ({ F32: 'float32', I32: 'int32', BOOL: 'bool' })[f];

function deserialise(op: string, data: unknown, template: unknown): unknown {
  const bytes = checkBytes(op, data);
  const { entries, dataStart } = parse(op, bytes);
  const read = (e: FileEntry) => readEntry(op, bytes, dataStart, e);
  if (template !== undefined) return treeFromTemplate(op, entries, read, template);
  return treeFromNames(op, new Map(entries.map((e) => [e.name, read(e)])));
}

/**
 * The tree stored in safetensors bytes. With a template (a tree of tensors, such as freshly
 * initialised parameters), the result has the template's structure, and every name, shape
 * and dtype must match it; without one, names split at dots into nested objects, and a level
 * whose keys are exactly 0..n-1 becomes an array.
 */
export function fromSafetensors(bytes: Uint8Array | ArrayBuffer, template?: unknown): unknown {
  return deserialise('fromSafetensors', bytes, template);
}

/** The `__metadata__` string pairs of safetensors bytes (undefined when the header has none). */
export function safetensorsMetadata(bytes: Uint8Array | ArrayBuffer): Record<string, string> | undefined {
  const op = 'safetensorsMetadata';
  return parse(op, checkBytes(op, bytes)).metadata;
}

// ---- files (Node) ----

interface NodeFs {
  readFileSync(path: string): Uint8Array;
  writeFileSync(path: string, data: Uint8Array): void;
  renameSync(from: string, to: string): void;
  rmSync(path: string, opts: { force: boolean }): void;
}

/** Node's fs, found at run time (process.getBuiltinModule, Node 20.16+), so browsers never import it. */
function nodeFs(op: string): NodeFs {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const fs = typeof proc?.getBuiltinModule === 'function' ? proc.getBuiltinModule('node:fs') : undefined;
  if (!fs)
    throw new LazygradError(
      `${op}: needs Node's fs (Node 20.16 or later, through process.getBuiltinModule); ` +
        'elsewhere use toSafetensors / fromSafetensors and store the bytes yourself',
    );
  return fs as NodeFs;
}

function checkPath(op: string, path: unknown): string {
  if (typeof path !== 'string' || path === '')
    throw new LazygradError(`${op}: path must be a non-empty string, got ${describeValue(path)}`);
  return path;
}

/**
 * Writes a tree's tensors to a safetensors file (Node). The bytes go to a temporary file that
 * then replaces `path`, so an interrupted save never leaves a half-written checkpoint.
 */
export function save(tree: unknown, path: string, opts?: SafetensorsOptions): void {
  const op = 'save';
  const file = checkPath(op, path);
  const fs = nodeFs(op);
  const bytes = serialise(op, tree, opts);
  const temporary = `${file}.${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}.tmp`;
  try {
    fs.writeFileSync(temporary, bytes);
    fs.renameSync(temporary, file);
  } catch (e) {
    fs.rmSync(temporary, { force: true });
    throw new LazygradError(`${op}: cannot write ${file}: ${(e as Error).message}`);
  }
}

/** Reads a safetensors file (Node); `template` as for fromSafetensors. */
export function load(path: string, template?: unknown): unknown {
  const op = 'load';
  const file = checkPath(op, path);
  const fs = nodeFs(op);
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    throw new LazygradError(`${op}: cannot read ${file}: ${(e as Error).message}`);
  }
  return deserialise(`${op} ${file}`, bytes, template);
}
