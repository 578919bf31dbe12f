/**
 * Byte-level BPE with tiktoken's semantics: start from single bytes and repeatedly merge the adjacent
 * pair whose concatenation has the lowest rank (the leftmost one on a tie) until no pair is a token.
 *
 * A piece is a "byte string": a JS string whose char codes are the bytes (0..255), so that a
 * `Map<string, number>` keyed by such strings is the rank table. Short pieces use tiktoken's own
 * array scan (fast for a few dozen bytes); long pieces use a linked list and a min-heap so that a
 * megabyte-long piece costs O(n log n) instead of O(n^2).
 */

export type RankTable = ReadonlyMap<string, number>;

/** Pieces up to this many bytes use the quadratic array scan. */
export const SHORT_PIECE_BYTES = 128;

/**
 * Appends `rank + shift` for every token of `piece` to `out`. `piece` must not be empty, and every
 * single byte must be in `ranks`. `maxTokenBytes` is the longest token's length (pairs longer than it
 * cannot be tokens, which saves a lookup).
 */
export function bytePairEncode(
  piece: string,
  ranks: RankTable,
  maxTokenBytes: number,
  out: number[],
  shift: number,
): void {
  if (piece.length <= SHORT_PIECE_BYTES) mergeShortPiece(piece, ranks, out, shift);
  else mergeLongPiece(piece, ranks, maxTokenBytes, out, shift);
}

const NO_RANK = Number.POSITIVE_INFINITY;
// Scratch arrays of the short path (reused: encoding is synchronous).
const partStarts = new Int32Array(SHORT_PIECE_BYTES + 1);
const pairRanks = new Float64Array(SHORT_PIECE_BYTES);

/** tiktoken's scan: parts[i] starts at partStarts[i]; pairRanks[i] is the rank of parts i and i+1 joined. */
export function mergeShortPiece(piece: string, ranks: RankTable, out: number[], shift: number): void {
  const n = piece.length;
  let parts = n;
  for (let i = 0; i <= n; i++) partStarts[i] = i;
  for (let i = 0; i < n - 1; i++) pairRanks[i] = ranks.get(piece.slice(i, i + 2)) ?? NO_RANK;

  for (;;) {
    let best = NO_RANK;
    let at = -1;
    for (let i = 0; i < parts - 1; i++) {
      const r = pairRanks[i]!;
      if (r < best) {
        best = r;
        at = i;
      }
    }
    if (at < 0) break;
    // Merge parts `at` and `at + 1`: drop the start of `at + 1` and its pair rank.
    for (let i = at + 1; i < parts; i++) partStarts[i] = partStarts[i + 1]!;
    for (let i = at + 1; i < parts - 2; i++) pairRanks[i] = pairRanks[i + 1]!;
    parts--;
    pairRanks[at] =
      at + 1 < parts ? (ranks.get(piece.slice(partStarts[at], partStarts[at + 2])) ?? NO_RANK) : NO_RANK;
    if (at > 0) pairRanks[at - 1] = ranks.get(piece.slice(partStarts[at - 1], partStarts[at + 1])) ?? NO_RANK;
  }
  for (let i = 0; i < parts; i++) out.push(ranks.get(piece.slice(partStarts[i], partStarts[i + 1]))! + shift);
}

/**
 * The same merge order with a linked list of parts (named by their start byte) and a min-heap of
 * candidate pairs keyed by `rank * (n + 1) + start`, so ties pop leftmost first. Heap entries go stale
 * when a part merges; an entry is live iff its part still exists and still has that pair rank (a part's
 * pair only ever grows, so a rank never repeats for the same part).
 */
export function mergeLongPiece(
  piece: string,
  ranks: RankTable,
  maxTokenBytes: number,
  out: number[],
  shift: number,
): void {
  const n = piece.length;
  const stride = n + 1;
  const next = new Int32Array(n);
  const prev = new Int32Array(n);
  const rankOf = new Float64Array(n); // pair rank of the part starting here; -1 once merged away
  const heap = new NumberMinHeap();

  const pairRank = (start: number, end: number): number =>
    end - start > maxTokenBytes ? NO_RANK : (ranks.get(piece.slice(start, end)) ?? NO_RANK);

  for (let i = 0; i < n; i++) {
    next[i] = i + 1;
    prev[i] = i - 1;
    const r = i + 1 < n ? pairRank(i, i + 2) : NO_RANK;
    rankOf[i] = r;
    if (r !== NO_RANK) heap.push(r * stride + i);
  }

  while (heap.size > 0) {
    const key = heap.pop();
    const rank = Math.floor(key / stride);
    const i = key - rank * stride;
    if (rankOf[i] !== rank) continue; // stale
    const j = next[i]!; // merged into i
    const k = j < n ? next[j]! : n;
    rankOf[j] = -1;
    next[i] = k;
    if (k < n) prev[k] = i;

    const ri = k < n ? pairRank(i, next[k]!) : NO_RANK;
    rankOf[i] = ri;
    if (ri !== NO_RANK) heap.push(ri * stride + i);
    const p = prev[i]!;
    if (p >= 0) {
      const rp = pairRank(p, k);
      rankOf[p] = rp;
      if (rp !== NO_RANK) heap.push(rp * stride + p);
    }
  }
  for (let i = 0; i < n; i = next[i]!) out.push(ranks.get(piece.slice(i, next[i]))! + shift);
}

/** A binary min-heap of numbers. */
class NumberMinHeap {
  private items: number[] = [];

  get size(): number {
    return this.items.length;
  }

  push(value: number): void {
    const items = this.items;
    let i = items.length;
    items.push(value);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent]!;
      if (p <= value) break;
      items[i] = p;
      i = parent;
    }
    items[i] = value;
  }

  pop(): number {
    const items = this.items;
    const top = items[0]!;
    const last = items.pop()!;
    const n = items.length;
    if (n === 0) return top;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && items[child + 1]! < items[child]!) child++;
      if (items[child]! >= last) break;
      items[i] = items[child]!;
      i = child;
    }
    items[i] = last;
    return top;
  }
}
