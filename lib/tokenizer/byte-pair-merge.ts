/**
 * Byte-level BPE with tiktoken's semantics: start from single bytes and repeatedly merge the adjacent
 * pair whose concatenation has the lowest rank (the leftmost one on a tie) until no pair is a token.
 *
 * A piece is a "byte string": a JS string whose char codes are the bytes (0..255), so that a
 * `Map<string, number>` keyed by such strings is the rank table. Short pieces use tiktoken's own
 * array scan (fast for a few dozen bytes); long pieces use a linked list and per-rank buckets so
 * that a megabyte-long piece costs about O(n) instead of O(n^2).
 */

export type RankTable = ReadonlyMap<string, number>;

/** Pieces up to this many bytes use the quadratic array scan. */
export const SHORT_PIECE_BYTES = 128;

/**
 * Appends `rank + shift` for every token of `piece` to `out`. `piece` must not be empty, and every
 * single byte must be in `ranks`. `maxTokenBytes` is the longest token's length (pairs longer than it
 * cannot be tokens, which saves a lookup). `pairCache` speeds up long pieces when kept across calls.
 */
export function bytePairEncode(
  piece: string,
  ranks: RankTable,
  maxTokenBytes: number,
  out: number[],
  shift: number,
  pairCache?: PairRankCache,
): void {
  if (piece.length <= SHORT_PIECE_BYTES) mergeShortPiece(piece, ranks, out, shift);
  else mergeLongPiece(piece, ranks, maxTokenBytes, out, shift, pairCache);
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
 * Remembers which pairs of tokens join into which token: `get(left * numRanks + right)` is the joined
 * token's rank, or -1 when the concatenation is not a token. Shared across calls of one encoder.
 */
export type PairRankCache = Map<number, number>;

/**
 * The same merge order for long pieces, without rescanning: parts form a linked list (a part is named
 * by its start byte) and candidate pairs wait in one bucket per rank, with a small heap of the ranks
 * that have a bucket. The lowest rank's bucket is processed left to right, which is exactly the order
 * of tiktoken's scan: merging creates only pairs of other ranks (they are longer byte strings), and
 * if one of them has a lower rank the rest of the bucket is put back and that rank goes first.
 * A bucket entry is stale when its part was merged away or now has another pair rank (a part's pair
 * only grows, so the same rank never comes back for the same part).
 */
export function mergeLongPiece(
  piece: string,
  ranks: RankTable,
  maxTokenBytes: number,
  out: number[],
  shift: number,
  pairCache: PairRankCache = new Map(),
): void {
  const n = piece.length;
  const numRanks = ranks.size;
  const next = new Int32Array(n);
  const prev = new Int32Array(n);
  const partRank = new Int32Array(n); // the token of the part starting here
  const pairRankOf = new Float64Array(n); // rank of this part joined with the next; -1 once merged away
  const buckets = new Map<number, number[]>();
  const pendingRanks = new NumberMinHeap(64);

  // Rank of the token that parts `left` (starting at `start`) and `right` (ending at `end`) make.
  const joinedRank = (left: number, right: number, start: number, end: number): number => {
    const key = left * numRanks + right;
    let rank = pairCache.get(key);
    if (rank === undefined) {
      rank = end - start > maxTokenBytes ? -1 : (ranks.get(piece.slice(start, end)) ?? -1);
      if (pairCache.size >= PAIR_CACHE_ENTRIES) pairCache.clear();
      pairCache.set(key, rank);
    }
    return rank < 0 ? NO_RANK : rank;
  };
  const enqueue = (rank: number, start: number): void => {
    pairRankOf[start] = rank;
    if (rank === NO_RANK) return;
    const bucket = buckets.get(rank);
    if (bucket !== undefined) bucket.push(start);
    else {
      buckets.set(rank, [start]);
      pendingRanks.push(rank);
    }
  };

  const byteRanks = new Int32Array(256);
  for (let byte = 0; byte < 256; byte++) byteRanks[byte] = ranks.get(String.fromCharCode(byte))!;
  for (let i = 0; i < n; i++) {
    next[i] = i + 1;
    prev[i] = i - 1;
    partRank[i] = byteRanks[piece.charCodeAt(i)]!;
  }
  for (let i = 0; i + 1 < n; i++) enqueue(joinedRank(partRank[i]!, partRank[i + 1]!, i, i + 2), i);
  pairRankOf[n - 1] = NO_RANK;

  while (pendingRanks.size > 0) {
    const rank = pendingRanks.pop();
    const starts = buckets.get(rank)!;
    buckets.delete(rank);
    if (!isAscending(starts)) starts.sort((a, b) => a - b);
    for (let s = 0; s < starts.length; s++) {
      const i = starts[s]!;
      if (pairRankOf[i] !== rank) continue; // stale
      const j = next[i]!; // merged into i
      const k = next[j]!; // may be n
      pairRankOf[j] = -1;
      partRank[i] = rank;
      next[i] = k;
      if (k < n) prev[k] = i;
      const ri = k < n ? joinedRank(rank, partRank[k]!, i, next[k]!) : NO_RANK;
      enqueue(ri, i);
      const p = prev[i]!;
      const rp = p >= 0 ? joinedRank(partRank[p]!, rank, p, k) : NO_RANK;
      if (p >= 0) enqueue(rp, p);
      if ((ri < rank || rp < rank) && s + 1 < starts.length) {
        // A lower rank appeared: it must merge before the rest of this bucket.
        buckets.set(rank, starts.slice(s + 1));
        pendingRanks.push(rank);
        break;
      }
    }
  }
  for (let i = 0; i < n; i = next[i]!) out.push(partRank[i]! + shift);
}

function isAscending(values: readonly number[]): boolean {
  for (let i = 1; i < values.length; i++) if (values[i]! < values[i - 1]!) return false;
  return true;
}

const PAIR_CACHE_ENTRIES = 1 << 20;

/** A binary min-heap of numbers in a growable Float64Array. */
class NumberMinHeap {
  private items: Float64Array;
  size = 0;

  constructor(capacity: number) {
    this.items = new Float64Array(Math.max(16, capacity));
  }

  push(value: number): void {
    if (this.size === this.items.length) this.grow();
    const items = this.items;
    let i = this.size++;
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
    const last = items[--this.size]!;
    if (this.size > 0) this.siftDown(0, last);
    return top;
  }

  private siftDown(from: number, value: number): void {
    const items = this.items;
    const n = this.size;
    let i = from;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && items[child + 1]! < items[child]!) child++;
      if (items[child]! >= value) break;
      items[i] = items[child]!;
      i = child;
    }
    items[i] = value;
  }

  private grow(): void {
    const bigger = new Float64Array(this.items.length * 2);
    bigger.set(this.items);
    this.items = bigger;
  }
}
