import { beforeAll, describe, expect, it } from "vitest";
import {
  bytePairEncode,
  mergeLongPiece,
  mergeShortPiece,
  type RankTable,
  SHORT_PIECE_BYTES,
} from "../../lib/tokenizer/byte-pair-merge";
import { utf8ByteString } from "../../lib/tokenizer/byte-string";
import { seededRandom } from "./multilingual-corpus";
import { o200kRanksBase64 } from "./o200k-tekken";

let ranks: RankTable;
let maxTokenBytes = 0;

beforeAll(() => {
  const table = new Map<string, number>();
  o200kRanksBase64().forEach((b64, rank) => {
    const bytes = Buffer.from(b64, "base64").toString("latin1");
    table.set(bytes, rank);
    maxTokenBytes = Math.max(maxTokenBytes, bytes.length);
  });
  ranks = table;
});

/** Random text over a small alphabet, so that many merges and rank ties happen. */
function randomPiece(random: () => number, length: number): string {
  const alphabets = ["ab", "a ", "xyz", "0123456789", "the quick", "éèê", "日本語", "😀 "];
  const alphabet = [...alphabets[Math.floor(random() * alphabets.length)]!];
  let text = "";
  while (utf8ByteString(text).length < length) text += alphabet[Math.floor(random() * alphabet.length)];
  return utf8ByteString(text).slice(0, length);
}

describe("byte-pair merge", () => {
  it("gives the same tokens with the bucket path as with tiktoken's scan", () => {
    const random = seededRandom(11);
    for (let trial = 0; trial < 3000; trial++) {
      const piece = randomPiece(random, 2 + Math.floor(random() * (SHORT_PIECE_BYTES - 1)));
      const short: number[] = [];
      const long: number[] = [];
      mergeShortPiece(piece, ranks, short, 0);
      mergeLongPiece(piece, ranks, maxTokenBytes, long, 0);
      expect(long, JSON.stringify(piece)).toEqual(short);
    }
  });

  it("reuses a pair cache across calls without changing results", () => {
    const cache = new Map<number, number>();
    const random = seededRandom(12);
    for (let trial = 0; trial < 200; trial++) {
      const piece = randomPiece(random, 200 + Math.floor(random() * 300));
      const fresh: number[] = [];
      const cached: number[] = [];
      mergeLongPiece(piece, ranks, maxTokenBytes, fresh, 0);
      bytePairEncode(piece, ranks, maxTokenBytes, cached, 0, cache);
      expect(cached).toEqual(fresh);
    }
  });

  it("emits tokens whose bytes concatenate to the piece, shifted by `shift`", () => {
    const byRank = o200kRanksBase64().map((b64) => Buffer.from(b64, "base64").toString("latin1"));
    const piece = utf8ByteString("Ünïcödé 😀 and a long tail ".repeat(20));
    const out: number[] = [];
    bytePairEncode(piece, ranks, maxTokenBytes, out, 1000);
    expect(out.map((id) => byRank[id - 1000]).join("")).toBe(piece);
  });

  it("encodes a megabyte of one byte in linear-looking time", () => {
    const out: number[] = [];
    const start = performance.now();
    mergeLongPiece("a".repeat(1_000_000), ranks, maxTokenBytes, out, 0);
    expect(performance.now() - start).toBeLessThan(5000);
    expect(out.length).toBeGreaterThan(0);
  });
});

describe("utf8ByteString", () => {
  it("matches Buffer's UTF-8 bytes, lone surrogates included", () => {
    for (const text of ["plain", "é", "日本", "😀", "a\ud800b", "\udc00", "x".repeat(100) + "é"]) {
      expect(utf8ByteString(text)).toBe(Buffer.from(text, "utf8").toString("latin1"));
    }
  });
});
