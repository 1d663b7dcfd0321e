/**
 * Pytrees: nested arrays and plain objects whose leaves are tensors (or
 * numbers). Flattening gives the leaves in a fixed order and a structure
 * description that can rebuild the tree around new leaves, and that serves
 * as part of jit's cache signature.
 */
import { Tensor } from './tensor';

export type TreeDef =
  | { readonly kind: 'leaf' }
  | { readonly kind: 'none'; readonly value: null | undefined }
  | { readonly kind: 'array'; readonly items: readonly TreeDef[] }
  | { readonly kind: 'object'; readonly keys: readonly string[]; readonly items: readonly TreeDef[] };

function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (x === null || typeof x !== 'object') return false;
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

export function flattenTree(tree: unknown): { leaves: unknown[]; def: TreeDef } {
  const leaves: unknown[] = [];
  const walk = (x: unknown): TreeDef => {
    if (x === null || x === undefined) return { kind: 'none', value: x };
    if (Array.isArray(x)) return { kind: 'array', items: x.map(walk) };
    if (isPlainObject(x)) {
      const keys = Object.keys(x).sort();
      return { kind: 'object', keys, items: keys.map((k) => walk(x[k])) };
    }
    leaves.push(x);
    return { kind: 'leaf' };
  };
  const def = walk(tree);
  return { leaves, def };
}

export function unflattenTree(def: TreeDef, leaves: readonly unknown[]): unknown {
  let i = 0;
  const build = (d: TreeDef): unknown => {
    switch (d.kind) {
      case 'leaf':
        return leaves[i++];
      case 'none':
        return d.value;
      case 'array':
        return d.items.map(build);
      case 'object': {
        const o: Record<string, unknown> = {};
        d.keys.forEach((k, j) => (o[k] = build(d.items[j])));
        return o;
      }
    }
  };
  return build(def);
}

export function treeDefKey(def: TreeDef): string {
  switch (def.kind) {
    case 'leaf':
      return '*';
    case 'none':
      return String(def.value);
    case 'array':
      return `[${def.items.map(treeDefKey).join(',')}]`;
    case 'object':
      return `{${def.keys.map((k, j) => `${JSON.stringify(k)}:${treeDefKey(def.items[j])}`).join(',')}}`;
  }
}

export function treeTensors(tree: unknown): Tensor[] {
  return flattenTree(tree).leaves.filter((x): x is Tensor => x instanceof Tensor);
}
