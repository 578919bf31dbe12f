/**
 * Mask cost of constrained decoding on a 131,072-token vocabulary (o200k's first 130,072 ranks in Tekken
 * layout + 1000 specials). For each schema, a realistic document is tokenized and replayed through a
 * DecodingConstraint: every step computes the mask (timed) and checks the document's token is allowed.
 * Prints one JSON object: table build, then per schema first-mask ms, steady-state mean/p99 ms per token
 * on a fresh grammar (cold) and on a second document with the same grammar (warm).
 *
 * Run: node bench/run-ts.mjs bench/constrain/mask-bench.ts
 */
import { DecodingConstraint } from "../../lib/constrain/constraint";
import { buildGrammar, checkResponseFormat, checkToolChoice, checkTools } from "../../lib/constrain/request";
import { TokenTable } from "../../lib/constrain/token-table";
import { Tekken } from "../../lib/tokenizer/tekken";
import { O200K_NUM_SPECIAL_TOKENS, o200kTekkenJson } from "../../test/tokenizer/o200k-tekken";

const VOCAB = 131_072;
const json = o200kTekkenJson();
const ranks = VOCAB - O200K_NUM_SPECIAL_TOKENS;
const tokenizer = Tekken.fromJson({
  ...json,
  config: { ...json.config, num_vocab_tokens: ranks, default_vocab_size: VOCAB },
  vocab: json.vocab.slice(0, ranks),
});

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
const person = {
  type: "object",
  properties: {
    name: { type: "string", minLength: 1, maxLength: 80 },
    age: { type: "integer" },
    email: { type: ["string", "null"] },
    role: { enum: ["admin", "editor", "viewer"] },
    tags: { type: "array", items: { type: "string" }, maxItems: 8 },
    address: {
      type: "object",
      properties: {
        street: { type: "string" },
        city: { type: "string" },
        zip: { type: "string", maxLength: 10 },
      },
      required: ["street", "city"],
      additionalProperties: false,
    },
  },
  required: ["name", "age", "role"],
  additionalProperties: false,
};
const personDoc = (n: string) =>
  JSON.stringify(
    {
      name: n,
      age: 42,
      email: null,
      role: "editor",
      tags: ["writer", "photographer", "runs marathons on weekends"],
      address: { street: "12 rue de la Paix, appartement 4", city: "Paris — Île-de-France", zip: "75002" },
    },
    null,
    2,
  );
const tree = {
  $defs: {
    node: {
      type: "object",
      properties: { label: { type: "string" }, children: { type: "array", items: { $ref: "#/$defs/node" } } },
      required: ["label", "children"],
      additionalProperties: false,
    },
  },
  $ref: "#/$defs/node",
};
const treeDoc = JSON.stringify({
  label: "root",
  children: [
    { label: "left branch", children: [{ label: "leaf one", children: [] }] },
    {
      label: "right",
      children: [
        { label: "leaf two", children: [] },
        { label: "leaf three", children: [] },
      ],
    },
  ],
});
const free = JSON.stringify({
  summary: "The quarterly report shows growth in every region except the north-east.",
  figures: [1.5, 2.25, -3e2, 17],
  ok: true,
  notes: { author: "Zoë", reviewed: null },
});
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
  {
    name: "person (nested object, enum, nullable, bounded strings, pretty-printed)",
    responseFormat: { type: "json_schema", schema: person },
    documents: [enc(personDoc("Ada Lovelace")), enc(personDoc("Grace Brewster Murray Hopper"))],
  },
  {
    name: "tree ($ref recursion)",
    responseFormat: { type: "json_schema", schema: tree },
    documents: [enc(treeDoc), enc(treeDoc.replace("left branch", "gauche"))],
  },
  {
    name: "json_object",
    responseFormat: { type: "json_object" },
    documents: [enc(free), enc(free.replace("Zoë", "Ana"))],
  },
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

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
}

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
  const runs = c.documents.map((doc) => replay(grammar, doc, c.name));
  const [cold, warm] = runs as [number[], number[]];
  const round = (x: number) => Math.round(x * 1000) / 1000;
  return {
    schema: c.name,
    compileMs: round(compileMs),
    tokens: cold.length,
    firstMaskMs: round(cold[0]!),
    coldMeanMs: round(cold.reduce((a, b) => a + b, 0) / cold.length),
    coldP99Ms: round(percentile(cold, 99)),
    warmMeanMs: round(warm.reduce((a, b) => a + b, 0) / warm.length),
    warmP99Ms: round(percentile(warm, 99)),
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
