import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../lib/errors";
import { V15_SPECIAL_TOKEN_LAYOUT } from "../../lib/tokenizer/special-tokens";
import { Tekken } from "../../lib/tokenizer/tekken";
import { TEKKEN_PATTERN } from "../../lib/tokenizer/tekken-json";
import { TINY_CORPUS } from "../../lib/tokenizer/tiny-corpus";
import { trainTekken } from "../../lib/tokenizer/train";
import { multilingualDocuments } from "./multilingual-corpus";

describe("trainTekken", () => {
  const start = performance.now();
  const trained = trainTekken({ corpus: TINY_CORPUS, numMerges: 800 });
  const trainMs = performance.now() - start;

  it("trains 800 merges on the few-KB tiny corpus quickly", () => {
    expect(Buffer.byteLength(TINY_CORPUS)).toBeGreaterThan(3000);
    expect(trained.vocab.length).toBe(256 + 800);
    expect(trainMs).toBeLessThan(2000);
  });

  it("is deterministic", () => {
    expect(JSON.stringify(trainTekken({ corpus: TINY_CORPUS, numMerges: 800 }))).toBe(
      JSON.stringify(trained),
    );
  });

  it("writes a complete v15 file: config, bytes first, every special at its documented rank, blocks", () => {
    expect(trained.config).toEqual({
      pattern: TEKKEN_PATTERN,
      num_vocab_tokens: 1056,
      default_vocab_size: 2056,
      default_num_special_tokens: 1000,
      version: "v15",
    });
    for (let byte = 0; byte < 256; byte++) {
      expect(trained.vocab[byte]!.rank).toBe(byte);
      expect([...Buffer.from(trained.vocab[byte]!.token_bytes, "base64")]).toEqual([byte]);
    }
    expect(trained.vocab[65]!.token_str).toBe("A");
    expect(trained.vocab[0xc3]!.token_str).toBeNull();
    expect(trained.special_tokens).toHaveLength(1000);
    for (const [rank, tokenStr] of V15_SPECIAL_TOKEN_LAYOUT) {
      expect(trained.special_tokens[rank]).toEqual({ rank, token_str: tokenStr, is_control: true });
    }
    expect(trained.special_tokens[20]!.token_str).toBe("<SPECIAL_20>");
    expect(trained.special_tokens[999]!.token_str).toBe("<SPECIAL_999>");
    expect(trained.image).toEqual({ image_patch_size: 14, max_image_size: 1540, spatial_merge_size: 2 });
    expect(trained.model_settings_builder).toEqual({
      reasoning_effort: { type: "enum", values: ["none", "high"], accepts_none: true, default: "none" },
    });
  });

  it("produces a file that loads and round-trips text, compressing the training text", () => {
    const tekken = Tekken.fromJson(JSON.parse(JSON.stringify(trained)), "trained");
    expect(tekken.vocabSize).toBe(2056);
    expect(tekken.specialId("[THINK]")).toBe(35);
    expect(tekken.modelSettings["reasoning_effort"]?.default).toBe("none");
    const ids = tekken.encode(TINY_CORPUS);
    expect(tekken.decode(ids)).toBe(TINY_CORPUS);
    expect(ids.length).toBeLessThan(Buffer.byteLength(TINY_CORPUS) / 2);
    for (const document of multilingualDocuments(3, 60_000))
      expect(tekken.decode(tekken.encode(document))).toBe(document);
  });

  it("learns the most frequent pair first, ties going to the smaller ranks", () => {
    const json = trainTekken({ corpus: "abab abab cd", numMerges: 2, numSpecialTokens: 100 });
    const learned = json.vocab.slice(256).map((entry) => entry.token_str);
    expect(learned[0]).toBe("ab"); // (a,b) occurs 4 times
    expect(learned[1]).toBe("abab"); // then (ab,ab) occurs twice, every other pair once
    const tie = trainTekken({ corpus: "xy ba", numMerges: 1, numSpecialTokens: 100 });
    expect(tie.vocab[256]!.token_str).toBe(" b"); // all pairs occur once: (" ", b) has the smallest ranks
  });

  it("honours vocabSize and rejects bad options", () => {
    const small = trainTekken({ corpus: TINY_CORPUS, numMerges: 50, vocabSize: 1000 + 256 + 10 });
    expect(small.config.default_vocab_size).toBe(1266);
    expect(Tekken.fromJson(small).vocabSize).toBe(1266);
    expect(() => trainTekken({ corpus: "abc", numMerges: 10, vocabSize: 5000 })).toThrow(
      InvalidArgumentError,
    );
    expect(() => trainTekken({ corpus: "abc", numMerges: -1 })).toThrow(InvalidArgumentError);
    expect(() => trainTekken({ corpus: "abc", numMerges: 1, numSpecialTokens: 10 })).toThrow(
      InvalidArgumentError,
    );
    expect(() => trainTekken({ corpus: "abc", numMerges: 1, pattern: "(?i)x" })).toThrow(
      InvalidArgumentError,
    );
  });
});
