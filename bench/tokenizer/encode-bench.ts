/**
 * Encode throughput of our Tekken against js-tiktoken (pure JS) and WASM tiktoken (Rust), all three on
 * o200k's rank table in Tekken layout with the Tekken pattern, plus a linearity check on degenerate
 * inputs. Prints one JSON object. Run: node bench/run-ts.mjs bench/tokenizer/encode-bench.ts [MB]
 */
import { Tiktoken as JsTiktoken } from "js-tiktoken/lite";
import { Tiktoken as WasmTiktoken } from "tiktoken/lite";
import { Tekken } from "../../lib/tokenizer/tekken";
import { TEKKEN_PATTERN } from "../../lib/tokenizer/tekken-json";
import { multilingualDocuments, proseText } from "../../test/tokenizer/multilingual-corpus";
import { o200kJsTiktokenBpe, o200kTekkenJson, o200kTiktokenFile } from "../../test/tokenizer/o200k-tekken";

const megabytes = Number(process.argv[2] ?? 2);
const RUNS = 3;

function utf8Megabytes(text: string): number {
  return Buffer.byteLength(text, "utf8") / 1e6;
}

/** Best of RUNS timings in seconds, after one warm-up run. */
function bestSeconds(run: () => void, runs = RUNS): number {
  run();
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    run();
    best = Math.min(best, (performance.now() - start) / 1000);
  }
  return best;
}

const round = (x: number, digits = 2): number => Number(x.toFixed(digits));

const ours = Tekken.fromJson(o200kTekkenJson(), "o200k-in-tekken-layout");
const jsTiktoken = new JsTiktoken(o200kJsTiktokenBpe());
const wasmTiktoken = new WasmTiktoken(o200kTiktokenFile(), {}, TEKKEN_PATTERN);

// The throughput text: the multilingual test corpus (prose in many scripts, code, JSON, emoji, ...)
// without its rare very long words / runs, on which both reference encoders are quadratic.
const text = multilingualDocuments(7, megabytes * 1e6 * 0.6, { longRuns: false }).join("");
const textMb = utf8Megabytes(text);

// First encode on a fresh instance (cold piece cache), then steady state.
const coldStart = performance.now();
ours.encode(text);
const oursColdSeconds = (performance.now() - coldStart) / 1000;
const oursSeconds = bestSeconds(() => ours.encode(text));
const jsSeconds = bestSeconds(() => jsTiktoken.encode(text));
const wasmSeconds = bestSeconds(() => wasmTiktoken.encode_ordinary(text));

// Linearity: 1 MB of prose vs 1 MB of degenerate single-piece inputs (ours only; the reference
// encoders are quadratic on a single huge piece).
const linearity: Record<string, number> = {};
const prose = proseText(3, 1_000_000);
const proseMb = utf8Megabytes(prose);
const proseSeconds = bestSeconds(() => ours.encode(prose));
const proseJsSeconds = bestSeconds(() => jsTiktoken.encode(prose), 1);
const proseWasmSeconds = bestSeconds(() => wasmTiktoken.encode_ordinary(prose), 1);
linearity["prose_ms"] = round(proseSeconds * 1000, 1);
for (const [name, input] of [
  ["a_x1e6", "a".repeat(1_000_000)],
  ["space_x1e6", " ".repeat(1_000_000)],
  ["newline_x1e6", "\n".repeat(1_000_000)],
  ["space_tab_x5e5", " \t".repeat(500_000)],
  ["digits_x1e6", "7".repeat(1_000_000)],
] as const) {
  const seconds = bestSeconds(() => ours.encode(input), 2);
  linearity[`${name}_ms`] = round(seconds * 1000, 1);
  linearity[`${name}_vs_prose`] = round(seconds / proseSeconds);
}

console.log(
  JSON.stringify(
    {
      rank_table: "o200k_base in Tekken layout (+1000 shift), Tekken pattern",
      text_mb: round(textMb),
      ours_mb_per_s: round(textMb / oursSeconds),
      ours_cold_cache_mb_per_s: round(textMb / oursColdSeconds),
      js_tiktoken_mb_per_s: round(textMb / jsSeconds),
      wasm_tiktoken_mb_per_s: round(textMb / wasmSeconds),
      ours_vs_js_tiktoken: round(jsSeconds / oursSeconds),
      ours_vs_wasm_tiktoken: round(wasmSeconds / oursSeconds),
      ours_cold_vs_wasm_tiktoken: round(wasmSeconds / oursColdSeconds),
      prose: {
        mb: round(proseMb),
        ours_mb_per_s: round(proseMb / proseSeconds),
        js_tiktoken_mb_per_s: round(proseMb / proseJsSeconds),
        wasm_tiktoken_mb_per_s: round(proseMb / proseWasmSeconds),
      },
      linearity,
    },
    null,
    2,
  ),
);
