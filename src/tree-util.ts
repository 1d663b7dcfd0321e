/**
 * Mapping over pytrees of tensors (the shape optax-style optimisers need),
 * and matching trees against each other: a mismatch is reported at its key
 * path (`layers.0.w`) with what each tree has there.
 */
import { LazygradError, fmtShape } from '../ir';
import { flattenTree, type TreeDef, unflattenTree } from './pytree';
import { Tensor } from './tensor';
import { describeValue } from './option-check';

/** Key path of a position in a tree: keys and indices joined by dots. */
const pathText = (path: readonly (string | number)[]) => (path.length ? path.join('.') : 'the root');

/** The key path of every leaf, in flattenTree's leaf order. */
export function leafPaths(def: TreeDef): string[] {
  const out: string[] = [];
  const walk = (d: TreeDef, path: (string | number)[]) => {
    if (d.kind === 'leaf') out.push(pathText(path));
    else if (d.kind === 'array') d.items.forEach((x, i) => walk(x, [...path, i]));
    else if (d.kind === 'object') d.items.forEach((x, i) => walk(x, [...path, d.keys[i]]));
  };
  walk(def, []);
  return out;
}

/** What a tree holds at one position, in words. */
function nodeText(d: TreeDef): string {
  switch (d.kind) {
    case 'leaf':
      return 'a leaf';
    case 'none':
      return String(d.value);
    case 'array':
      return `an array of ${d.items.length} item${d.items.length === 1 ? '' : 's'}`;
    case 'object':
      return `keys {${d.keys.join(', ')}}`;
  }
}

/** A whole structure, compactly (`{layers: [{b: *, w: *}]}`), shortened when long. */
function structureText(d: TreeDef): string {
  const text = (x: TreeDef): string => {
    switch (x.kind) {
      case 'leaf':
        return '*';
      case 'none':
        return String(x.value);
      case 'array':
        return `[${x.items.map(text).join(', ')}]`;
      case 'object':
        return `{${x.keys.map((k, i) => `${k}: ${text(x.items[i])}`).join(', ')}}`;
    }
  };
  const s = text(d);
  return s.length > 160 ? `${s.slice(0, 157)}...` : s;
}

function sameNode(a: TreeDef, b: TreeDef): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === 'none') return a.value === (b as typeof a).value;
  if (a.kind === 'array') return a.items.length === (b as typeof a).items.length;
  if (a.kind === 'object') {
    const bk = (b as typeof a).keys;
    return a.keys.length === bk.length && a.keys.every((k, i) => k === bk[i]);
  }
  return true;
}

/** The first key path where two structures differ, or undefined when they are the same. */
function firstDifference(
  a: TreeDef,
  b: TreeDef,
  path: (string | number)[] = [],
): { path: string; a: TreeDef; b: TreeDef } | undefined {
  if (!sameNode(a, b)) return { path: pathText(path), a, b };
  if (a.kind !== 'array' && a.kind !== 'object') return undefined;
  const bItems = (b as typeof a).items;
  for (let i = 0; i < a.items.length; i++) {
    const key = a.kind === 'object' ? a.keys[i] : i;
    const d = firstDifference(a.items[i], bItems[i], [...path, key]);
    if (d) return d;
  }
  return undefined;
}

/** Throws naming the first key path where the structures of two named trees differ. */
export function checkSameStructure(op: string, aName: string, a: TreeDef, bName: string, b: TreeDef): void {
  const d = firstDifference(a, b);
  if (!d) return;
  throw new LazygradError(
    `${op}: ${aName} and ${bName} differ at ${d.path}: ${aName} has ${nodeText(d.a)}, ${bName} has ${nodeText(d.b)} ` +
      `(${aName}: ${structureText(a)}; ${bName}: ${structureText(b)})`,
  );
}

/**
 * Checks that `tree` has the structure of `template` and, leaf by leaf, the
 * same shape and dtype (both trees of tensors). Names are how the message
 * calls the two trees (`grads`, `state.m`).
 */
export function checkMatchingTrees(op: string, name: string, tree: unknown, templateName: string, template: unknown) {
  const t = flattenTree(tree);
  const ref = flattenTree(template);
  checkSameStructure(op, name, t.def, templateName, ref.def);
  const paths = leafPaths(ref.def);
  const at = (treeName: string, i: number) => (paths[i] === 'the root' ? treeName : `${treeName}.${paths[i]}`);
  ref.leaves.forEach((r, i) => {
    const l = t.leaves[i];
    if (!(l instanceof Tensor))
      throw new LazygradError(`${op}: ${at(name, i)} must be a tensor, got ${describeValue(l)}`);
    if (!(r instanceof Tensor))
      throw new LazygradError(`${op}: ${at(templateName, i)} must be a tensor, got ${describeValue(r)}`);
    if (l.shape.length !== r.shape.length || l.shape.some((d, k) => d !== r.shape[k]))
      throw new LazygradError(
        `${op}: ${at(name, i)} has shape ${fmtShape(l.shape)} but ${at(templateName, i)} has shape ${fmtShape(r.shape)} ` +
          '(gradients, optimiser state and parameters must match in structure, shape and dtype)',
      );
    if (l.dtype !== r.dtype)
      throw new LazygradError(
        `${op}: ${at(name, i)} has dtype ${l.dtype} but ${at(templateName, i)} has dtype ${r.dtype} ` +
          '(gradients, optimiser state and parameters must match in structure, shape and dtype)',
      );
  });
}

export function treeMap(fn: (...xs: Tensor[]) => Tensor, tree: unknown, ...rest: unknown[]): unknown {
  if (typeof fn !== 'function') throw new LazygradError(`treeMap: expected a function, got ${describeValue(fn)}`);
  const { leaves, def } = flattenTree(tree);
  const others = rest.map((r, k) => {
    const f = flattenTree(r);
    checkSameStructure('treeMap', 'tree 0', def, `tree ${k + 1}`, f.def);
    return f.leaves;
  });
  const paths = leafPaths(def);
  return unflattenTree(
    def,
    leaves.map((l, i) => {
      for (const [k, x] of [l, ...others.map((o) => o[i])].entries())
        if (!(x instanceof Tensor))
          throw new LazygradError(
            `treeMap: expected tensor leaves, got ${describeValue(x)} in tree ${k} at ${paths[i]}`,
          );
      return fn(l as Tensor, ...others.map((o) => o[i] as Tensor));
    }),
  );
}

/** Checks that every leaf of a tree is a tensor, naming the first that is not by its key path. */
export function checkTensorLeaves(op: string, name: string, tree: unknown): void {
  const { leaves, def } = flattenTree(tree);
  const paths = leafPaths(def);
  leaves.forEach((l, i) => {
    if (!(l instanceof Tensor)) {
      const at = paths[i] === 'the root' ? name : `${name}.${paths[i]}`;
      throw new LazygradError(
        `${op}: ${at} must be a tensor (${name} is a pytree of tensors), got ${describeValue(l)}`,
      );
    }
  });
}
