/**
 * A deterministic stand-in for the native step, for engine tests. It keeps its own "KV cache" (the token
 * id and position written to every slot), checks the batch against the step contract, and rebuilds each
 * logit row's context from the cache through the block table, so a packing mistake changes the output.
 * Sampling rows get the token `next(history)`; logits are a fixed function of (history, position).
 */

import type { NativeStepBatch, NativeStepResult } from "../../lib/native";

export interface FakeModelOptions {
  readonly vocab: number;
  readonly numBlocks: number;
  readonly blockSize: number;
  /** The next token after `history` (prompt + output so far). */
  readonly next?: (history: readonly number[]) => number;
  /** Called with each batch before it is answered (tests abort from here: "in flight"). */
  readonly onStep?: (batch: NativeStepBatch, index: number) => void;
  /** Resolve the step only after this promise (tests hold a step in flight with it). */
  readonly gate?: () => Promise<void>;
}

/** A byte-ish default: a hash of the last tokens, always a byte token of the ByteTokenizer (1000..1255). */
export function hashNext(history: readonly number[]): number {
  const n = history.length;
  const a = history[n - 1] ?? 0;
  const b = history[n - 2] ?? 0;
  return 1000 + ((a * 31 + b * 7 + n * 13) % 256);
}

/** Logit of token v after `history` at RoPE position `position`. */
export function fakeLogit(history: readonly number[], position: number, v: number): number {
  let h = position * 101;
  history.forEach((t, i) => {
    h = (h * 31 + t * (i + 1)) % 100_003;
  });
  return ((h + v * 7919) % 1009) / 100;
}

export class FakeModel {
  readonly calls: NativeStepBatch[] = [];
  private readonly kvToken: Int32Array;
  private readonly kvPos: Int32Array;

  constructor(readonly options: FakeModelOptions) {
    this.kvToken = new Int32Array(options.numBlocks * options.blockSize).fill(-1);
    this.kvPos = new Int32Array(options.numBlocks * options.blockSize).fill(-1);
  }

  readonly runStep = async (batch: NativeStepBatch): Promise<NativeStepResult> => {
    const index = this.calls.length;
    this.calls.push(batch);
    this.options.onStep?.(batch, index);
    if (this.options.gate) await this.options.gate();
    return this.step(batch);
  };

  private step(batch: NativeStepBatch): NativeStepResult {
    const { vocab, blockSize } = this.options;
    const S = batch.contextLens.length;
    const T = batch.tokens.length;
    check(
      batch.seqStarts.length === S + 1 && batch.seqStarts[0] === 0 && batch.seqStarts[S] === T,
      "seqStarts",
    );
    check(batch.positions.length === T && batch.slotMapping.length === T, "row arrays");
    check(batch.blockTables.length === S * batch.maxBlocksPerSeq, "blockTables size");
    const slotOf = (s: number, j: number) =>
      batch.blockTables[s * batch.maxBlocksPerSeq + Math.floor(j / blockSize)]! * blockSize + (j % blockSize);
    const rowSeq = new Int32Array(T);
    const rowEntry = new Int32Array(T);
    for (let s = 0; s < S; s++) {
      const start = batch.seqStarts[s]!;
      const n = batch.seqStarts[s + 1]! - start;
      const ctx = batch.contextLens[s]!;
      check(n >= 1 && ctx >= n, `sequence ${s} sizes`);
      check(Math.ceil(ctx / blockSize) <= batch.maxBlocksPerSeq, "maxBlocksPerSeq");
      for (let k = 0; k < n; k++) {
        const t = start + k;
        const entry = ctx - n + k;
        check(batch.slotMapping[t] === slotOf(s, entry), `slotMapping[${t}]`);
        this.kvToken[batch.slotMapping[t]!] = batch.tokens[t]!;
        this.kvPos[batch.slotMapping[t]!] = batch.positions[t]!;
        rowSeq[t] = s;
        rowEntry[t] = entry;
      }
    }
    const rows = batch.logitRows.length;
    if (batch.sampling) check(batch.sampling.temperature.length === rows, "one sampling entry per logit row");
    const K = batch.sampling?.topLogprobs ?? 0;
    const tokens = new Int32Array(rows);
    const logprobs = new Float32Array(rows);
    const topIds = new Int32Array(rows * K);
    const topLogprobs = new Float32Array(rows * K);
    const logits = batch.returnLogits ? new Float32Array(rows * vocab) : null;
    for (let r = 0; r < rows; r++) {
      const t = batch.logitRows[r]!;
      const s = rowSeq[t]!;
      const history: number[] = [];
      for (let j = 0; j <= rowEntry[t]!; j++) history.push(this.kvToken[slotOf(s, j)]!);
      const position = batch.positions[t]!;
      const row = new Float32Array(vocab);
      for (let v = 0; v < vocab; v++) row[v] = fakeLogit(history, position, v);
      logits?.set(row, r * vocab);
      if (!batch.sampling) continue;
      const token = (this.options.next ?? hashNext)(history);
      row[token] = 50;
      const lse = logSumExp(row);
      tokens[r] = token;
      logprobs[r] = row[token]! - lse;
      const order = [...row.keys()].sort((a, b) => row[b]! - row[a]! || a - b);
      for (let i = 0; i < K; i++) {
        topIds[r * K + i] = order[i]!;
        topLogprobs[r * K + i] = row[order[i]!]! - lse;
      }
    }
    return batch.sampling ? { tokens, logprobs, topIds, topLogprobs, logits } : { logits };
  }
}

function logSumExp(row: Float32Array): number {
  let max = -Infinity;
  for (const x of row) max = Math.max(max, x);
  let sum = 0;
  for (const x of row) sum += Math.exp(x - max);
  return max + Math.log(sum);
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`fake model: bad batch (${what})`);
}

/** A `next` that writes `script` (token ids) after a prompt of `promptLength` tokens, then `eos`. */
export function scripted(
  promptLength: number,
  script: readonly number[],
  eos = 2,
): (h: readonly number[]) => number {
  return (history) => script[history.length - promptLength] ?? eos;
}

const BAR = 1000 + 0x7c; // "|" in the ByteTokenizer

/**
 * A `next` driven by the prompt: the model writes the bytes between the first two "|" of the prompt, then
 * EOS (e.g. prompt "say |hello|" → "hello"). Histories without two bars fall back to hashNext.
 */
export function barScript(history: readonly number[]): number {
  const first = history.indexOf(BAR);
  const second = first < 0 ? -1 : history.indexOf(BAR, first + 1);
  if (second < 0) return hashNext(history);
  const i = history.length - (second + 1);
  return i < second - first - 1 ? history[first + 1 + i]! : 2;
}
