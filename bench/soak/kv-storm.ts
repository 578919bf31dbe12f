/**
 * Soak: KV-cache exhaustion storms. A pool of a few dozen blocks, and rounds of many long requests at once (long
 * prompts, long answers, a few aborted midway), so running sequences keep preempting each other and coming back.
 *
 *   node bench/run-ts.mjs bench/soak/kv-storm.ts [--rounds 30] [--warmup 15] [--requests 32] [--blocks 48] [--seed 1]
 *
 * Runs the built-in tiny model. Bounds: the storms preempted; every request settles and none rejects; after each
 * round the pool is whole again; RSS and heap after the last round stay within a few MiB of the warm-up rounds'
 * (the allocator's RSS rises for some 15 rounds, then levels off).
 */
import { Model } from "../../lib/model/model";
import { bound, intArgs, random, report, sample } from "./figures";

const args = intArgs({ rounds: 30, warmup: 15, requests: 32, blocks: 48, seed: 1 });
const rnd = random(args.seed);
const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
const WORDS = ["hello", "the", "model", "runs", "é", "日本", "42", "{", "tool", "abc"];

// The bytes of one KV block, from a probe load, to size the storm's pool in blocks.
const probe = await Model.load(undefined, { threads: 1, maxContext: 512, maxBatchSize: 16 });
const blockBytes = probe.memory().kvCacheBytes / probe.memory().kvBlocks;
await probe.dispose();
const model = await Model.load(undefined, {
  threads: 1,
  maxContext: 512,
  maxBatchSize: 16,
  kvCacheMemory: args.blocks * blockBytes,
});
const blockSize = model.memory().kvBlockSize;

let started = 0;
let settled = 0;
const finishReasons: Record<string, number> = {};
const rejections: Record<string, number> = {};
let poolLeaks = 0;

async function one(): Promise<void> {
  started++;
  const controller = new AbortController();
  if (rnd() < 0.15) setTimeout(() => controller.abort(), int(1, 40));
  try {
    const r = await model.generate({
      // At most ~250 prompt tokens + 200 answer tokens: within maxContext, so no request is refused.
      prompt: Array.from({ length: int(30, 80) }, () => WORDS[int(0, WORDS.length - 1)]).join(" "),
      maxTokens: int(100, 200),
      temperature: 1,
      seed: int(0, 2 ** 31),
      signal: controller.signal,
    });
    finishReasons[r.finishReason] = (finishReasons[r.finishReason] ?? 0) + 1;
  } catch (error) {
    const code = (error as { code?: string }).code ?? (error as Error).name;
    rejections[code] = (rejections[code] ?? 0) + 1;
  } finally {
    settled++;
  }
}

const t0 = performance.now();
const before = await sample();
let afterWarmup: Awaited<ReturnType<typeof sample>> | undefined;
const trace: { rounds: number; rssMiB: number; heapMiB: number }[] = [];
for (let round = 0; round < args.rounds; round++) {
  await Promise.all(Array.from({ length: args.requests }, one));
  const s = model.stats();
  poolLeaks += s.usedBlocks + s.running + s.waiting + (s.numBlocks - s.freeBlocks);
  if (round + 1 === Math.min(args.warmup, args.rounds)) afterWarmup = await sample();
  if ((round + 1) % 5 === 0) {
    const m = await sample();
    trace.push({ rounds: round + 1, rssMiB: m.rssMiB, heapMiB: m.heapMiB });
  }
}
const after = await sample();
const stats = model.stats();
await model.dispose();

const warm = afterWarmup ?? after;
report(
  "kv-storm",
  {
    rounds: args.rounds,
    requestsPerRound: args.requests,
    kvBlocks: stats.numBlocks,
    kvTokens: stats.numBlocks * blockSize,
    seed: args.seed,
    seconds: Math.round((performance.now() - t0) / 1000),
    started,
    settled,
    finishReasons,
    rejections,
    engine: {
      steps: stats.steps,
      preemptions: stats.preemptions,
      prefillTokens: stats.prefillTokens,
      decodeTokens: stats.decodeTokens,
    },
    before,
    warmupRounds: args.warmup,
    afterWarmup: warm,
    after,
    trace,
  },
  [
    bound("rounds without a preemption (the storm must exhaust the pool)", stats.preemptions > 0 ? 0 : 1, 0),
    bound("requests started but not settled", started - settled, 0),
    bound(
      "rejected requests",
      Object.values(rejections).reduce((a, b) => a + b, 0),
      0,
    ),
    bound("KV blocks held or sequences left after a round", poolLeaks, 0),
    bound("heap growth after warm-up, MiB", after.heapMiB - warm.heapMiB, 4),
    bound("RSS growth after warm-up, MiB", after.rssMiB - warm.rssMiB, 16),
  ],
);
