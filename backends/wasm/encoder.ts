/**
 * A small WebAssembly binary encoder: a module of functions over one
 * imported memory, written instruction by instruction from an opcode table.
 *
 * Each instruction is also recorded as a line of WebAssembly text (indented
 * by block depth), so a kernel's "source" can be read and serves as the
 * cache key of its compiled module.
 */

export type ValType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128';

const VALTYPE_CODE: Record<ValType, number> = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c, v128: 0x7b };

/** Immediate operands an instruction takes, in order. */
type Imm = 'u32' | 'i32' | 'i64' | 'f32' | 'f64' | 'mem' | 'block' | 'lane' | 'v128';

interface OpInfo {
  /** Opcode bytes: one byte, or the 0xfc/0xfd prefix and a LEB128 sub-opcode. */
  readonly code: readonly number[];
  readonly imm: readonly Imm[];
}

const plain = (c: number, ...imm: Imm[]): OpInfo => ({ code: [c], imm });
const prefixed = (p: number, sub: number, ...imm: Imm[]): OpInfo => ({ code: [p, ...leb128(sub)], imm });
const simd = (sub: number, ...imm: Imm[]) => prefixed(0xfd, sub, ...imm);

/** Every instruction the code generators use, by its text name. */
export const OPCODES = {
  unreachable: plain(0x00),
  nop: plain(0x01),
  block: plain(0x02, 'block'),
  loop: plain(0x03, 'block'),
  if: plain(0x04, 'block'),
  else: plain(0x05),
  end: plain(0x0b),
  br: plain(0x0c, 'u32'),
  br_if: plain(0x0d, 'u32'),
  return: plain(0x0f),
  call: plain(0x10, 'u32'),
  drop: plain(0x1a),
  select: plain(0x1b),
  'local.get': plain(0x20, 'u32'),
  'local.set': plain(0x21, 'u32'),
  'local.tee': plain(0x22, 'u32'),
  'i32.load': plain(0x28, 'mem'),
  'f32.load': plain(0x2a, 'mem'),
  'i32.load8_u': plain(0x2d, 'mem'),
  'i32.store': plain(0x36, 'mem'),
  'f32.store': plain(0x38, 'mem'),
  'i32.store8': plain(0x3a, 'mem'),
  'i32.const': plain(0x41, 'i32'),
  'i64.const': plain(0x42, 'i64'),
  'f32.const': plain(0x43, 'f32'),
  'f64.const': plain(0x44, 'f64'),
  'i32.eqz': plain(0x45),
  'i32.eq': plain(0x46),
  'i32.ne': plain(0x47),
  'i32.lt_s': plain(0x48),
  'i32.lt_u': plain(0x49),
  'i32.gt_s': plain(0x4a),
  'i32.gt_u': plain(0x4b),
  'i32.le_s': plain(0x4c),
  'i32.ge_s': plain(0x4e),
  'f32.eq': plain(0x5b),
  'f32.ne': plain(0x5c),
  'f32.lt': plain(0x5d),
  'f32.gt': plain(0x5e),
  'f32.le': plain(0x5f),
  'f32.ge': plain(0x60),
  'f64.lt': plain(0x63),
  'i32.add': plain(0x6a),
  'i32.sub': plain(0x6b),
  'i32.mul': plain(0x6c),
  'i32.div_s': plain(0x6d),
  'i32.div_u': plain(0x6e),
  'i32.rem_s': plain(0x6f),
  'i32.rem_u': plain(0x70),
  'i32.and': plain(0x71),
  'i32.or': plain(0x72),
  'i32.xor': plain(0x73),
  'i32.shl': plain(0x74),
  'i32.shr_s': plain(0x75),
  'i32.shr_u': plain(0x76),
  'f32.abs': plain(0x8b),
  'f32.neg': plain(0x8c),
  'f32.ceil': plain(0x8d),
  'f32.floor': plain(0x8e),
  'f32.trunc': plain(0x8f),
  'f32.nearest': plain(0x90),
  'f32.sqrt': plain(0x91),
  'f32.add': plain(0x92),
  'f32.sub': plain(0x93),
  'f32.mul': plain(0x94),
  'f32.div': plain(0x95),
  'f32.min': plain(0x96),
  'f32.max': plain(0x97),
  'f32.copysign': plain(0x98),
  'f64.abs': plain(0x99),
  'f64.neg': plain(0x9a),
  'f64.floor': plain(0x9c),
  'f64.sqrt': plain(0x9f),
  'f64.add': plain(0xa0),
  'f64.sub': plain(0xa1),
  'f64.mul': plain(0xa2),
  'f64.div': plain(0xa3),
  'i32.wrap_i64': plain(0xa7),
  'i32.trunc_f32_s': plain(0xa8),
  'f32.convert_i32_s': plain(0xb2),
  'f32.convert_i32_u': plain(0xb3),
  'f32.demote_f64': plain(0xb6),
  'f64.convert_i32_s': plain(0xb7),
  'f64.promote_f32': plain(0xbb),
  'i32.reinterpret_f32': plain(0xbc),
  'f32.reinterpret_i32': plain(0xbe),
  'i32.trunc_sat_f32_s': prefixed(0xfc, 0),
  'i64.trunc_sat_f32_s': prefixed(0xfc, 4),

  'v128.load': simd(0x00, 'mem'),
  'v128.load32_splat': simd(0x09, 'mem'),
  'v128.load32_zero': simd(0x5c, 'mem'),
  'v128.store': simd(0x0b, 'mem'),
  'v128.const': simd(0x0c, 'v128'),
  'i8x16.shuffle': simd(0x0d, 'v128'),
  'i32x4.splat': simd(0x11),
  'f32x4.splat': simd(0x13),
  'i32x4.extract_lane': simd(0x1b, 'lane'),
  'i32x4.replace_lane': simd(0x1c, 'lane'),
  'f32x4.extract_lane': simd(0x1f, 'lane'),
  'f32x4.replace_lane': simd(0x20, 'lane'),
  'v128.load32_lane': simd(0x56, 'mem', 'lane'),
  'v128.store32_lane': simd(0x5a, 'mem', 'lane'),
  'i32x4.eq': simd(0x37),
  'i32x4.ne': simd(0x38),
  'i32x4.lt_s': simd(0x39),
  'i32x4.gt_s': simd(0x3b),
  'i32x4.le_s': simd(0x3d),
  'i32x4.ge_s': simd(0x3f),
  'f32x4.eq': simd(0x41),
  'f32x4.ne': simd(0x42),
  'f32x4.lt': simd(0x43),
  'f32x4.gt': simd(0x44),
  'f32x4.le': simd(0x45),
  'f32x4.ge': simd(0x46),
  'v128.not': simd(0x4d),
  'v128.and': simd(0x4e),
  'v128.andnot': simd(0x4f),
  'v128.or': simd(0x50),
  'v128.xor': simd(0x51),
  'v128.bitselect': simd(0x52),
  'v128.any_true': simd(0x53),
  'i8x16.narrow_i16x8_u': simd(0x66),
  'f32x4.ceil': simd(0x67),
  'f32x4.floor': simd(0x68),
  'f32x4.trunc': simd(0x69),
  'f32x4.nearest': simd(0x6a),
  'i16x8.narrow_i32x4_u': simd(0x86),
  'i16x8.extend_low_i8x16_u': simd(0x89),
  'i32x4.all_true': simd(0xa3),
  'i32x4.extend_low_i16x8_u': simd(0xa9),
  'i32x4.abs': simd(0xa0),
  'i32x4.neg': simd(0xa1),
  'i32x4.shl': simd(0xab),
  'i32x4.shr_s': simd(0xac),
  'i32x4.shr_u': simd(0xad),
  'i32x4.add': simd(0xae),
  'i32x4.sub': simd(0xb1),
  'i32x4.mul': simd(0xb5),
  'i32x4.min_s': simd(0xb6),
  'i32x4.max_s': simd(0xb8),
  'f32x4.abs': simd(0xe0),
  'f32x4.neg': simd(0xe1),
  'f32x4.sqrt': simd(0xe3),
  'f32x4.add': simd(0xe4),
  'f32x4.sub': simd(0xe5),
  'f32x4.mul': simd(0xe6),
  'f32x4.div': simd(0xe7),
  'f32x4.min': simd(0xe8),
  'f32x4.max': simd(0xe9),
  'i32x4.trunc_sat_f32x4_s': simd(0xf8),
  'f32x4.convert_i32x4_s': simd(0xfa),
  'f32x4.convert_i32x4_u': simd(0xfb),
  // f64x2, and more i32x4/i64x2/f32x4 (math.ts: f64 range reduction and pow).
  'f64x2.splat': simd(0x14),
  'f64x2.extract_lane': simd(0x21, 'lane'),
  'f64x2.replace_lane': simd(0x22, 'lane'),
  'f64x2.eq': simd(0x47),
  'f64x2.ne': simd(0x48),
  'f64x2.lt': simd(0x49),
  'f64x2.gt': simd(0x4a),
  'f64x2.le': simd(0x4b),
  'f64x2.ge': simd(0x4c),
  'f32x4.demote_f64x2_zero': simd(0x5e),
  'f64x2.promote_low_f32x4': simd(0x5f),
  'f64x2.ceil': simd(0x74),
  'f64x2.floor': simd(0x75),
  'f64x2.trunc': simd(0x7a),
  'f64x2.nearest': simd(0x94),
  'i32x4.lt_u': simd(0x3a),
  'i32x4.gt_u': simd(0x3c),
  'i32x4.bitmask': simd(0xa4),
  'i32x4.min_u': simd(0xb7),
  'i32x4.max_u': simd(0xb9),
  'i64x2.shl': simd(0xcb),
  'i64x2.shr_s': simd(0xcc),
  'i64x2.shr_u': simd(0xcd),
  'i64x2.add': simd(0xce),
  'i64x2.sub': simd(0xd1),
  'f32x4.pmin': simd(0xea),
  'f32x4.pmax': simd(0xeb),
  'f64x2.abs': simd(0xec),
  'f64x2.neg': simd(0xed),
  'f64x2.sqrt': simd(0xef),
  'f64x2.add': simd(0xf0),
  'f64x2.sub': simd(0xf1),
  'f64x2.mul': simd(0xf2),
  'f64x2.div': simd(0xf3),
  'f64x2.min': simd(0xf4),
  'f64x2.max': simd(0xf5),
  'f64x2.pmin': simd(0xf6),
  'f64x2.pmax': simd(0xf7),
  'i32x4.trunc_sat_f64x2_s_zero': simd(0xfc),
  'f64x2.convert_low_i32x4_s': simd(0xfe),
  /** Relaxed SIMD (present only where the engine validates it): a * b + c, fused or not. */
  'f32x4.relaxed_madd': simd(0x105),
} satisfies Record<string, OpInfo>;

export type OpName = keyof typeof OPCODES;

/** Block result: none, or one value. */
export type BlockType = ValType | 'void';

export function leb128(n: number): number[] {
  if (!Number.isInteger(n) || n < 0) throw new Error(`leb128: not an unsigned integer: ${n}`);
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return out;
}

export function sleb128(n: number | bigint): number[] {
  let v = BigInt(n);
  const out: number[] = [];
  for (;;) {
    const byte = Number(v & 0x7fn);
    v >>= 7n;
    const done = (v === 0n && (byte & 0x40) === 0) || (v === -1n && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

const scratch = new DataView(new ArrayBuffer(8));
function f32Bytes(v: number): number[] {
  scratch.setFloat32(0, v, true);
  return [0, 1, 2, 3].map((i) => scratch.getUint8(i));
}
function f64Bytes(v: number): number[] {
  scratch.setFloat64(0, v, true);
  return [0, 1, 2, 3, 4, 5, 6, 7].map((i) => scratch.getUint8(i));
}

function encodeString(s: string): number[] {
  const bytes = [...new TextEncoder().encode(s)];
  return [...leb128(bytes.length), ...bytes];
}

/** A memory operand: byte offset added to the address, and the alignment (log2 bytes). */
export interface MemArg {
  readonly offset?: number;
  readonly align?: number;
}

/** Natural alignment (log2 bytes) of each memory instruction. */
function naturalAlign(name: OpName): number {
  if (name.startsWith('v128.load32') || name === 'v128.store32_lane') return 2;
  if (name.startsWith('v128')) return 4;
  if (name.endsWith('8') || name.endsWith('8_u')) return 0;
  return 2;
}

/** One function's body: locals and instructions, as bytes and as text. */
export class FunctionBuilder {
  readonly bytes: number[] = [];
  private readonly text: string[] = [];
  private readonly localTypes: ValType[] = [];
  private depth = 1;

  constructor(
    readonly name: string,
    readonly params: readonly ValType[],
    readonly results: readonly ValType[],
  ) {}

  /** A new local of type `t`; returns its index. */
  local(t: ValType): number {
    this.localTypes.push(t);
    return this.params.length + this.localTypes.length - 1;
  }

  get localCount(): number {
    return this.params.length + this.localTypes.length;
  }

  /** Appends one instruction with its immediates (a memory operand as `MemArg`, optional; a block type; numbers). */
  op(name: OpName, ...imms: (number | bigint | MemArg | BlockType | readonly number[])[]): this {
    const info: OpInfo = OPCODES[name];
    // The memory operand may be left out: natural alignment, no offset.
    if (info.imm[0] === 'mem' && imms.length === info.imm.length - 1) imms = [{}, ...imms];
    if (imms.length !== info.imm.length) {
      throw new Error(`wasm encoder: ${name} takes ${info.imm.length} immediates, got ${imms.length}`);
    }
    if (name === 'end' || name === 'else') this.depth--;
    const shown: string[] = [];
    this.bytes.push(...info.code);
    info.imm.forEach((kind, i) => {
      const v = imms[i];
      switch (kind) {
        case 'u32':
          this.bytes.push(...leb128(v as number));
          shown.push(String(v));
          break;
        case 'i32':
          this.bytes.push(...sleb128(v as number));
          shown.push(String(v));
          break;
        case 'i64':
          this.bytes.push(...sleb128(v as bigint | number));
          shown.push(String(v));
          break;
        case 'f32':
          this.bytes.push(...f32Bytes(v as number));
          shown.push(String(v));
          break;
        case 'f64':
          this.bytes.push(...f64Bytes(v as number));
          shown.push(String(v));
          break;
        case 'lane':
          if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > 15)
            throw new Error(`wasm encoder: ${name}: lane index must be 0..15, got ${String(v)}`);
          this.bytes.push(v as number);
          shown.push(String(v));
          break;
        case 'v128': {
          const lanes = v as readonly number[];
          if (
            !Array.isArray(lanes) ||
            lanes.length !== 16 ||
            lanes.some((b) => !Number.isInteger(b) || b < 0 || b > 255)
          )
            throw new Error(`wasm encoder: ${name} takes 16 bytes (integers 0..255)`);
          this.bytes.push(...lanes);
          shown.push(lanes.join(' '));
          break;
        }
        case 'mem': {
          if (typeof v !== 'object' || v === null || Array.isArray(v))
            throw new Error(`wasm encoder: ${name}: expected a memory operand {offset?, align?}, got ${String(v)}`);
          const m = v as MemArg;
          const align = m.align ?? naturalAlign(name);
          this.bytes.push(...leb128(align), ...leb128(m.offset ?? 0));
          if (m.offset) shown.push(`offset=${m.offset}`);
          if (m.align !== undefined) shown.push(`align=${1 << align}`);
          break;
        }
        case 'block': {
          const t = v as BlockType;
          this.bytes.push(t === 'void' ? 0x40 : VALTYPE_CODE[t]);
          if (t !== 'void') shown.push(`(result ${t})`);
          break;
        }
      }
    });
    this.text.push(`${'  '.repeat(this.depth)}${[name, ...shown].join(' ')}`);
    if (name === 'block' || name === 'loop' || name === 'if' || name === 'else') this.depth++;
    return this;
  }

  /** A comment line in the text form (no bytes). */
  comment(s: string): this {
    this.text.push(`${'  '.repeat(this.depth)};; ${s}`);
    return this;
  }

  /** The function's body as a code-section entry (locals run-length encoded, instructions, `end`). */
  encodeBody(): number[] {
    const groups: [number, ValType][] = [];
    for (const t of this.localTypes) {
      const last = groups[groups.length - 1];
      if (last && last[1] === t) last[0]++;
      else groups.push([1, t]);
    }
    const body = [
      ...leb128(groups.length),
      ...groups.flatMap(([n, t]) => [...leb128(n), VALTYPE_CODE[t]]),
      ...this.bytes,
      0x0b,
    ];
    return [...leb128(body.length), ...body];
  }

  /** WebAssembly text of the function (instructions one per line). */
  toText(): string {
    const sig = [...this.params.map((t, i) => `(param $${i} ${t})`), ...this.results.map((t) => `(result ${t})`)].join(
      ' ',
    );
    const locals = this.localTypes.map((t, i) => `(local $${this.params.length + i} ${t})`).join(' ');
    return [`(func $${this.name} ${sig}`, ...(locals ? [`  ${locals}`] : []), ...this.text, ')'].join('\n');
  }
}

export interface MemoryImport {
  /** Initial size in 64 KiB pages. */
  readonly initial: number;
  readonly maximum?: number;
  readonly shared?: boolean;
}

interface FunctionImport {
  readonly name: string;
  readonly params: readonly ValType[];
  readonly results: readonly ValType[];
}

/**
 * A module: one memory imported as `env.memory`, host functions imported
 * from `env` (they take the first function indices), functions (referenced
 * by index in `call`), and the functions it exports by name.
 */
export class ModuleBuilder {
  private readonly imports: FunctionImport[] = [];
  private readonly functions: FunctionBuilder[] = [];
  private readonly exports = new Map<string, number>();

  constructor(private readonly memory: MemoryImport = { initial: 1 }) {}

  /** Imports host function `env.<name>`; returns its index. Only before the first `addFunction`. */
  importFunction(name: string, params: readonly ValType[], results: readonly ValType[]): number {
    if (this.functions.length) throw new Error("wasm encoder: imports come before the module's own functions");
    const known = this.imports.findIndex((f) => f.name === name);
    if (known >= 0) return known;
    return this.imports.push({ name, params, results }) - 1;
  }

  /** Names of the imported host functions, in index order. */
  get importedFunctions(): readonly string[] {
    return this.imports.map((f) => f.name);
  }

  /** Adds a function; returns its index (for `call`). */
  addFunction(f: FunctionBuilder, exportAs?: string): number {
    this.functions.push(f);
    const index = this.imports.length + this.functions.length - 1;
    if (exportAs !== undefined) this.exports.set(exportAs, index);
    return index;
  }

  encode(): Uint8Array {
    const types: string[] = [];
    const typeBytes: number[][] = [];
    const typeOf = (f: { readonly params: readonly ValType[]; readonly results: readonly ValType[] }) => {
      const bytes = [
        0x60,
        ...leb128(f.params.length),
        ...f.params.map((t) => VALTYPE_CODE[t]),
        ...leb128(f.results.length),
        ...f.results.map((t) => VALTYPE_CODE[t]),
      ];
      const key = bytes.join(',');
      let i = types.indexOf(key);
      if (i < 0) {
        i = types.push(key) - 1;
        typeBytes.push(bytes);
      }
      return i;
    };
    const importTypes = this.imports.map(typeOf);
    const typeIndex = this.functions.map(typeOf);
    const m = this.memory;
    const limits =
      m.maximum === undefined
        ? [0x00, ...leb128(m.initial)]
        : [m.shared ? 0x03 : 0x01, ...leb128(m.initial), ...leb128(m.maximum)];
    const importEntries = [
      [...encodeString('env'), ...encodeString('memory'), 0x02, ...limits],
      ...this.imports.map((f, i) => [...encodeString('env'), ...encodeString(f.name), 0x00, ...leb128(importTypes[i])]),
    ];
    const exportEntries = [...this.exports].map(([name, i]) => [...encodeString(name), 0x00, ...leb128(i)]);
    const section = (id: number, entries: number[][]) => {
      const content = [...leb128(entries.length), ...entries.flat()];
      return [id, ...leb128(content.length), ...content];
    };
    return new Uint8Array([
      ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
      ...section(1, typeBytes),
      ...section(2, importEntries),
      ...section(
        3,
        typeIndex.map((t) => leb128(t)),
      ),
      ...section(7, exportEntries),
      ...section(
        10,
        this.functions.map((f) => f.encodeBody()),
      ),
    ]);
  }

  /** WebAssembly text of the imports and every function. */
  toText(): string {
    const imports = this.imports.map(
      (f) =>
        `(import "env" "${f.name}" (func ${[...f.params.map((t) => `(param ${t})`), ...f.results.map((t) => `(result ${t})`)].join(' ')}))`,
    );
    return [...imports, ...this.functions.map((f) => f.toText())].join('\n');
  }
}
