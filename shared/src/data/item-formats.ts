import { MAX_ID_LENGTH } from '../domain/interaction.js';
import { splitCsvLine } from './lines.js';

/** Item features as stored in `items.features`: named lists of tokens, plus a title. */
export interface ItemFeatures {
  title?: string;
  genres?: string[];
  tags?: string[];
  /** A numeric feature vector (e.g. an image or text embedding), fed to the encoder as is. */
  dense?: number[];
}

export type ItemLineOutcome =
  | { kind: 'item'; itemId: string; features: ItemFeatures }
  | { kind: 'rejected'; reason: string }
  | { kind: 'header' };

/** The 19 genre flags of MovieLens 100K's u.item, in column order (as listed in u.genre). */
export const MOVIELENS_GENRES = [
  'unknown', 'Action', 'Adventure', 'Animation', "Children's", 'Comedy', 'Crime',
  'Documentary', 'Drama', 'Fantasy', 'Film-Noir', 'Horror', 'Musical', 'Mystery', 'Romance',
  'Sci-Fi', 'Thriller', 'War', 'Western',
]; // prettier-ignore

/**
 * One line of MovieLens 100K's `u.item`:
 * `id|title|release date|video release date|IMDb URL|<19 genre flags>`.
 */
export function parseMovieLensItem(line: string): ItemLineOutcome {
  if (line.trim() === '') return { kind: 'rejected', reason: 'empty line' };
  const parts = line.split('|');
  const expected = 5 + MOVIELENS_GENRES.length;
  if (parts.length !== expected) {
    return {
      kind: 'rejected',
      reason: `expected ${expected} |-separated fields, found ${parts.length}`,
    };
  }
  const [itemId, title] = parts;
  if (!/^\d+$/.test(itemId)) {
    return {
      kind: 'rejected',
      reason: `item id ${JSON.stringify(itemId)} is not a positive integer`,
    };
  }
  const flags = parts.slice(5);
  const badFlag = flags.findIndex((flag) => flag !== '0' && flag !== '1');
  if (badFlag >= 0) {
    return {
      kind: 'rejected',
      reason: `genre flag ${badFlag + 1} is ${JSON.stringify(flags[badFlag])}, expected 0 or 1`,
    };
  }
  const genres = MOVIELENS_GENRES.filter((_, index) => flags[index] === '1');
  return { kind: 'item', itemId, features: { title, genres } };
}

/**
 * A CSV of tags with a header row: one tag per line (`item,tag`, as MovieLens' tags.csv), or
 * several per line separated by `|`. Lines of the same item are merged by the importer.
 */
export function createTagCsvParser(
  mapping: { item?: string; tag?: string } = {},
): (line: string) => ItemLineOutcome {
  const itemColumn = mapping.item ?? 'item';
  const tagColumn = mapping.tag ?? 'tag';
  let indexes: { item: number; tag: number } | undefined;

  return (line) => {
    const fields = splitCsvLine(line);
    if (!Array.isArray(fields)) return { kind: 'rejected', reason: fields.error };
    if (!indexes) {
      const names = fields.map((name) => name.trim());
      const item = names.indexOf(itemColumn);
      const tag = names.indexOf(tagColumn);
      if (item < 0 || tag < 0) {
        throw new Error(
          `the tag CSV header needs columns ${JSON.stringify(itemColumn)} and ${JSON.stringify(tagColumn)}, ` +
            `found ${names.map((name) => JSON.stringify(name)).join(', ')}; pass --map item=...,tag=...`,
        );
      }
      indexes = { item, tag };
      return { kind: 'header' };
    }
    if (line.trim() === '') return { kind: 'rejected', reason: 'empty line' };
    const itemId = (fields[indexes.item] ?? '').trim();
    if (itemId === '') return { kind: 'rejected', reason: 'item id is missing' };
    if (itemId.length > MAX_ID_LENGTH) {
      return { kind: 'rejected', reason: `item id is longer than ${MAX_ID_LENGTH} characters` };
    }
    const tags = (fields[indexes.tag] ?? '')
      .split('|')
      .map((tag) => tag.trim().toLowerCase())
      .filter((tag) => tag !== '');
    if (tags.length === 0) return { kind: 'rejected', reason: 'no tag on the line' };
    return { kind: 'item', itemId, features: { tags } };
  };
}

/**
 * Merges the features of one item read from several lines or files: later keys win, tag
 * lists are united, sorted and deduplicated so the result does not depend on line order.
 */
export function mergeItemFeatures(
  stored: ItemFeatures | undefined,
  next: ItemFeatures,
): ItemFeatures {
  const tags = [...(stored?.tags ?? []), ...(next.tags ?? [])];
  const merged: ItemFeatures = { ...stored, ...next };
  if (tags.length > 0) merged.tags = [...new Set(tags)].sort();
  return merged;
}

/** The parser for a features file: MovieLens `u.item` by name, else a tag CSV. */
export function itemParserFor(
  file: string,
  mapping?: { item?: string; tag?: string },
): { parse: (line: string) => ItemLineOutcome; encoding: BufferEncoding } {
  const isMovieLens = /(^|[\\/])u\.item$/i.test(file);
  return isMovieLens
    ? { parse: parseMovieLensItem, encoding: 'latin1' }
    : { parse: createTagCsvParser(mapping), encoding: 'utf8' };
}
