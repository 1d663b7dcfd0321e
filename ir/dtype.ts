/** Element types of the IR and their promotion lattice (bool < i32 < f32). */

export type DType = 'f32' | 'i32' | 'bool';

/** The names the public API uses for dtypes. */
export type PublicDType = 'float32' | 'int32' | 'bool';

export const DTYPES: readonly DType[] = ['f32', 'i32', 'bool'];

const RANK: Record<DType, number> = { bool: 0, i32: 1, f32: 2 };

export function isDType(s: string): s is DType {
  return s === 'f32' || s === 'i32' || s === 'bool';
}

/** The smallest dtype both operands convert to without loss of kind. */
export function promote(a: DType, b: DType): DType {
  return RANK[a] >= RANK[b] ? a : b;
}

export function toPublic(d: DType): PublicDType {
  return d === 'f32' ? 'float32' : d === 'i32' ? 'int32' : 'bool';
}

export function fromPublic(d: string): DType | undefined {
  if (d === 'float32') return 'f32';
  if (d === 'int32') return 'i32';
  if (d === 'bool') return 'bool';
  return undefined;
}

/** Bytes per element when stored (bool as one byte). */
export function byteSize(d: DType): number {
  return d === 'bool' ? 1 : 4;
}

/** The int32 range: a JS number given for an int32 value must lie in it (never a silent wrap). */
export const INT32_MIN = -(2 ** 31);
export const INT32_MAX = 2 ** 31 - 1;
