/**
 * Soak: dispose() racing generate(), stream(), evaluate() and Model.load(). Each round loads the model, starts a burst
 * of requests, and at a random moment disposes it (twice, concurrently) while more requests arrive; in the same round
 * a second load is aborted at a random moment, and the model it may still produce is disposed at once.
 *
 *   node bench/run-ts.mjs bench/soak/dispose-race.ts [--rounds 150] [--seed 1]
 *
 * Runs the built-in tiny model. What may happen to a request: it resolves (any finish reason), or rejects with a
 * DisposedError or AbortError. Bounds: every promise settles, nothing else rejects, an aborted load is an AbortError or
 * a model, and after the rounds RSS and open file descriptors are within a bound of the warm-up rounds' (nothing the disposed
 * models held stays).
 */
import { AbortError, DisposedError } from "../../lib/errors";
import { Model } from "../../lib/model/model";
import { bound, intArgs, random, report, sample } from "./figures";

const args = intArgs({ rounds: 150, seed: 1 });
const rnd = random(args.seed);
const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
const LOAD = { threads: 1, maxContext: 256, maxBatchSize: 8 } as const;

let started = 0;
let settled = 0;
const outcomes: Record<string, number> = {};
const unexpected: string[] = [];

function expectedRejection(error: unknown): boolean {
  return error instanceof DisposedError || error instanceof AbortError;
}

async function track(what: string, work: () => Promise<string>): Promise<void> {
  started++;
  try {
    const outcome = await work();
    outcomes[`${what}: ${outcome}`] = (outcomes[`${what}: ${outcome}`] ?? 0) + 1;
  } catch (error) {
    if (expectedRejection(error)) {
      const key = `${what}: ${(error as Error).name}`;
      outcomes[key] = (outcomes[key] ?? 0) + 1;
    } else {
      unexpected.push(`${what}: ${(error as Error).stack ?? String(error)}`);
    }
  } finally {
    settled++;
  }
}

function requestsOn(model: Model, n: number): Promise<void>[] {
  return Array.from({ length: n }, (_, i) => {
    const kind = int(0, 2);
    const prompt = `race ${i} ${"word ".repeat(int(1, 20))}`;
    if (kind === 0)
      return track(
        "generate",
        async () => (await model.generate({ prompt, maxTokens: int(1, 24) })).finishReason,
      );
    if (kind === 1)
      return track("stream", async () => {
        let reason = "ended without done";
        for await (const e of model.stream({ prompt, maxTokens: int(1, 24) }))
          if (e.type === "done") reason = e.result.finishReason;
        return reason;
      });
    return track("evaluate", async () => {
      await model.evaluate({ messages: [{ role: "user", content: prompt }] }, { allPositions: rnd() < 0.5 });
      return "evaluated";
    });
  });
}

async function round(): Promise<void> {
  const model = await Model.load(undefined, LOAD);
  const work = requestsOn(model, int(1, 12));
  await new Promise((r) => setTimeout(r, int(0, 15)));
  const dispose = async () => {
    await model.dispose();
    return "disposed";
  };
  const disposals = [track("dispose", dispose)];
  work.push(...requestsOn(model, int(0, 4)));
  disposals.push(track("dispose", dispose));
  work.push(...requestsOn(model, int(0, 2)));
  // A load aborted at a random moment (sometimes before it starts, sometimes never).
  const controller = new AbortController();
  const when = rnd();
  if (when < 0.2) controller.abort();
  else if (when < 0.8) setTimeout(() => controller.abort(), int(0, 30));
  const loading = track("load", async () => {
    const m = await Model.load(undefined, { ...LOAD, signal: controller.signal });
    const racing = requestsOn(m, int(0, 3));
    await m.dispose();
    await Promise.all(racing);
    return "loaded";
  });
  await Promise.all([...work, ...disposals, loading]);
}

const t0 = performance.now();
const before = await sample();
// RSS levels off after some 50 rounds (two models loaded per round); it then moves within ~±15 MiB, not upwards.
const warmup = Math.min(50, Math.floor(args.rounds / 2));
for (let i = 0; i < warmup; i++) await round();
const afterWarmup = await sample();
const trace: { rounds: number; rssMiB: number; openFds: number }[] = [];
for (let i = warmup; i < args.rounds; i++) {
  await round();
  if ((i + 1) % 25 === 0) {
    const s = await sample();
    trace.push({ rounds: i + 1, rssMiB: s.rssMiB, openFds: s.openFds });
  }
}
const after = await sample();

report(
  "dispose-race",
  {
    rounds: args.rounds,
    seed: args.seed,
    seconds: Math.round((performance.now() - t0) / 1000),
    started,
    settled,
    outcomes,
    unexpected: unexpected.slice(0, 5),
    before,
    afterWarmup,
    after,
    trace,
  },
  [
    bound("promises started but not settled", started - settled, 0),
    bound("rejections other than DisposedError / AbortError", unexpected.length, 0),
    bound("open file descriptors gained after warm-up", after.openFds - afterWarmup.openFds, 0),
    bound("RSS growth after warm-up, MiB", after.rssMiB - afterWarmup.rssMiB, 32),
    bound("heap growth after warm-up, MiB", after.heapMiB - afterWarmup.heapMiB, 4),
  ],
);
