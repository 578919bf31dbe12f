import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { InvalidArgumentError, TokenizerError } from "../../lib/errors";
import { Tekken } from "../../lib/tokenizer/tekken";
import { cloneJson, smallTekkenJson } from "./small-tekken";

const bytesOf = (text: string): number[] => [...Buffer.from(text, "utf8")];

describe("Tekken ids", () => {
  it("shifts normal ids by default_num_special_tokens", () => {
    const tekken = Tekken.fromJson(smallTekkenJson({ numSpecialTokens: 100 }));
    expect(tekken.numSpecialTokens).toBe(100);
    expect(tekken.encode("Az")).toEqual([65 + 100, 122 + 100]);
    expect(tekken.vocabSize).toBe(356);
  });

  it("takes default_num_special_tokens over the length of special_tokens and fills unnamed slots", () => {
    const json = smallTekkenJson({ numSpecialTokens: 100 });
    json.special_tokens = json.special_tokens.filter((t) => !t.token_str.startsWith("<SPECIAL_"));
    const tekken = Tekken.fromJson(json);
    expect(tekken.numSpecialTokens).toBe(100);
    expect(tekken.specialString(50)).toBe("<SPECIAL_50>");
    expect(tekken.specialString(99)).toBe("<SPECIAL_99>");
    expect(tekken.encode("a")).toEqual([197]);
  });

  it("uses the special_tokens list length when default_num_special_tokens is absent", () => {
    const json = cloneJson(smallTekkenJson({ numSpecialTokens: 40 })) as unknown as {
      config: Record<string, unknown>;
    };
    delete json.config["default_num_special_tokens"];
    const tekken = Tekken.fromJson(json);
    expect(tekken.numSpecialTokens).toBe(40);
    expect(tekken.encode("a")).toEqual([97 + 40]);
  });

  it("uses only the first default_vocab_size - num_special ranks", () => {
    const full = Tekken.fromJson(smallTekkenJson({ extra: ["ab"] }));
    expect(full.encode("ab")).toEqual([356]);
    const truncated = Tekken.fromJson(smallTekkenJson({ extra: ["ab"], vocabSize: 356 }));
    expect(truncated.vocabSize).toBe(356);
    expect(truncated.encode("ab")).toEqual([197, 198]);
    expect(() => truncated.decode([356])).toThrow(InvalidArgumentError);
  });

  it("merges by lowest rank like tiktoken, preferring the leftmost pair on ties", () => {
    // "aaa": ("a","a") at 0 and 1 tie; the left one merges first -> [aa, a].
    const tekken = Tekken.fromJson(smallTekkenJson({ extra: ["aa", "bc", "ab"], pattern: ".+" }));
    expect(tekken.encode("aaa")).toEqual([356, 197]);
    // "abc": ranks bc=357 < ab=358, so b and c merge first.
    expect(tekken.encode("abc")).toEqual([197, 357]);
  });

  it("looks a whole piece up before merging, like tiktoken", () => {
    // "abc" is a token although no merge path leads to it.
    const tekken = Tekken.fromJson(smallTekkenJson({ extra: ["abc"], pattern: ".+" }));
    expect(tekken.encode("abc")).toEqual([356]);
    expect(tekken.encode("abcd")).toEqual([197, 198, 199, 200]);
  });
});

describe("Tekken special tokens", () => {
  it("resolves bos/eos/unk/pad and every special id by its string from the file", () => {
    const json = smallTekkenJson();
    // Move <s> and [INST] to other slots: ids must follow the file, not a built-in table.
    const bos = json.special_tokens.find((t) => t.token_str === "<s>")!;
    const inst = json.special_tokens.find((t) => t.token_str === "[INST]")!;
    bos.token_str = "[INST]";
    inst.token_str = "<s>";
    const tekken = Tekken.fromJson(json);
    expect(tekken.bosId).toBe(3);
    expect(tekken.specialId("[INST]")).toBe(1);
    expect(tekken.eosId).toBe(2);
    expect(tekken.unkId).toBe(0);
    expect(tekken.padId).toBe(11);
    expect(tekken.specialId("[THINK]")).toBe(35);
    expect(tekken.findSpecialId("[NOPE]")).toBeUndefined();
    expect(() => tekken.specialId("[NOPE]")).toThrow(TokenizerError);
    expect(tekken.isSpecial(99)).toBe(true);
    expect(tekken.isSpecial(100)).toBe(false);
    expect(() => tekken.specialString(100)).toThrow(InvalidArgumentError);
  });

  it("encodes special-token strings in text as plain text unless allowSpecial", () => {
    const tekken = Tekken.fromJson(smallTekkenJson());
    const text = "[INST]hi[/INST]<s>";
    const plain = tekken.encode(text);
    expect(plain.every((id) => id >= 100)).toBe(true);
    expect(tekken.decode(plain)).toBe(text);
    expect(tekken.encode(text, { allowSpecial: true })).toEqual([3, ...tekken.encode("hi"), 4, 1]);
    expect(tekken.encode("x<SPECIAL_50>", { allowSpecial: true })).toEqual([tekken.encode("x")[0], 50]);
    expect(tekken.encode("no specials", { allowSpecial: true })).toEqual(tekken.encode("no specials"));
  });

  it("decodes specials per policy: skipped by default, their strings with keep", () => {
    const tekken = Tekken.fromJson(smallTekkenJson());
    const ids = [1, 3, ...tekken.encode("hi"), 4];
    expect(tekken.decode(ids)).toBe("hi");
    expect(tekken.decode(ids, { specialTokens: "skip" })).toBe("hi");
    expect(tekken.decode(ids, { specialTokens: "keep" })).toBe("<s>[INST]hi[/INST]");
    expect(() => tekken.decode(ids, { specialTokens: "raise" as never })).toThrow(InvalidArgumentError);
  });
});

describe("Tekken decode and tokenBytes", () => {
  const tekken = Tekken.fromJson(smallTekkenJson({ extra: ["é"] }));
  const shift = (bytes: number[]): number[] => bytes.map((b) => b + 100);

  it("turns invalid UTF-8 into U+FFFD", () => {
    expect(tekken.decode(shift([0xff, 0x41]))).toBe("\ufffdA");
    expect(tekken.decode(shift([0xe2, 0x82]))).toBe("\ufffd");
  });

  it("keeps a leading byte-order mark", () => {
    expect(tekken.decode(tekken.encode("\ufeffhi"))).toBe("\ufeffhi");
  });

  it("decodes each run between special tokens on its own, like mistral-common", () => {
    const euro = shift(bytesOf("€"));
    // The lead byte alone is one U+FFFD; each orphan continuation byte is another.
    expect(tekken.decode([euro[0]!, 1, euro[1]!, euro[2]!])).toBe("\ufffd\ufffd\ufffd");
    expect(tekken.decode(euro)).toBe("€");
  });

  it("returns the bytes of normal and special tokens", () => {
    expect([...tekken.tokenBytes(356)]).toEqual(bytesOf("é"));
    expect(new TextDecoder().decode(tekken.tokenBytes(3))).toBe("[INST]");
    expect(() => tekken.tokenBytes(-1)).toThrow(InvalidArgumentError);
    expect(() => tekken.tokenBytes(357)).toThrow(InvalidArgumentError);
  });

  it("rejects bad arguments with InvalidArgumentError", () => {
    expect(() => tekken.encode(42 as unknown as string)).toThrow(InvalidArgumentError);
    expect(() => tekken.decode([1.5])).toThrow(InvalidArgumentError);
    expect(() => tekken.decode([Number.NaN])).toThrow(InvalidArgumentError);
    expect(() => tekken.decode(null as unknown as number[])).toThrow(InvalidArgumentError);
  });

  it("round-trips text with every kind of character", () => {
    const text = "Ça va? 😀 👨‍👩‍👧 🇫🇷 e\u0301 日本語 \u0085\u00a0\u3000\r\n\t 12345";
    expect(tekken.decode(tekken.encode(text))).toBe(text);
    expect(tekken.encode("")).toEqual([]);
    expect(tekken.decode([])).toBe("");
  });

  it("writes lone surrogates as U+FFFD, like TextEncoder", () => {
    expect(tekken.decode(tekken.encode("a\ud800b"))).toBe("a\ufffdb");
  });
});

describe("Tekken optional blocks", () => {
  it("parses the image block and model_settings_builder", () => {
    const json = {
      ...smallTekkenJson(),
      image: { image_patch_size: 14, max_image_size: 1540, spatial_merge_size: 2 },
      model_settings_builder: {
        reasoning_effort: { type: "enum", values: ["none", "high"], accepts_none: true, default: "none" },
      },
    };
    const tekken = Tekken.fromJson(json);
    expect(tekken.version).toBe("v15");
    expect(tekken.image).toEqual({ imagePatchSize: 14, maxImageSize: 1540, spatialMergeSize: 2 });
    expect(tekken.modelSettings).toEqual({
      reasoning_effort: { type: "enum", values: ["none", "high"], acceptsNone: true, default: "none" },
    });
  });

  it("defaults spatial_merge_size to 1 and leaves absent blocks empty", () => {
    const tekken = Tekken.fromJson({
      ...smallTekkenJson(),
      image: { image_patch_size: 16, max_image_size: 1024 },
    });
    expect(tekken.image?.spatialMergeSize).toBe(1);
    const bare = Tekken.fromJson(smallTekkenJson());
    expect(bare.image).toBeUndefined();
    expect(bare.modelSettings).toEqual({});
  });

  it("accepts the deprecated 'multimodal' name up to v11", () => {
    const json = {
      ...smallTekkenJson({ version: "v11" }),
      multimodal: { image_patch_size: 16, max_image_size: 1024 },
    };
    expect(Tekken.fromJson(json).image?.imagePatchSize).toBe(16);
  });
});

describe("Tekken.fromFile", () => {
  const dir = mkdtempSync(join(tmpdir(), "tekken-test-"));

  it("loads a tekken.json file", () => {
    const path = join(dir, "tekken.json");
    writeFileSync(path, JSON.stringify(smallTekkenJson({ extra: ["hi"] })));
    const tekken = Tekken.fromFile(path);
    expect(tekken.encode("hi")).toEqual([356]);
  });

  it("reports a missing file and invalid JSON as TokenizerError naming the file", () => {
    const missing = join(dir, "missing.json");
    expect(() => Tekken.fromFile(missing)).toThrow(TokenizerError);
    expect(() => Tekken.fromFile(missing)).toThrow(missing);
    const broken = join(dir, "broken.json");
    writeFileSync(broken, '{"config": ');
    expect(() => Tekken.fromFile(broken)).toThrow(/broken\.json: not valid JSON/);
  });
});
