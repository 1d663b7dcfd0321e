/**
 * The error family of lazygrad. It lives in ir/ because the shape and dtype
 * rules that raise most of these errors live here; src/ re-exports it.
 */
export class LazygradError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Shapes that do not fit the op (broadcast, reshape size, axes, ...). */
export class ShapeError extends LazygradError {}

/** A dtype the op does not accept. */
export class DTypeError extends LazygradError {}

/** A malformed graph, from the verifier or the parser. */
export class GraphError extends LazygradError {}

/** A user-supplied value for an error message (safe for symbols, functions and cycles). */
export function show(v: unknown): string {
  if (typeof v === 'symbol' || typeof v === 'function') return String(v);
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return Object.prototype.toString.call(v);
  }
}
