/**
 * Soak: load and dispose the model over and over (one short generate on each load).
 *
 *   node bench/run-ts.mjs bench/soak/load-dispose.ts [--cycles 200] [--warmup 50]
 *
 * Runs the built-in tiny model. Samples memory and open file descriptors before the first load, after the warm-up
 * cycles (the addon, the tokenizer code paths and the allocator's arenas are in place: RSS levels off after some 50
 * loads of the tiny model) and after the last cycle.
 * Bounds: after the last cycle no more descriptors are open than after the warm-up (every mapped shard and file is
 * closed), and RSS and heap stay within a few MiB of the warm-up's (the weights and the KV pool are released).
 */
import { Model } from "../../lib/model/model";
import { bound, intArgs, report, sample } from "./figures";

const args = intArgs({ cycles: 200, warmup: 50 });

async function cycle(i: number): Promise<void> {
  const model = await Model.load(undefined, { threads: 1, maxContext: 256, maxBatchSize: 4 });
  const r = await model.generate({ prompt: `cycle ${i}`, maxTokens: 2, seed: i });
  if (r.usage.completionTokens < 1) throw new Error(`cycle ${i}: no token generated`);
  await model.dispose();
}

const t0 = performance.now();
const before = await sample();
for (let i = 0; i < args.warmup; i++) await cycle(i);
const afterWarmup = await sample();
const trace: { cycles: number; rssMiB: number; openFds: number }[] = [];
for (let i = args.warmup; i < args.cycles; i++) {
  await cycle(i);
  if ((i + 1) % 50 === 0) {
    const s = await sample();
    trace.push({ cycles: i + 1, rssMiB: s.rssMiB, openFds: s.openFds });
  }
}
const after = await sample();

report(
  "load-dispose",
  {
    cycles: args.cycles,
    warmup: args.warmup,
    seconds: Math.round((performance.now() - t0) / 1000),
    before,
    afterWarmup,
    after,
    trace,
  },
  [
    bound("open file descriptors gained after warm-up", after.openFds - afterWarmup.openFds, 0),
    bound("RSS growth after warm-up, MiB", after.rssMiB - afterWarmup.rssMiB, 16),
    bound("heap growth after warm-up, MiB", after.heapMiB - afterWarmup.heapMiB, 2),
  ],
);
