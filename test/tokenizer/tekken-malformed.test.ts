import { describe, expect, it } from "vitest";
import { TokenizerError } from "../../lib/errors";
import { Tekken } from "../../lib/tokenizer/tekken";
import { cloneJson, smallTekkenJson } from "./small-tekken";

// biome-ignore lint/suspicious/noExplicitAny: the tests below break the file's shape on purpose
type AnyJson = any;

const base = smallTekkenJson({ extra: ["ab", "cd"] });

/** Each case mutates a valid file (or returns a replacement); loading it must throw a TokenizerError whose message matches. */
const cases: ReadonlyArray<[name: string, mutate: (json: AnyJson) => AnyJson | undefined, message: RegExp]> =
  [
    ["a top level that is not an object", () => [1, 2], /top level is not a JSON object/],
    ["a missing config", (j) => ({ ...j, config: undefined }), /missing 'config'/],
    [
      "a missing version",
      (j) => {
        j.config.version = undefined;
      },
      /config\.version/,
    ],
    [
      "a malformed version",
      (j) => {
        j.config.version = "15";
      },
      /config\.version/,
    ],
    [
      "a missing pattern",
      (j) => {
        j.config.pattern = undefined;
      },
      /config\.pattern must be/,
    ],
    [
      "a pattern that does not compile",
      (j) => {
        j.config.pattern = "[a-z";
      },
      /config\.pattern does not compile/,
    ],
    [
      "a pattern with unsupported inline flags",
      (j) => {
        j.config.pattern = "(?i)ab";
      },
      /does not compile.*inline flag/,
    ],
    ["a missing vocab", (j) => ({ ...j, vocab: undefined }), /missing 'vocab'/],
    [
      "a vocab entry that is not an object",
      (j) => {
        j.vocab[3] = "x";
      },
      /vocab\[3\] is not an object/,
    ],
    [
      "bad base64",
      (j) => {
        j.vocab[257].token_bytes = "a$b=";
      },
      /vocab\[257\]\.token_bytes is not valid/,
    ],
    [
      "base64 with a bad length",
      (j) => {
        j.vocab[257].token_bytes = "YWJ";
      },
      /vocab\[257\]\.token_bytes/,
    ],
    [
      "empty token bytes",
      (j) => {
        j.vocab[257].token_bytes = "";
      },
      /vocab\[257\]\.token_bytes/,
    ],
    [
      "a duplicate rank",
      (j) => {
        j.vocab[257].rank = 256;
      },
      /vocab\[257\]: duplicate rank 256/,
    ],
    [
      "ranks that are not 0..n-1",
      (j) => {
        j.vocab[10].rank = 12;
      },
      /vocab\[10\] has rank 12; ranks must be 0\.\.n-1/,
    ],
    [
      "a non-integer rank",
      (j) => {
        j.vocab[10].rank = "10";
      },
      /vocab\[10\] has rank "10"/,
    ],
    [
      "two ranks with the same bytes",
      (j) => {
        j.vocab[257].token_bytes = j.vocab[256].token_bytes;
      },
      /vocab\[257\] has the same bytes as vocab\[256\]/,
    ],
    [
      "a missing single-byte token",
      (j) => {
        j.vocab[65].token_bytes = Buffer.from("zz").toString("base64");
      },
      /no token for the single byte 0x41/,
    ],
    [
      "a token_str that is not a string",
      (j) => {
        j.vocab[5].token_str = 5;
      },
      /vocab\[5\]\.token_str/,
    ],
    ["missing special_tokens", (j) => ({ ...j, special_tokens: undefined }), /missing 'special_tokens'/],
    [
      "a missing <s>",
      (j) => {
        j.special_tokens = j.special_tokens.filter((t: AnyJson) => t.token_str !== "<s>");
      },
      /lacks the required token "<s>"/,
    ],
    [
      "a missing </s>",
      (j) => {
        j.special_tokens = j.special_tokens.filter((t: AnyJson) => t.token_str !== "</s>");
      },
      /"<\/s>"/,
    ],
    [
      "a missing <unk>",
      (j) => {
        j.special_tokens = j.special_tokens.filter((t: AnyJson) => t.token_str !== "<unk>");
      },
      /"<unk>"/,
    ],
    [
      "a missing <pad>",
      (j) => {
        j.special_tokens = j.special_tokens.filter((t: AnyJson) => t.token_str !== "<pad>");
      },
      /"<pad>"/,
    ],
    [
      "a duplicate special string",
      (j) => {
        j.special_tokens[5].token_str = "[INST]";
      },
      /duplicate special token "\[INST\]"/,
    ],
    [
      "a duplicate special rank",
      (j) => {
        j.special_tokens[5].rank = 4;
      },
      /duplicate special rank 4/,
    ],
    [
      "a special rank beyond num_special",
      (j) => {
        j.special_tokens[5].rank = 100;
      },
      /special_tokens\[5\]\.rank must be an integer in \[0, 100\)/,
    ],
    [
      "an empty special string",
      (j) => {
        j.special_tokens[5].token_str = "";
      },
      /special_tokens\[5\]\.token_str/,
    ],
    [
      "more specials than num_special",
      (j) => {
        j.config.default_num_special_tokens = 50;
        j.config.default_vocab_size = 308;
      },
      /special_tokens has 100 entries but default_num_special_tokens is 50/,
    ],
    [
      "a named token colliding with a filler name",
      (j) => {
        j.special_tokens = j.special_tokens.slice(0, 40);
        j.special_tokens[39].token_str = "<SPECIAL_60>";
      },
      /collides/,
    ],
    [
      "a non-integer num_special",
      (j) => {
        j.config.default_num_special_tokens = 1.5;
      },
      /default_num_special_tokens must be/,
    ],
    [
      "a missing default_vocab_size",
      (j) => {
        j.config.default_vocab_size = undefined;
      },
      /default_vocab_size must be/,
    ],
    [
      "a vocab size beyond the vocab",
      (j) => {
        j.config.default_vocab_size = 1000;
      },
      /needs 900 vocab entries but the file has 258/,
    ],
    [
      "a vocab size without all bytes",
      (j) => {
        j.config.default_vocab_size = 300;
      },
      /leaves 200 normal tokens/,
    ],
    [
      "a bad image block",
      (j) => ({ ...j, image: { image_patch_size: 0, max_image_size: 1540 } }),
      /image\.image_patch_size must be a positive integer/,
    ],
    ["an image block that is not an object", (j) => ({ ...j, image: "big" }), /'image' is not an object/],
    [
      "'multimodal' after v11",
      (j) => ({ ...j, multimodal: { image_patch_size: 14, max_image_size: 1540 } }),
      /must be called 'image'/,
    ],
    [
      "model_settings_builder before v15",
      (j) => {
        j.config.version = "v13";
        j.model_settings_builder = {};
      },
      /only allowed from version v15/,
    ],
    [
      "a model setting of another type",
      (j) => ({
        ...j,
        model_settings_builder: {
          reasoning_effort: { type: "range", values: [], accepts_none: true, default: null },
        },
      }),
      /type must be "enum"/,
    ],
    [
      "a model setting default outside its values",
      (j) => ({
        ...j,
        model_settings_builder: {
          reasoning_effort: { type: "enum", values: ["high"], accepts_none: true, default: "low" },
        },
      }),
      /"low" is not one of its values/,
    ],
    [
      "a model setting default without accepts_none",
      (j) => ({
        ...j,
        model_settings_builder: {
          reasoning_effort: { type: "enum", values: ["high"], accepts_none: false, default: "high" },
        },
      }),
      /only be set when accepts_none/,
    ],
    [
      "a model setting without default",
      (j) => ({
        ...j,
        model_settings_builder: { reasoning_effort: { type: "enum", values: ["high"], accepts_none: false } },
      }),
      /default is missing/,
    ],
    [
      "duplicate model setting values",
      (j) => ({
        ...j,
        model_settings_builder: {
          reasoning_effort: { type: "enum", values: ["high", "high"], accepts_none: false, default: null },
        },
      }),
      /has duplicates/,
    ],
  ];

describe("malformed tekken.json", () => {
  it("loads the unmodified base file", () => {
    expect(Tekken.fromJson(cloneJson(base)).vocabSize).toBe(358);
  });

  it.each(cases)("rejects %s with a TokenizerError", (_name, mutate, message) => {
    let error: unknown;
    try {
      const json = cloneJson(base);
      Tekken.fromJson(mutate(json) ?? json, "bad-tekken.json");
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TokenizerError);
    expect((error as Error).message).toMatch(/^bad-tekken\.json: /);
    expect((error as Error).message).toMatch(message);
  });
});
