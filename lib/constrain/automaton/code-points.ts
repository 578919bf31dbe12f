/**
 * Sets of Unicode scalar values as sorted, disjoint, inclusive ranges, and their UTF-8 form: a set becomes
 * a list of byte-range sequences (each sequence one encoding length), so that an automaton over bytes
 * accepts exactly the UTF-8 encodings of the set's characters. Surrogates (U+D800–U+DFFF) are never
 * members: they have no UTF-8 encoding.
 */

export type Range = readonly [number, number];
export type CodePointSet = readonly Range[];

export const MAX_CODE_POINT = 0x10ffff;
const SURROGATES: Range = [0xd800, 0xdfff];

/** Sorts and merges ranges, and removes surrogates. */
export function normalizeSet(ranges: readonly Range[]): CodePointSet {
  const sorted = [...ranges].filter(([lo, hi]) => lo <= hi).sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const [lo, hi] of sorted) {
    const last = merged[merged.length - 1];
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else merged.push([lo, hi]);
  }
  return subtract(merged, [SURROGATES]);
}

export function union(a: CodePointSet, b: CodePointSet): CodePointSet {
  return normalizeSet([...a, ...b]);
}

/**
 * The scalar values not in `set`. Surrogates are no scalar values: a complement holding them let a negated class
 * ([^a], \D, \W, \S, .) produce their bytes, which are not UTF-8 (found by fuzzing).
 */
export function complement(set: CodePointSet): CodePointSet {
  return subtract([[0, MAX_CODE_POINT]], [...set, SURROGATES]);
}

function subtract(from: readonly Range[], remove: readonly Range[]): CodePointSet {
  let out: [number, number][] = from.map(([lo, hi]) => [lo, hi]);
  for (const [rlo, rhi] of remove) {
    const next: [number, number][] = [];
    for (const [lo, hi] of out) {
      if (rhi < lo || rlo > hi) next.push([lo, hi]);
      else {
        if (lo < rlo) next.push([lo, rlo - 1]);
        if (hi > rhi) next.push([rhi + 1, hi]);
      }
    }
    out = next;
  }
  return out;
}

export const ANY_CHAR: CodePointSet = normalizeSet([[0, MAX_CODE_POINT]]);
export const DIGIT: CodePointSet = [[0x30, 0x39]];
export const WORD: CodePointSet = normalizeSet([
  [0x30, 0x39],
  [0x41, 0x5a],
  [0x5f, 0x5f],
  [0x61, 0x7a],
]);
/** ECMAScript's WhiteSpace and LineTerminator characters (what `\s` matches). */
export const SPACE: CodePointSet = normalizeSet([
  [0x09, 0x0d],
  [0x20, 0x20],
  [0xa0, 0xa0],
  [0x1680, 0x1680],
  [0x2000, 0x200a],
  [0x2028, 0x2029],
  [0x202f, 0x202f],
  [0x205f, 0x205f],
  [0x3000, 0x3000],
  [0xfeff, 0xfeff],
]);
/** What `.` matches: everything but the line terminators. */
export const DOT: CodePointSet = complement(
  normalizeSet([
    [0x0a, 0x0a],
    [0x0d, 0x0d],
    [0x2028, 0x2029],
  ]),
);

/** One UTF-8 encoding pattern: the allowed byte range at each position. */
export type ByteSequence = readonly Range[];

const LENGTH_LIMITS = [0x7f, 0x7ff, 0xffff, MAX_CODE_POINT];

/** Byte-range sequences whose concatenations are exactly the UTF-8 encodings of the set's members. */
export function utf8Sequences(set: CodePointSet): ByteSequence[] {
  const out: ByteSequence[] = [];
  for (const [lo, hi] of set) {
    let start = lo;
    for (let n = 0; n < LENGTH_LIMITS.length && start <= hi; n++) {
      const limit = LENGTH_LIMITS[n]!;
      if (start > limit) continue;
      splitSameLength(start, Math.min(hi, limit), n + 1, out);
      start = limit + 1;
    }
  }
  return out;
}

/**
 * Splits [lo, hi] (all encoded in n bytes) until the encodings of lo and hi differ only in ranges that
 * cover every byte in between: then one sequence of byte ranges describes the whole range.
 */
function splitSameLength(lo: number, hi: number, n: number, out: ByteSequence[]): void {
  for (let i = 1; i < n; i++) {
    const low = (1 << (6 * i)) - 1; // bits carried by the last i continuation bytes
    if ((lo & ~low) === (hi & ~low)) continue;
    if ((lo & low) !== 0) {
      splitSameLength(lo, lo | low, n, out);
      splitSameLength((lo | low) + 1, hi, n, out);
      return;
    }
    if ((hi & low) !== low) {
      splitSameLength(lo, (hi & ~low) - 1, n, out);
      splitSameLength(hi & ~low, hi, n, out);
      return;
    }
  }
  const a = encode(lo);
  const b = encode(hi);
  out.push(a.map((x, i) => [x, b[i]!] as const));
}

export function encode(cp: number): number[] {
  if (cp < 0x80) return [cp];
  if (cp < 0x800) return [0xc0 | (cp >> 6), 0x80 | (cp & 0x3f)];
  if (cp < 0x10000) return [0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)];
  return [0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)];
}
