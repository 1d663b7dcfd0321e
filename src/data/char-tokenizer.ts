/**
 * A character-level tokenizer for short words such as first names: id 0 is
 * the boundary token (it starts a word as input and ends it as a target),
 * ids 1.. are the characters of the alphabet it was built from, sorted.
 */
import { LazygradError } from '../../ir';

/** The boundary token: "start of name" as an input, "end of name" as a target. */
export const BOUNDARY = 0;

export class CharTokenizer {
  /** The characters, in id order from 1. */
  readonly alphabet: readonly string[];
  private readonly idOf: Map<string, number>;

  /** A tokenizer over every character that occurs in `words`. */
  static fromWords(words: readonly string[]): CharTokenizer {
    const chars = new Set<string>();
    for (const w of words) for (const c of w) chars.add(c);
    return new CharTokenizer([...chars].sort());
  }

  constructor(alphabet: readonly string[]) {
    if (new Set(alphabet).size !== alphabet.length)
      throw new LazygradError(`CharTokenizer: the alphabet has repeated characters: ${alphabet.join('')}`);
    this.alphabet = alphabet;
    this.idOf = new Map(alphabet.map((c, i) => [c, i + 1]));
  }

  /** Number of ids: the characters plus the boundary token. */
  get vocabSize(): number {
    return this.alphabet.length + 1;
  }

  /** The ids of the characters of `word` (no boundary tokens). */
  encode(word: string): number[] {
    return [...word].map((c) => {
      const id = this.idOf.get(c);
      if (id === undefined)
        throw new LazygradError(
          `CharTokenizer: character ${JSON.stringify(c)} in ${JSON.stringify(word)} is not in the alphabet "${this.alphabet.join('')}"`,
        );
      return id;
    });
  }

  /** The word spelled by character ids (a boundary id ends it). */
  decode(ids: readonly number[]): string {
    let word = '';
    for (const id of ids) {
      if (id === BOUNDARY) break;
      const c = this.alphabet[id - 1];
      if (c === undefined)
        throw new LazygradError(`CharTokenizer: id ${id} is out of range (vocabulary size ${this.vocabSize})`);
      word += c;
    }
    return word;
  }
}
