/**
 * Drives the native forward directly (no engine): one sequence, its KV entries in a caller-chosen block
 * table, fed in chunks. Used by the forward tests to compare against the float64 reference.
 */
import type { Model } from "../../lib/model/model";
import type { NativeStepBatch } from "../../lib/native";

export interface SequenceRun {
  /** Token ids of the whole sequence. */
  tokens: number[];
  /** RoPE positions per token (default: 0..n-1). */
  positions?: number[];
  /** Sizes of the consecutive steps that feed the sequence (default: everything in one step). */
  chunks?: number[];
  /** Blocks to use, in order (default: 0, 1, 2, …); a scrambled order checks block-table indirection. */
  blocks?: number[];
  attention?: NativeStepBatch["attention"];
}

/** Runs the sequence and returns the logits of every token, [n × vocab], gathered over the steps. */
export async function runSequence(model: Model, run: SequenceRun): Promise<Float32Array> {
  const native = model.live();
  const { kvBlockSize: blockSize } = model.memory();
  const n = run.tokens.length;
  const vocab = model.config.vocabSize;
  const positions = run.positions ?? run.tokens.map((_, i) => i);
  const blocksNeeded = Math.ceil(n / blockSize);
  const blocks = run.blocks ?? Array.from({ length: blocksNeeded }, (_, i) => i);
  const chunks = run.chunks ?? [n];
  const out = new Float32Array(n * vocab);
  let start = 0;
  for (const size of chunks) {
    const end = start + size;
    const slot = (j: number) => blocks[Math.floor(j / blockSize)]! * blockSize + (j % blockSize);
    const idx = Array.from({ length: size }, (_, k) => start + k);
    const result = await native.step({
      tokens: Int32Array.from(idx.map((j) => run.tokens[j]!)),
      positions: Int32Array.from(idx.map((j) => positions[j]!)),
      seqStarts: Int32Array.of(0, size),
      contextLens: Int32Array.of(end),
      blockTables: Int32Array.from(blocks),
      maxBlocksPerSeq: blocks.length,
      slotMapping: Int32Array.from(idx.map(slot)),
      logitRows: Int32Array.from(idx.map((_, k) => k)),
      returnLogits: true,
      sampling: null,
      ...(run.attention ? { attention: run.attention } : {}),
    });
    out.set(result.logits!, start * vocab);
    start = end;
  }
  return out;
}

/** max |a − b| / max |b| over all values, and the share of rows whose argmax agrees. */
export function compareLogits(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  vocab: number,
): { relError: number; top1: number } {
  let maxDiff = 0;
  let maxRef = 0;
  let agree = 0;
  const rows = b.length / vocab;
  for (let r = 0; r < rows; r++) {
    let ia = 0;
    let ib = 0;
    for (let v = 0; v < vocab; v++) {
      const i = r * vocab + v;
      maxDiff = Math.max(maxDiff, Math.abs(a[i]! - b[i]!));
      maxRef = Math.max(maxRef, Math.abs(b[i]!));
      if (a[i]! > a[r * vocab + ia]!) ia = v;
      if (b[i]! > b[r * vocab + ib]!) ib = v;
    }
    if (ia === ib) agree++;
  }
  return { relError: maxDiff / maxRef, top1: agree / rows };
}
