/**
 * Mask cost of constrained decoding on a 131,072-token vocabulary (bench/constrain/vocab-131k.ts). For
 * each case of bench/constrain/speed-cases.ts (and a forced tool call), a realistic document is tokenized
 * and replayed through a DecodingConstraint: every step computes the mask (timed) and checks the
 * document's token is allowed. Prints one JSON object: table build, then per case the compile time,
 * first-mask ms, mean / p99 ms per token on a fresh grammar (cold) and on a second document with the same
 * grammar (warm).
 *
 * Run: node bench/run-ts.mjs bench/constrain/mask-bench.ts
 */
import { DecodingConstraint } from "../../lib/constrain/constraint";
import { buildGrammar, checkResponseFormat, checkToolChoice, checkTools } from "../../lib/constrain/request";
import { TokenTable } from "../../lib/constrain/token-table";
import { SPEED_CASES } from "./speed-cases";
import { mean, percentile, round3, tokenizer131k, VOCAB } from "./vocab-131k";

const tokenizer = tokenizer131k();
let t0 = performance.now();
const table = new TokenTable(tokenizer);
const trieMs = performance.now() - t0;
t0 = performance.now();
table.stringTable(0);
const stringTableMs = performance.now() - t0;

interface Case {
  readonly name: string;
  readonly responseFormat?: unknown;
  readonly tools?: unknown;
  readonly toolChoice?: unknown;
  readonly documents: readonly number[][];
}

const enc = (s: string) => tokenizer.encode(s);
const weather = {
  type: "function",
  function: {
    name: "get_weather",
    parameters: {
      type: "object",
      properties: { location: { type: "string" }, unit: { enum: ["celsius", "fahrenheit"] } },
      required: ["location", "unit"],
      additionalProperties: false,
    },
  },
};
const call = (args: string) => [table.toolCallsId!, ...enc("get_weather"), table.argsId!, ...enc(args)];

const cases: Case[] = [
  ...SPEED_CASES.map((c) => ({
    name: c.name,
    responseFormat:
      c.regex !== undefined ? { type: "regex", pattern: c.regex } : { type: "json_schema", schema: c.schema },
    documents: c.documents.map(enc),
  })),
  {
    name: "forced tool call",
    tools: [weather],
    toolChoice: "required",
    documents: [
      call(JSON.stringify({ location: "Paris, France", unit: "celsius" })),
      call(JSON.stringify({ location: "San Francisco, CA", unit: "fahrenheit" })),
    ],
  },
];

function replay(
  grammar: NonNullable<ReturnType<typeof buildGrammar>>,
  doc: readonly number[],
  name: string,
): number[] {
  const constraint = new DecodingConstraint({ table, grammar, maxTokens: 4096, thinking: "forbidden" });
  const times: number[] = [];
  for (const token of doc) {
    const s = performance.now();
    const mask = constraint.nextMask()!;
    times.push(performance.now() - s);
    if (!(mask[token >>> 5]! & (1 << (token & 31))))
      throw new Error(`${name}: token ${token} ${JSON.stringify(tokenizer.decode([token]))} not allowed`);
    constraint.accept(token);
  }
  if (!constraint.isComplete()) {
    const mask = constraint.nextMask()!;
    if (!(mask[table.eosId >>> 5]! & (1 << (table.eosId & 31))))
      throw new Error(`${name}: EOS not allowed at the end`);
  }
  return times;
}

// Warm the JIT (and the shared string tables) on a schema not measured below.
const warmup = buildGrammar(table, {
  responseFormat: checkResponseFormat({
    type: "json_schema",
    schema: { type: "object", properties: { x: { type: "array", items: { type: ["number", "string"] } } } },
  }),
  tools: [],
  toolChoice: checkToolChoice("auto"),
})!;
for (let i = 0; i < 3; i++)
  replay(warmup, enc(JSON.stringify({ x: [1, "Île-de-France — 東京", 2.5, "a", -3] }, null, i)), "warmup");

const results = cases.map((c) => {
  t0 = performance.now();
  const grammar = buildGrammar(table, {
    responseFormat: checkResponseFormat(c.responseFormat),
    tools: checkTools(c.tools),
    toolChoice: checkToolChoice(c.toolChoice),
  })!;
  const compileMs = performance.now() - t0;
  const [cold, warm] = c.documents.map((doc) => replay(grammar, doc, c.name)) as [number[], number[]];
  return {
    schema: c.name,
    compileMs: round3(compileMs),
    tokens: cold.length,
    firstMaskMs: round3(cold[0]!),
    coldMeanMs: round3(mean(cold)),
    coldP99Ms: round3(percentile(cold, 99)),
    warmMeanMs: round3(mean(warm)),
    warmP99Ms: round3(percentile(warm, 99)),
  };
});

console.log(
  JSON.stringify(
    {
      vocab: VOCAB,
      trieNodes: table.trieByte.length,
      tableBuildMs: Math.round(trieMs),
      stringTableBuildMs: Math.round(stringTableMs),
      schemas: results,
    },
    null,
    2,
  ),
);
