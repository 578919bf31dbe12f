/**
 * tiktoken's `encode_ordinary`: split text with the pre-split regex, look each piece up whole, and
 * byte-pair-merge the pieces that are not a token. Results for short pieces are cached.
 */
import { bytePairEncode, type PairRankCache } from "./byte-pair-merge";
import { utf8ByteString } from "./byte-string";

/** Pieces up to this many UTF-16 units are cached, up to CACHE_ENTRIES of them (then the cache restarts). */
const CACHED_PIECE_LENGTH = 64;
const CACHE_ENTRIES = 100_000;

export class BpeEncoder {
  private readonly ranks: Map<string, number>;
  private readonly maxTokenBytes: number;
  /** Matches a piece starting exactly at lastIndex (no result array is allocated by `test`). */
  private readonly stickyRegex: RegExp;
  /** Finds the next piece after text that no alternative matches (Rust's find_iter skips it). */
  private readonly searchRegex: RegExp;
  private cache = new Map<string, number | number[]>();
  private readonly pairCache: PairRankCache = new Map();

  /**
   * `pieceRegex`: the translated pre-split pattern. Rank r's bytes are
   * `rankBytes[rankOffsets[r] .. rankOffsets[r+1])`. Emitted ids are `rank + shift`.
   */
  constructor(
    pieceRegex: RegExp,
    rankBytes: Uint8Array,
    rankOffsets: Uint32Array,
    private readonly shift: number,
  ) {
    this.stickyRegex = new RegExp(pieceRegex.source, "uy");
    this.searchRegex = new RegExp(pieceRegex.source, "gu");
    const buffer = Buffer.from(rankBytes.buffer, rankBytes.byteOffset, rankBytes.byteLength);
    this.ranks = new Map();
    let maxTokenBytes = 0;
    for (let rank = 0; rank + 1 < rankOffsets.length; rank++) {
      const start = rankOffsets[rank]!;
      const end = rankOffsets[rank + 1]!;
      this.ranks.set(buffer.toString("latin1", start, end), rank);
      maxTokenBytes = Math.max(maxTokenBytes, end - start);
    }
    this.maxTokenBytes = maxTokenBytes;
  }

  /** Appends the ids of `text` (no special-token parsing) to `out`. */
  encode(text: string, out: number[]): void {
    const sticky = this.stickyRegex;
    let pos = 0;
    while (pos < text.length) {
      let start = pos;
      let end: number;
      sticky.lastIndex = pos;
      if (sticky.test(text)) {
        end = sticky.lastIndex;
      } else {
        const search = this.searchRegex;
        search.lastIndex = pos;
        const match = search.exec(text);
        if (match === null) return;
        start = match.index;
        end = start + match[0].length;
      }
      if (end === start) {
        // An empty match consumes nothing; step over one code point like Rust's find_iter.
        pos = start + (text.codePointAt(start)! > 0xffff ? 2 : 1);
        continue;
      }
      pos = end;
      this.encodePiece(text.slice(start, end), out);
    }
  }

  private encodePiece(piece: string, out: number[]): void {
    const cached = this.cache.get(piece);
    if (cached !== undefined) {
      if (typeof cached === "number") out.push(cached);
      else for (const id of cached) out.push(id);
      return;
    }
    const bytes = utf8ByteString(piece);
    const whole = this.ranks.get(bytes);
    if (piece.length > CACHED_PIECE_LENGTH) {
      if (whole !== undefined) out.push(whole + this.shift);
      else bytePairEncode(bytes, this.ranks, this.maxTokenBytes, out, this.shift, this.pairCache);
      return;
    }
    if (this.cache.size >= CACHE_ENTRIES) this.cache = new Map();
    if (whole !== undefined) {
      out.push(whole + this.shift);
      this.cache.set(piece, whole + this.shift);
      return;
    }
    const first = out.length;
    bytePairEncode(bytes, this.ranks, this.maxTokenBytes, out, this.shift, this.pairCache);
    this.cache.set(piece, out.length - first === 1 ? out[first]! : out.slice(first));
  }
}
