/**
 * `tekken.json` (lib/tokenizer/parse-tekken-json.ts, Tekken.fromJson): a small valid tokenizer file (the 256 bytes,
 * merged tokens, the v15 special tokens, an image block), mutated as a value — ranks, token bytes, special tokens,
 * the pre-tokenizer regex (translated from Rust syntax) and the settings. An accepted tokenizer decodes what it
 * encodes back to the same text, its ids lie in its vocabulary, and special-token ids round-trip through their names.
 */
import fc from "fast-check";
import { TokenizerError } from "../../../lib/errors";
import { Tekken } from "../../../lib/tokenizer/tekken";
import type { TekkenJson } from "../../../lib/tokenizer/tekken-json";
import { smallTekkenJson } from "../../tokenizer/small-tekken";
import type { FuzzTarget } from "../harness";
import { mutatedJson } from "../mutate";

interface Input {
  readonly json: unknown;
  readonly texts: string[];
}

const base: TekkenJson = {
  ...smallTekkenJson({ extra: ["he", "ll", "hell", "hello", " w", "or", "ld", "é", "日本", "\u00a0\u00a0"] }),
  image: { image_patch_size: 14, max_image_size: 224, spatial_merge_size: 2 },
};

/** Regex pieces for the pre-tokenizer pattern: Rust syntax the translator must take or refuse, never hang on. */
const patternPiece = fc.constantFrom(
  "\\p{L}+",
  "\\p{N}",
  "[^\\r\\n\\p{L}\\p{N}]?",
  "\\s+(?!\\S)",
  "(?i:abc)",
  "(a+)+",
  "[[:alpha:]]",
  "\\x{1F600}",
  "(?<name>x)",
  "\\",
  "[",
  "(",
  "*",
  "{2,1}",
  "a{99999}",
  "\\p{Bogus}",
  "|",
  ".",
);
const pattern = fc.array(patternPiece, { minLength: 1, maxLength: 5 }).map((p) => p.join(""));

const json: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 1, arbitrary: fc.constant(base) },
  { weight: 6, arbitrary: mutatedJson(base, 4) },
  {
    weight: 2,
    arbitrary: pattern.map((p) => ({ ...base, config: { ...base.config, pattern: p } })),
  },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
);

const texts = fc.array(
  fc.oneof(
    fc.string({ maxLength: 24 }),
    fc.string({ maxLength: 12, unit: "grapheme" }),
    fc.constant("hello world"),
  ),
  { minLength: 1, maxLength: 3 },
);

export const tekkenJsonTarget: FuzzTarget<Input, Tekken> = {
  name: "tekken-json",
  reads: "a checkpoint's tekken.json tokenizer",
  input: fc.record({ json, texts }),
  parse: ({ json: obj }) => Tekken.fromJson(obj, "fuzz/tekken.json"),
  check: ({ json: obj, texts: strings }, tokenizer) => {
    // Text the pre-tokenizer regex does not match is dropped (as tiktoken does): exact round trips need a pattern that
    // matches everything, as the real one does.
    const pattern = (obj as { config?: { pattern?: unknown } }).config?.pattern;
    const exact = pattern === base.config.pattern;
    for (const text of strings) {
      // Lone surrogates cannot survive UTF-8: they come back as U+FFFD, as from any UTF-8 tokenizer.
      const expected = Buffer.from(text, "utf8").toString("utf8");
      const ids = tokenizer.encode(text);
      for (const id of ids) {
        if (!(Number.isInteger(id) && id >= 0 && id < tokenizer.vocabSize))
          throw new Error(`id ${id} out of range`);
      }
      const decoded = tokenizer.decode(ids);
      if (exact && decoded !== expected)
        throw new Error(`${JSON.stringify(text)} decodes to ${JSON.stringify(decoded)}`);
    }
    for (const name of ["<s>", "</s>", "[INST]", "[/INST]", "[IMG]"]) {
      let id: number;
      try {
        id = tokenizer.specialId(name);
      } catch (error) {
        if (error instanceof TokenizerError) continue; // a tokenizer may lack a special token; asking is an error
        throw error;
      }
      if (tokenizer.decode([id], { specialTokens: "keep" }) !== name)
        throw new Error(`special ${name} has id ${id}, which decodes to something else`);
    }
  },
};
