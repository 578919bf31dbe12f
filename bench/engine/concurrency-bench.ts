/**
 * Continuous batching throughput: aggregate decode tokens/s with 1, 4, 16 and 64 concurrent requests
 * through the engine (fixed prompt length and output length, greedy, EOS ignored), next to the weight and
 * KV bytes one decode step touches and the GB/s that implies, so the gain from batching can be compared
 * with what memory bandwidth allows.
 *
 *   node bench/run-ts.mjs bench/engine/concurrency-bench.ts [--model DIR] [--concurrency 1,4,16,64]
 *     [--prompt N] [--tokens N] [--threads N]
 *
 * Without --model it runs the built-in tiny model. Prints one JSON object.
 *
 * Weight bytes per decode step with B sequences: everything but the routed experts and the embedding, plus
 * B embedding rows, plus the routed experts the step touches. With top-k routing over E experts and
 * independent tokens, a layer touches E·(1 − (1 − k/E)^B) distinct experts in expectation (the union of
 * the B tokens' choices). "memoryBoundSpeedup" is B × bytes(1) / bytes(B): the batching gain a purely
 * memory-bound step would give.
 */
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { openCheckpoint } from "../../lib/checkpoint/open-checkpoint";
import { validateSamplingParams } from "../../lib/engine/sampling-params";
import { kvBytesPerToken } from "../../lib/inspect/model-sizes";
import { ensureBuiltinModel } from "../../lib/model/builtin-model";
import { Model } from "../../lib/model/model";
import { physicalCores } from "../../lib/model/threads";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
// run-ts bundles this file next to itself, so the addon's default search (relative to the bundle) misses.
const addon = join(repoRoot, "build", "Release", "mistral4.node");
if (!process.env.MS4_ADDON_PATH && existsSync(addon)) process.env.MS4_ADDON_PATH = addon;

interface Args {
  model: string | undefined;
  concurrency: number[];
  prompt: number;
  tokens: number;
  threads: number;
}

function parseArgs(argv: string[]): Args {
  const args: Args = {
    model: undefined,
    concurrency: [1, 4, 16, 64],
    prompt: 32,
    tokens: 64,
    threads: physicalCores(),
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[++i];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    const int = () => {
      const n = Number(value);
      if (!(Number.isSafeInteger(n) && n >= 1))
        throw new Error(`${flag} needs a positive integer, got ${value}`);
      return n;
    };
    if (flag === "--model") args.model = value;
    else if (flag === "--concurrency") args.concurrency = value.split(",").map(Number);
    else if (flag === "--prompt") args.prompt = int();
    else if (flag === "--tokens") args.tokens = int();
    else if (flag === "--threads") args.threads = int();
    else throw new Error(`unknown flag ${flag}`);
  }
  return args;
}

/**
 * Bytes of the model by role: routed experts (all of them), embedding, everything else the forward reads;
 * and the multiply-adds of one token through the linear layers (top-k routed experts, lm_head included).
 */
function weightGroups(model: Model): {
  experts: number;
  embedding: number;
  other: number;
  macsPerToken: number;
} {
  const groups = { experts: 0, embedding: 0, other: 0, macsPerToken: 0 };
  const c = model.config;
  for (const m of model.plan.modules) {
    const size = Object.values(m.tensors).reduce((a, t) => a + (t?.length ?? 0), 0);
    const params = m.spec.kind === "linear" ? m.spec.shape.reduce((a, n) => a * n, 1) : 0;
    if (m.spec.group === "expert") {
      groups.experts += size;
      groups.macsPerToken += (params * c.moe.numExpertsPerToken) / c.moe.numExperts;
    } else if (m.spec.group === "embedding") groups.embedding += size;
    else if (m.spec.group !== "vision" && m.spec.group !== "projector") {
      groups.other += size;
      groups.macsPerToken += params;
    }
  }
  return groups;
}

interface Row {
  concurrency: number;
  decodeTokensPerSecond: number;
  speedupVsOne: number;
  decodeStepMs: number;
  prefillSeconds: number;
  expertsTouchedPerLayer: number;
  weightBytesPerStep: number;
  kvBytesPerStep: number;
  achievedGBps: number;
  memoryBoundSpeedup: number;
  /** Linear-layer FLOPs of one decode step (2 × multiply-adds × B) and the rate achieved. */
  gflopPerStep: number;
  achievedGflops: number;
}

async function runOnce(model: Model, concurrency: number, prompt: number, tokens: number) {
  const sampling = validateSamplingParams({ temperature: 0 });
  const first = model.tokenizer.numSpecialTokens;
  const span = model.tokenizer.vocabSize - first;
  const start = performance.now();
  const firstTokenAt: number[] = [];
  const tokenTimes: number[] = [];
  await Promise.all(
    Array.from({ length: concurrency }, async (_, r) => {
      const promptTokens = [
        model.tokenizer.bosId,
        ...Array.from({ length: prompt - 1 }, (_, i) => first + ((i * 7919 + r * 104729) % span)),
      ];
      const handle = model.engine.addRequest({ promptTokens, maxTokens: tokens, sampling, ignoreEos: true });
      let n = 0;
      for await (const ev of handle) {
        if (ev.type !== "token") continue;
        const now = performance.now();
        if (n++ === 0) firstTokenAt.push(now);
        else tokenTimes.push(now);
      }
      if (n !== tokens) throw new Error(`request ${r} produced ${n} tokens, expected ${tokens}`);
    }),
  );
  const end = performance.now();
  // Decode phase: once every request has its first token, all of them decode together.
  const decodeStart = Math.max(...firstTokenAt);
  const decoded = tokenTimes.filter((t) => t > decodeStart).length;
  return {
    prefillSeconds: (decodeStart - start) / 1000,
    decodeSeconds: (end - decodeStart) / 1000,
    decoded,
  };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const maxC = Math.max(...args.concurrency);
  const dir = args.model ?? (await ensureBuiltinModel());
  // BF16 KV (the default dtype), sized before loading so the weights are read once.
  const bytesPerToken = kvBytesPerToken((await openCheckpoint(dir)).config, 2);
  const entries = maxC * (args.prompt + args.tokens) + 64;
  const model = await Model.load(dir, {
    threads: args.threads,
    maxBatchSize: maxC,
    maxTokensPerStep: Math.max(2048, maxC * args.prompt),
    maxContext: args.prompt + args.tokens + 16,
    kvCacheMemory: Math.ceil(entries * 1.25 * bytesPerToken),
    prefixCaching: false,
  });
  const c = model.config;
  const groups = weightGroups(model);
  const E = c.moe.numExperts;
  const k = c.moe.numExpertsPerToken;

  await runOnce(model, 1, Math.min(args.prompt, 8), 2); // warm-up: thread pool, first-touch of scratch

  const rows: Row[] = [];
  for (const C of args.concurrency) {
    const run = await runOnce(model, C, args.prompt, args.tokens);
    const decodeTokensPerSecond = run.decoded / run.decodeSeconds;
    const decodeSteps = args.tokens - 1;
    const stepSeconds = run.decodeSeconds / decodeSteps;
    const touched = E * (1 - (1 - k / E) ** C);
    const weightBytesPerStep =
      groups.other + (groups.embedding / c.vocabSize) * C + groups.experts * (touched / E);
    // Mean context over the decode steps: prompt + half the output.
    const kvBytesPerStep = C * (args.prompt + args.tokens / 2) * bytesPerToken;
    const bytes1 = groups.other + groups.embedding / c.vocabSize + groups.experts * (k / E);
    rows.push({
      concurrency: C,
      decodeTokensPerSecond: round(decodeTokensPerSecond),
      speedupVsOne: 0,
      decodeStepMs: round(stepSeconds * 1000),
      prefillSeconds: round(run.prefillSeconds),
      expertsTouchedPerLayer: round(touched),
      weightBytesPerStep: Math.round(weightBytesPerStep),
      kvBytesPerStep: Math.round(kvBytesPerStep),
      achievedGBps: round((weightBytesPerStep + kvBytesPerStep) / stepSeconds / 1e9),
      memoryBoundSpeedup: round((C * bytes1) / weightBytesPerStep),
      gflopPerStep: round((2 * groups.macsPerToken * C) / 1e9),
      achievedGflops: round((2 * groups.macsPerToken * C) / stepSeconds / 1e9),
    });
  }
  const base = rows.find((r) => r.concurrency === 1)?.decodeTokensPerSecond;
  for (const r of rows) r.speedupVsOne = base ? round(r.decodeTokensPerSecond / base) : Number.NaN;

  const result = {
    bench: "engine-concurrency",
    model: model.dir,
    kernelPath: model.kernelPath,
    threads: args.threads,
    promptTokens: args.prompt,
    outputTokens: args.tokens,
    kvBytesPerToken: bytesPerToken,
    weightBytes: { routedExperts: groups.experts, embedding: groups.embedding, other: groups.other },
    linearMacsPerToken: groups.macsPerToken,
    numExperts: E,
    expertsPerToken: k,
    rows,
    stats: model.stats(),
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
  };
  if (model.kv.bytesPerToken !== bytesPerToken) throw new Error("KV bytes per token: the estimate was wrong");
  await model.dispose();
  console.log(JSON.stringify(result, null, 2));
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

await main();
