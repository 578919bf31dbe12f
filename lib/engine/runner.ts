/**
 * Runner: packs one scheduled step into the typed arrays of a NativeStepBatch and makes the single native
 * call. Sequence s owns token rows [seqStarts[s], seqStarts[s+1]); the entry of its j-th token sits at
 * slot blockTables[s][j / blockSize] * blockSize + j % blockSize. Logit rows are the last token of every
 * sequence that samples in this step, and the rows of evaluate requests that want logits.
 */

import type { NativeStepBatch, NativeStepResult } from "../native";
import {
  packSamplingBatch,
  SAMPLING_DEFAULTS,
  type SamplingParams,
  type SamplingRowInput,
} from "./sampling-params";
import type { ScheduledStep } from "./scheduler";
import type { Sequence } from "./sequence";

export type RunStep = (batch: NativeStepBatch) => Promise<NativeStepResult>;

/** What one logit row is for: sampling the next token of `seq`, or returning the logits of entry `entry`. */
export interface LogitRow {
  readonly seq: Sequence;
  readonly entry: number;
  readonly sample: boolean;
}

export interface PreparedStep {
  readonly batch: NativeStepBatch;
  /** One per entry of batch.logitRows, in the same order. */
  readonly rows: readonly LogitRow[];
}

export interface RunnerOptions {
  readonly blockSize: number;
  readonly vocabSize: number;
  readonly runStep: RunStep;
  readonly attention?: NativeStepBatch["attention"];
}

export class Runner {
  constructor(private readonly options: RunnerOptions) {}

  /** Builds the batch for `step`; the scheduler has already grown every block table to fit. */
  prepare(step: ScheduledStep): PreparedStep {
    const { blockSize, vocabSize } = this.options;
    const { items } = step;
    const numTokens = items.reduce((n, it) => n + it.numNew, 0);
    const numSeqs = items.length;
    let maxBlocksPerSeq = 1;
    for (const { seq, numNew } of items)
      maxBlocksPerSeq = Math.max(maxBlocksPerSeq, Math.ceil((seq.numCached + numNew) / blockSize));

    const tokens = new Int32Array(numTokens);
    const positions = new Int32Array(numTokens);
    const slotMapping = new Int32Array(numTokens);
    const seqStarts = new Int32Array(numSeqs + 1);
    const contextLens = new Int32Array(numSeqs);
    const blockTables = new Int32Array(numSeqs * maxBlocksPerSeq);
    const logitRows: number[] = [];
    const rows: LogitRow[] = [];
    // Rows fed by input embeddings: step row, then where its values come from.
    const inputRows: number[] = [];
    const inputSources: { rows: Float32Array; offset: number; width: number }[] = [];

    let t = 0;
    items.forEach(({ seq, numNew }, s) => {
      seqStarts[s] = t;
      const first = seq.numCached;
      const end = first + numNew;
      contextLens[s] = end;
      const table = seq.blockTable;
      const used = Math.ceil(end / blockSize);
      if (table.length < used) throw new Error(`Runner: sequence ${seq.id} has too few blocks`);
      for (let b = 0; b < used; b++) blockTables[s * maxBlocksPerSeq + b] = table[b]!;
      for (let j = first; j < end; j++, t++) {
        tokens[t] = seq.tokenAt(j);
        positions[t] = seq.startPosition + j;
        slotMapping[t] = table[Math.floor(j / blockSize)]! * blockSize + (j % blockSize);
        const input = seq.inputEmbeddings?.rowAt(j);
        if (input !== undefined) {
          inputRows.push(t);
          inputSources.push({
            rows: input.span.rows,
            offset: input.index * input.span.width,
            width: input.span.width,
          });
        }
        if (seq.logits === "all") {
          logitRows.push(t);
          rows.push({ seq, entry: j, sample: false });
        }
      }
      const completes = end === seq.numTokens;
      if (completes && seq.logits === "last") {
        logitRows.push(t - 1);
        rows.push({ seq, entry: end - 1, sample: false });
      } else if (completes && !seq.isEvaluate) {
        logitRows.push(t - 1);
        rows.push({ seq, entry: end - 1, sample: true });
      }
    });
    seqStarts[numSeqs] = t;

    const sampleRows = rows.filter((r) => r.sample);
    const returnLogits = rows.some((r) => !r.sample);
    let sampling: NativeStepBatch["sampling"] = null;
    if (sampleRows.length > 0) {
      // One sampling entry per logit row; evaluate rows ride along greedily and their samples are ignored.
      const topLogprobs = Math.max(0, ...sampleRows.map((r) => r.seq.topLogprobs));
      sampling = packSamplingBatch(rows.map(samplingRow), vocabSize, topLogprobs);
    }

    return {
      batch: {
        tokens,
        positions,
        seqStarts,
        contextLens,
        blockTables,
        maxBlocksPerSeq,
        slotMapping,
        logitRows: Int32Array.from(logitRows),
        returnLogits,
        sampling,
        ...(this.options.attention ? { attention: this.options.attention } : {}),
        ...(inputRows.length > 0 ? packInputRows(inputRows, inputSources) : {}),
      },
      rows,
    };
  }

  async run(prepared: PreparedStep): Promise<NativeStepResult> {
    return this.options.runStep(prepared.batch);
  }
}

/** Parameters for logit rows that are not sampled from (evaluate rows in a sampling step): cheap greedy. */
const GREEDY: SamplingParams = Object.freeze({ ...SAMPLING_DEFAULTS, temperature: 0, seed: 0 });

function samplingRow(row: LogitRow): SamplingRowInput {
  const { seq } = row;
  if (!row.sample || seq.sampling === null)
    return { params: GREEDY, contextTokens: [], outputTokens: [], draws: 0 };
  const p = seq.sampling;
  // Penalty token lists are only copied into the step when a penalty reads them.
  return {
    params: p,
    contextTokens: p.repetitionPenalty !== 1 ? seq.allTokens() : [],
    outputTokens: p.presencePenalty !== 0 || p.frequencyPenalty !== 0 ? seq.outputTokens : [],
    draws: seq.outputTokens.length,
    mask: seq.constraint?.nextMask() ?? null,
  };
}

/** The step's input-embedding rows as one [rows × width] array. */
function packInputRows(
  rows: readonly number[],
  sources: readonly { rows: Float32Array; offset: number; width: number }[],
): { inputRows: Int32Array; inputEmbeddings: Float32Array } {
  const width = sources[0]!.width;
  const inputEmbeddings = new Float32Array(rows.length * width);
  sources.forEach((s, i) => {
    inputEmbeddings.set(s.rows.subarray(s.offset, s.offset + width), i * width);
  });
  return { inputRows: Int32Array.from(rows), inputEmbeddings };
}
