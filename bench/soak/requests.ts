/**
 * Soak: many requests against one model, with random aborts, seeds, stop strings, JSON schemas, lengths, prompts and
 * chats, through generate() and stream() (some streams left early).
 *
 *   node bench/run-ts.mjs bench/soak/requests.ts [--requests 10000] [--concurrency 16] [--maxTokens 8] [--seed 1]
 *
 * Runs the built-in tiny model. A warm-up phase (30% of the requests: the allocator's RSS levels off after some 3000
 * requests of the tiny model) comes first, then three equal phases; after each phase, with nothing in flight, it
 * samples memory and the engine. Bounds: every request settles (resolved or rejected) and none rejects; after each
 * phase the KV pool is whole again (no block used, nothing running or waiting); heap and RSS after the last phase
 * stay within a few MiB of the warm-up's.
 */
import type { GenerateRequest } from "../../lib/generation/types";
import { Model } from "../../lib/model/model";
import { bound, intArgs, random, report, type Sample, sample } from "./figures";

const args = intArgs({ requests: 10_000, concurrency: 16, maxTokens: 8, seed: 1 });
const rnd = random(args.seed);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));

const WORDS = [
  "hello",
  "the",
  "model",
  "runs",
  "é",
  "日本",
  "42",
  "{",
  "}",
  "\n",
  "tool",
  "[INST]",
  "abc",
  " ",
];
const STOPS = ["a", "e", " ", "\n", "xyz", "the", "é", "}"];
const SCHEMAS: unknown[] = [
  { type: "object", properties: { a: { type: "integer" }, b: { type: "string" } }, required: ["a"] },
  { type: "array", items: { type: "boolean" }, maxItems: 3 },
  { type: "string", pattern: "^[a-z]{1,6}$" },
  { enum: ["yes", "no", 3] },
];

const model = await Model.load(undefined, { threads: 1, maxContext: 256, maxBatchSize: 8 });

let started = 0;
let settled = 0;
const finishReasons: Record<string, number> = {};
const rejections: Record<string, number> = {};
let abortsRequested = 0;
let streamsLeftEarly = 0;

function request(): GenerateRequest {
  const text = Array.from({ length: int(1, 30) }, () => pick(WORDS)).join(" ");
  const schema = rnd() < 0.15 ? pick(SCHEMAS) : undefined;
  const base = {
    // A schema's shortest answer takes up to 8 tokens here; a smaller maxTokens is refused by design.
    maxTokens: schema === undefined ? int(1, args.maxTokens) : int(8, 8 + args.maxTokens),
    seed: int(0, 2 ** 31),
    temperature: pick([0, 0.7, 1, 1.5]),
    ...(rnd() < 0.3 ? { stop: Array.from({ length: int(1, 3) }, () => pick(STOPS)) } : {}),
    ...(schema === undefined
      ? {}
      : { responseFormat: { type: "json_schema" as const, json_schema: { name: "soak", schema } } }),
  };
  return rnd() < 0.5
    ? { ...base, prompt: text }
    : { ...base, messages: [{ role: "user" as const, content: text }] };
}

async function one(): Promise<void> {
  started++;
  const req = request();
  const controller = rnd() < 0.2 ? new AbortController() : undefined;
  if (controller) {
    abortsRequested++;
    const when = rnd();
    if (when < 0.25) controller.abort();
    else if (when < 0.5) queueMicrotask(() => controller.abort());
    else setTimeout(() => controller.abort(), int(0, 4));
  }
  const withSignal = controller ? { ...req, signal: controller.signal } : req;
  try {
    if (rnd() < 0.3) {
      const leaveAfter = rnd() < 0.3 ? int(0, 3) : Number.POSITIVE_INFINITY;
      let events = 0;
      let reason = "left early";
      for await (const event of model.stream(withSignal)) {
        if (event.type === "done") reason = event.result.finishReason;
        if (++events > leaveAfter) {
          streamsLeftEarly++;
          break;
        }
      }
      finishReasons[reason] = (finishReasons[reason] ?? 0) + 1;
    } else {
      const r = await model.generate(withSignal);
      finishReasons[r.finishReason] = (finishReasons[r.finishReason] ?? 0) + 1;
    }
  } catch (error) {
    const code = (error as { code?: string }).code ?? (error as Error).name;
    rejections[code] = (rejections[code] ?? 0) + 1;
  } finally {
    settled++;
  }
}

/** Runs `n` requests, `concurrency` at a time; resolves when all have settled (or after `timeoutMs`). */
async function phase(n: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      await one();
    }
  };
  const all = Promise.all(Array.from({ length: args.concurrency }, worker));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise((r) => {
    timer = setTimeout(r, 30 * 60_000);
  });
  await Promise.race([all, timeout]);
  clearTimeout(timer);
}

function pool() {
  const s = model.stats();
  return {
    usedBlocks: s.usedBlocks,
    freeBlocks: s.freeBlocks,
    numBlocks: s.numBlocks,
    running: s.running,
    waiting: s.waiting,
  };
}

const t0 = performance.now();
const before = await sample();
const warmupRequests = Math.round(args.requests * 0.3);
await phase(warmupRequests);
const samples: (Sample & { afterRequests: number; pool: ReturnType<typeof pool> })[] = [];
samples.push({ afterRequests: settled, ...(await sample()), pool: pool() });
const rest = args.requests - warmupRequests;
for (let i = 0; i < 3; i++) {
  await phase(Math.floor(rest / 3) + (i < rest % 3 ? 1 : 0));
  samples.push({ afterRequests: settled, ...(await sample()), pool: pool() });
}
const seconds = (performance.now() - t0) / 1000;
const stats = model.stats();
await model.dispose();

const warm = samples[0]!;
const last = samples[samples.length - 1]!;
const poolLeaks = samples.reduce(
  (n, s) => n + s.pool.usedBlocks + s.pool.running + s.pool.waiting + (s.pool.numBlocks - s.pool.freeBlocks),
  0,
);
report(
  "requests",
  {
    requests: args.requests,
    concurrency: args.concurrency,
    maxTokens: args.maxTokens,
    seed: args.seed,
    seconds: Math.round(seconds),
    started,
    settled,
    finishReasons,
    rejections,
    abortsRequested,
    streamsLeftEarly,
    engine: { steps: stats.steps, preemptions: stats.preemptions, decodeTokens: stats.decodeTokens },
    before,
    afterWarmup: warm,
    samples,
  },
  [
    bound("requests started but not settled", started - settled, 0),
    bound("requests started, other than the ones asked for", Math.abs(started - args.requests), 0),
    bound(
      "rejected requests",
      Object.values(rejections).reduce((a, b) => a + b, 0),
      0,
    ),
    bound("KV blocks held or sequences left after a phase", poolLeaks, 0),
    bound("heap growth after warm-up, MiB", last.heapMiB - warm.heapMiB, 4),
    bound("RSS growth after warm-up, MiB", last.rssMiB - warm.rssMiB, 16),
    bound("open file descriptors gained after warm-up", last.openFds - warm.openFds, 0),
  ],
);
