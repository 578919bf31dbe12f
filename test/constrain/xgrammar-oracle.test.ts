/**
 * xgrammar (the WASM build behind web-llm, run offline from its npm package) as an independent oracle of
 * the masks, on a small vocabulary with multi-byte tokens, along random documents:
 * - regex response formats: our mask equals xgrammar's at every step, for the patterns whose meaning
 *   both share (xgrammar lets negated classes emit invalid UTF-8 bytes and reads `\u00e0-\u00ff` as a
 *   byte range; ours only ever write valid UTF-8 and read code points);
 * - JSON schemas: every token we allow, xgrammar allows too, for the corpus schemas whose keywords
 *   xgrammar enforces the same way (bench/constrain/xgrammar-compare.ts measures where they differ).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { DecodingConstraint } from "../../lib/constrain/constraint";
import { buildGrammar, checkResponseFormat, checkToolChoice } from "../../lib/constrain/request";
import { TokenTable } from "../../lib/constrain/token-table";
import { CORPUS, REGEX_PATTERNS } from "./corpus";
import { FakeTokenizer } from "./fake-tokenizer";
import { byteLevel, type XGrammar, xgrammar } from "./xgrammar";

const tokenizer = new FakeTokenizer();
const table = new TokenTable(tokenizer);
let compiler: XGrammar.GrammarCompiler;

beforeAll(async () => {
  const xg = xgrammar();
  const vocab: string[] = [];
  for (let id = 0; id < tokenizer.vocabSize; id++)
    vocab.push(id < tokenizer.numSpecialTokens ? "" : byteLevel(tokenizer.tokenBytes(id)));
  const info = await xg.TokenizerInfo.createTokenizerInfo(vocab, "byte_level", false, tokenizer.vocabSize, [
    tokenizer.eosId,
  ]);
  compiler = await xg.GrammarCompiler.createGrammarCompiler(info);
});

const allowed = (mask: ArrayLike<number>): number[] => {
  const ids: number[] = [];
  for (let id = 0; id < tokenizer.vocabSize; id++) if (mask[id >>> 5]! & (1 << (id & 31))) ids.push(id);
  return ids;
};

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 4294967296;
  };
}

/** Walks random documents of our grammar; returns the steps where ours allowed a token xgrammar did not (and, if asked, the reverse). */
async function compare(
  responseFormat: unknown,
  compiled: XGrammar.CompiledGrammar,
  equal: boolean,
  seed: number,
) {
  const grammar = buildGrammar(table, {
    responseFormat: checkResponseFormat(responseFormat),
    tools: [],
    toolChoice: checkToolChoice("auto"),
  })!;
  const random = rng(seed);
  const differences: string[] = [];
  for (let walk = 0; walk < 3; walk++) {
    const ours = new DecodingConstraint({ table, grammar, maxTokens: 400, thinking: "forbidden" });
    const theirs = await xgrammar().GrammarMatcher.createGrammarMatcher(compiled);
    let text = "";
    for (let step = 0; step < 30 && !ours.isComplete(); step++) {
      const a = allowed(ours.nextMask()!);
      const b = new Set(allowed(await theirs.getNextTokenBitmask()));
      const onlyOurs = a.filter((id) => !b.has(id));
      const onlyTheirs = equal ? [...b].filter((id) => !a.includes(id)) : [];
      if (onlyOurs.length > 0 || onlyTheirs.length > 0)
        differences.push(
          `after ${JSON.stringify(text)}: only ours ${JSON.stringify(onlyOurs.map((i) => tokenizer.decode([i])))}, only xgrammar ${JSON.stringify(onlyTheirs.map((i) => tokenizer.decode([i])))}`,
        );
      const id = a[Math.floor(random() * a.length)]!;
      ours.accept(id);
      if (id === tokenizer.eosId) break;
      if (!theirs.acceptToken(id)) break;
      text += tokenizer.decode([id]);
    }
    theirs.dispose();
  }
  return differences;
}

const SHARED_MEANING = REGEX_PATTERNS.filter((p) => !/\[\^|\\u/.test(p));

describe("regex masks equal xgrammar's", () => {
  it("covers most of the regex suite", () => {
    expect(SHARED_MEANING.length).toBeGreaterThanOrEqual(25);
  });
  SHARED_MEANING.forEach((pattern, i) => {
    it(pattern, async () => {
      const compiled = await compiler.compileStructuralTag({
        type: "structural_tag",
        format: { type: "regex", pattern },
      });
      expect(await compare({ type: "regex", pattern }, compiled, true, i + 1)).toEqual([]);
    });
  });
});

/**
 * Corpus schemas whose keywords xgrammar enforces as we do. Left out where xgrammar is stricter than the
 * JSON Schema meaning (it forbids -0, escapes in length-bounded strings, one-letter top-level domains in
 * emails) or differs (prefixItems, patternProperties, unanchored patterns, fractional number bounds).
 */
const SHARED_SCHEMAS = [
  "array of objects",
  "nested arrays",
  "string enum",
  "unicode enum",
  "mixed enum",
  "object const",
  "oneOf objects",
  "free-form object",
  "type array of many",
  "integer range",
  "integer exclusive range",
  "integer lower bound only",
  "integer upper bound only (negative)",
  "multipleOf",
  "safe-integer bounds (zod int)",
  "pattern anchored",
  "pattern with length bounds",
  "format date",
  "format time",
  "format date-time",
  "format uuid",
  "format ipv4",
  "format ipv6",
  "minProperties with declared",
  "additionalProperties schema",
  "propertyNames",
  "propertyNames enum",
  "dependentRequired",
  "const and enum of structured values",
  "if / then only",
  "allOf objects",
  "allOf with $ref and anyOf",
  "OpenAI function: calendar event",
  "OpenAI structured output: math steps",
  "zod object",
  "pydantic discriminated union",
];

describe("JSON schema masks: every token we allow, xgrammar allows", () => {
  SHARED_SCHEMAS.forEach((name, i) => {
    it(name, async () => {
      const schema = CORPUS[name];
      expect(schema, name).toBeDefined();
      const compiled = await compiler.compileJSONSchema(JSON.stringify(schema), true);
      expect(await compare({ type: "json_schema", schema }, compiled, false, 100 + i)).toEqual([]);
    });
  });
});
