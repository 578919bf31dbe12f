/**
 * Our constrained decoding against xgrammar's WASM build (`@mlc-ai/web-xgrammar`), in one run on one
 * machine, so that ratios are meaningful on a shared host:
 * - coverage: for every keyword family of test/constrain/keyword-cases.ts, whether each side compiles the
 *   schema and accepts the valid documents and rejects the invalid ones ("enforced"), compiles it but lets
 *   an invalid document through ("not enforced"), or refuses the schema ("error");
 * - speed at a 131,072-token vocabulary: grammar compile time and per-token mask time while replaying the
 *   documents of bench/constrain/speed-cases.ts (first document on a fresh grammar, then a second one).
 *
 * Run: node bench/run-ts.mjs bench/constrain/xgrammar-compare.ts [--json]
 */
import { DecodingConstraint } from "../../lib/constrain/constraint";
import { buildGrammar, checkResponseFormat, checkToolChoice } from "../../lib/constrain/request";
import { TokenTable } from "../../lib/constrain/token-table";
import { classify, compileSchema } from "../../test/constrain/helpers";
import { KEYWORD_CASES } from "../../test/constrain/keyword-cases";
import { byteLevel, xgrammar } from "../../test/constrain/xgrammar";
import { SPEED_CASES, type SpeedCase } from "./speed-cases";
import { mean, percentile, round3, tokenizer131k } from "./vocab-131k";

const xg = xgrammar();
const tokenizer = tokenizer131k();

type Verdict = "enforced" | "not enforced" | "error";

function verdict(accepts: (text: string) => boolean, c: (typeof KEYWORD_CASES)[number]): Verdict {
  if (!c.valid.every(accepts)) return "error";
  return c.invalid.some(accepts) ? "not enforced" : "enforced";
}

async function xgrammarVerdict(
  c: (typeof KEYWORD_CASES)[number],
): Promise<{ verdict: Verdict; note?: string }> {
  let grammar: Awaited<ReturnType<typeof xg.Grammar.fromJSONSchema>>;
  try {
    grammar = await xg.Grammar.fromJSONSchema(JSON.stringify(c.schema), true);
  } catch (e) {
    return { verdict: "error", note: String((e as Error).message ?? e).slice(0, 120) };
  }
  const accepted = new Map<string, boolean>();
  for (const text of [...c.valid, ...c.invalid])
    accepted.set(text, await xg.Testings.isGrammarAcceptString(grammar, text));
  const v = verdict((t) => accepted.get(t) === true, c);
  const rejectedValid = c.valid.filter((t) => !accepted.get(t));
  grammar.dispose();
  return rejectedValid.length > 0
    ? { verdict: v, note: `rejects valid ${rejectedValid.join(" ")}` }
    : { verdict: v };
}

function oursVerdict(c: (typeof KEYWORD_CASES)[number]): { verdict: Verdict; note?: string } {
  try {
    const node = compileSchema(c.schema);
    const v = verdict((t) => classify(node, t) === "complete", c);
    return { verdict: v };
  } catch (e) {
    return { verdict: "error", note: String((e as Error).message).slice(0, 120) };
  }
}

const coverage = [];
for (const c of KEYWORD_CASES) {
  coverage.push({ keyword: c.keyword, ours: oursVerdict(c), xgrammar: await xgrammarVerdict(c) });
}

// ---------------------------------------------------------------------------------------------------------
// Speed

let t0 = performance.now();
const table = new TokenTable(tokenizer);
table.stringTable(0);
const oursTableMs = performance.now() - t0;

t0 = performance.now();
const vocab: string[] = [];
for (let id = 0; id < tokenizer.vocabSize; id++)
  vocab.push(id < tokenizer.numSpecialTokens ? "" : byteLevel(tokenizer.tokenBytes(id)));
const info = await xg.TokenizerInfo.createTokenizerInfo(vocab, "byte_level", false, tokenizer.vocabSize, [
  tokenizer.eosId,
]);
const compiler = await xg.GrammarCompiler.createGrammarCompiler(info);
const xgTableMs = performance.now() - t0;

const allowed = (mask: ArrayLike<number>, id: number) => (mask[id >>> 5]! & (1 << (id & 31))) !== 0;

function oursReplay(
  grammar: NonNullable<ReturnType<typeof buildGrammar>>,
  doc: readonly number[],
  name: string,
) {
  const constraint = new DecodingConstraint({ table, grammar, maxTokens: 4096, thinking: "forbidden" });
  const times: number[] = [];
  for (const token of doc) {
    const s = performance.now();
    const mask = constraint.nextMask()!;
    times.push(performance.now() - s);
    if (!allowed(mask, token)) throw new Error(`ours, ${name}: token ${token} not allowed`);
    constraint.accept(token);
  }
  return times;
}

async function xgReplay(compiled: unknown, doc: readonly number[], name: string) {
  const matcher = await xg.GrammarMatcher.createGrammarMatcher(compiled as never);
  const times: number[] = [];
  let rejected = 0;
  for (const token of doc) {
    const s = performance.now();
    const mask = await matcher.getNextTokenBitmask();
    times.push(performance.now() - s);
    if (!allowed(mask, token)) rejected++;
    if (!matcher.acceptToken(token)) throw new Error(`xgrammar, ${name}: token ${token} rejected`);
  }
  matcher.dispose();
  return { times, rejected };
}

function request(c: SpeedCase) {
  return {
    responseFormat: checkResponseFormat(
      c.regex !== undefined ? { type: "regex", pattern: c.regex } : { type: "json_schema", schema: c.schema },
    ),
    tools: [],
    toolChoice: checkToolChoice("auto"),
  };
}

function stats(cold: number[], warm: number[]) {
  return {
    firstMaskMs: round3(cold[0]!),
    coldMeanMs: round3(mean(cold)),
    coldP99Ms: round3(percentile(cold, 99)),
    warmMeanMs: round3(mean(warm)),
    warmP99Ms: round3(percentile(warm, 99)),
  };
}

// Warm both JITs on a schema not measured.
{
  const warm = {
    type: "object",
    properties: { x: { type: "array", items: { type: ["number", "string"] } } },
  };
  const doc = tokenizer.encode(JSON.stringify({ x: [1, "Île-de-France — 東京", 2.5, "a", -3] }));
  const g = buildGrammar(table, {
    responseFormat: checkResponseFormat({ type: "json_schema", schema: warm }),
    tools: [],
    toolChoice: checkToolChoice("auto"),
  })!;
  oursReplay(g, doc, "warmup");
  const cg = await compiler.compileJSONSchema(JSON.stringify(warm), true);
  await xgReplay(cg, doc, "warmup");
}

const speed = [];
for (const c of SPEED_CASES) {
  const docs = c.documents.map((d) => tokenizer.encode(d));
  const row: Record<string, unknown> = { schema: c.name, tokens: docs[0]!.length };
  try {
    t0 = performance.now();
    const g = buildGrammar(table, request(c))!;
    const compileMs = performance.now() - t0;
    const [cold, warm] = docs.map((d) => oursReplay(g, d, c.name)) as [number[], number[]];
    row.ours = { compileMs: round3(compileMs), ...stats(cold, warm) };
  } catch (e) {
    row.ours = { error: String((e as Error).message).slice(0, 160) };
  }
  try {
    t0 = performance.now();
    const compiled =
      c.regex !== undefined
        ? await compiler.compileStructuralTag({
            type: "structural_tag",
            format: { type: "regex", pattern: c.regex },
          })
        : await compiler.compileJSONSchema(JSON.stringify(c.schema), true);
    const compileMs = performance.now() - t0;
    const cold = await xgReplay(compiled, docs[0]!, c.name);
    const warm = await xgReplay(compiled, docs[1]!, c.name);
    row.xgrammar = { compileMs: round3(compileMs), ...stats(cold.times, warm.times) };
  } catch (e) {
    row.xgrammar = { error: String((e as Error).message ?? e).slice(0, 160) };
  }
  speed.push(row);
}

const result = {
  vocab: tokenizer.vocabSize,
  tokenizerSetupMs: { ours: Math.round(oursTableMs), xgrammar: Math.round(xgTableMs) },
  coverage,
  speed,
};
if (process.argv.includes("--json")) console.log(JSON.stringify(result, null, 2));
else {
  console.log(
    `vocabulary ${result.vocab}; per-tokenizer setup ms: ours ${oursTableMs.toFixed(0)}, xgrammar ${xgTableMs.toFixed(0)}`,
  );
  console.log("\ncoverage (ours | xgrammar):");
  for (const r of coverage)
    console.log(
      `  ${r.keyword.padEnd(48)} ${r.ours.verdict.padEnd(13)} | ${r.xgrammar.verdict.padEnd(13)} ${r.xgrammar.note ?? ""} ${r.ours.note ? `[ours: ${r.ours.note}]` : ""}`,
    );
  console.log("\nspeed (ms):");
  for (const r of speed) console.log(JSON.stringify(r));
}
