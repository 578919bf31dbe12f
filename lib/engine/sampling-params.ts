/**
 * User-facing sampling parameters (README.md#api): validation with defaults, and packing a batch of rows into
 * the typed arrays the native sampler takes (NativeSamplingBatch in lib/native.ts).
 *
 * The native sampler applies, per row: repetition penalty over the context (prompt + output) tokens,
 * presence/frequency penalties over the output tokens, the allowed-token mask, then log-probabilities, then
 * temperature (0 = greedy), top-k, top-p, min-p and a seeded, counter-based draw (native/sampling/sampler.h).
 */
import { randomBytes } from "node:crypto";
import { InvalidArgumentError } from "../errors";
import type { NativeSamplingBatch } from "../native";

/** The sampling fields of a generate() request; null or undefined means "use the default". */
export interface SamplingRequest {
  temperature?: number | null;
  topP?: number | null;
  topK?: number | null;
  minP?: number | null;
  repetitionPenalty?: number | null;
  presencePenalty?: number | null;
  frequencyPenalty?: number | null;
  seed?: number | null;
  logprobs?: boolean | null;
  topLogprobs?: number | null;
}

/** Validated parameters with every default filled in. */
export interface SamplingParams {
  /** 0 = greedy. */
  readonly temperature: number;
  /** Nucleus mass in (0, 1]; 1 = off. */
  readonly topP: number;
  /** 0 = off. */
  readonly topK: number;
  /** In [0, 1]; 0 = off. */
  readonly minP: number;
  /** > 0; 1 = off. */
  readonly repetitionPenalty: number;
  /** In [-2, 2]; 0 = off. */
  readonly presencePenalty: number;
  /** In [-2, 2]; 0 = off. */
  readonly frequencyPenalty: number;
  /** A non-negative safe integer; random when the request has none. */
  readonly seed: number;
  readonly logprobs: boolean;
  /** Alternatives per token, 0..MAX_TOP_LOGPROBS. */
  readonly topLogprobs: number;
}

export const MAX_TOP_LOGPROBS = 20;

/**
 * Defaults when a field is absent. temperature 1 as in the OpenAI API; Mistral's model card recommends a
 * lower temperature for Mistral Small 4 (pass it explicitly).
 */
export const SAMPLING_DEFAULTS: Omit<SamplingParams, "seed"> = Object.freeze({
  temperature: 1,
  topP: 1,
  topK: 0,
  minP: 0,
  repetitionPenalty: 1,
  presencePenalty: 0,
  frequencyPenalty: 0,
  logprobs: false,
  topLogprobs: 0,
});

/** A uniformly random integer in [0, 2^53). */
export function randomSeed(): number {
  const b = randomBytes(8);
  return (b.readUInt32LE(4) & 0x1fffff) * 2 ** 32 + b.readUInt32LE(0);
}

function present<T>(v: T | null | undefined): v is T {
  return v !== undefined && v !== null;
}

function number(
  req: SamplingRequest,
  name: keyof SamplingRequest,
  expected: string,
  ok: (v: number) => boolean,
  fallback: number,
): number {
  const v = req[name];
  if (!present(v)) return fallback;
  if (typeof v !== "number" || Number.isNaN(v) || !ok(v)) throw new InvalidArgumentError(name, expected, v);
  return v;
}

/** Validates the sampling fields of a request and fills in defaults. Throws InvalidArgumentError. */
export function validateSamplingParams(
  req: SamplingRequest = {},
  options: { randomSeed?: () => number } = {},
): SamplingParams {
  if (typeof req !== "object" || req === null) throw new InvalidArgumentError("request", "an object", req);
  const d = SAMPLING_DEFAULTS;
  // The sampler takes these as 32-bit floats: a value must stay in range once rounded (5e-324 becomes 0, 1e300
  // becomes Infinity, which the addon refuses — for the whole step; found by fuzzing).
  const f32 = (ok: (v: number) => boolean) => (v: number) => ok(v) && ok(Math.fround(v));
  const temperature = number(
    req,
    "temperature",
    "a finite number >= 0 (0 = greedy)",
    f32((v) => Number.isFinite(v) && v >= 0),
    d.temperature,
  );
  const topP = number(
    req,
    "topP",
    "a number in (0, 1]",
    f32((v) => v > 0 && v <= 1),
    d.topP,
  );
  const topK = number(
    req,
    "topK",
    "a non-negative integer (0 = off)",
    (v) => Number.isInteger(v) && v >= 0 && v <= 2 ** 31 - 1,
    d.topK,
  );
  const minP = number(
    req,
    "minP",
    "a number in [0, 1]",
    f32((v) => v >= 0 && v <= 1),
    d.minP,
  );
  const repetitionPenalty = number(
    req,
    "repetitionPenalty",
    "a finite number > 0 (1 = off)",
    f32((v) => Number.isFinite(v) && v > 0),
    d.repetitionPenalty,
  );
  const penalty = f32((v: number) => v >= -2 && v <= 2);
  const presencePenalty = number(req, "presencePenalty", "a number in [-2, 2]", penalty, d.presencePenalty);
  const frequencyPenalty = number(
    req,
    "frequencyPenalty",
    "a number in [-2, 2]",
    penalty,
    d.frequencyPenalty,
  );
  const seed = present(req.seed)
    ? number(req, "seed", "a non-negative safe integer", (v) => Number.isSafeInteger(v) && v >= 0, 0)
    : (options.randomSeed ?? randomSeed)();

  const logprobs = req.logprobs;
  if (present(logprobs) && typeof logprobs !== "boolean") {
    throw new InvalidArgumentError("logprobs", "a boolean", logprobs);
  }
  const topLogprobs = number(
    req,
    "topLogprobs",
    `an integer in [0, ${MAX_TOP_LOGPROBS}]`,
    (v) => Number.isInteger(v) && v >= 0 && v <= MAX_TOP_LOGPROBS,
    d.topLogprobs,
  );
  if (topLogprobs > 0 && logprobs !== true) {
    throw new InvalidArgumentError("topLogprobs", "0 unless logprobs is true", topLogprobs);
  }
  return Object.freeze({
    temperature,
    topP,
    topK,
    minP,
    repetitionPenalty,
    presencePenalty,
    frequencyPenalty,
    seed,
    logprobs: logprobs === true,
    topLogprobs,
  });
}

/** One row of a sampling batch: a sequence's parameters, its token history and its RNG counter. */
export interface SamplingRowInput {
  params: SamplingParams;
  /** Prompt + output tokens (the repetition penalty's window). */
  contextTokens: ArrayLike<number>;
  /** Output tokens so far (presence/frequency penalties). */
  outputTokens: ArrayLike<number>;
  /** How many tokens this sequence has sampled before (the RNG counter), a uint32. */
  draws: number;
  /** Allowed-token bitmask, ceil(vocab / 32) words, bit set = allowed; absent = everything allowed. */
  mask?: Uint32Array | null;
}

/** The number of 32-bit mask words per row for a vocabulary. */
export function maskWords(vocab: number): number {
  return Math.ceil(vocab / 32);
}

function concat(rows: readonly SamplingRowInput[], pick: (r: SamplingRowInput) => ArrayLike<number>) {
  const starts = new Int32Array(rows.length + 1);
  let total = 0;
  rows.forEach((r, i) => {
    total += pick(r).length;
    starts[i + 1] = total;
  });
  const tokens = new Int32Array(total);
  rows.forEach((r, i) => {
    tokens.set(pick(r), starts[i]!);
  });
  return { tokens, starts };
}

/**
 * Packs rows into a NativeSamplingBatch: per-row parameter arrays, seeds as [low, high] 32-bit pairs, ragged
 * token lists with starts (row r owns [starts[r], starts[r + 1])), and a mask array (all-ones rows for rows
 * without a mask) when any row has one. `topLogprobs` is the batch-wide number of alternatives returned.
 */
export function packSamplingBatch(
  rows: readonly SamplingRowInput[],
  vocab: number,
  topLogprobs: number,
): NativeSamplingBatch {
  if (!Number.isInteger(vocab) || vocab <= 0)
    throw new InvalidArgumentError("vocab", "a positive integer", vocab);
  if (!Number.isInteger(topLogprobs) || topLogprobs < 0 || topLogprobs > vocab) {
    throw new InvalidArgumentError("topLogprobs", `an integer in [0, ${vocab}]`, topLogprobs);
  }
  const n = rows.length;
  const words = maskWords(vocab);
  const batch: NativeSamplingBatch = {
    temperature: new Float32Array(n),
    topK: new Int32Array(n),
    topP: new Float32Array(n),
    minP: new Float32Array(n),
    repetitionPenalty: new Float32Array(n),
    presencePenalty: new Float32Array(n),
    frequencyPenalty: new Float32Array(n),
    seeds: new Uint32Array(2 * n),
    draws: new Uint32Array(n),
    contextTokens: new Int32Array(0),
    contextStarts: new Int32Array(0),
    outputTokens: new Int32Array(0),
    outputStarts: new Int32Array(0),
    masks: rows.some((r) => r.mask) ? new Uint32Array(n * words).fill(0xffffffff) : null,
    topLogprobs,
  };
  rows.forEach((row, i) => {
    const p = row.params;
    batch.temperature[i] = p.temperature;
    batch.topK[i] = p.topK;
    batch.topP[i] = p.topP;
    batch.minP[i] = p.minP;
    batch.repetitionPenalty[i] = p.repetitionPenalty;
    batch.presencePenalty[i] = p.presencePenalty;
    batch.frequencyPenalty[i] = p.frequencyPenalty;
    if (!Number.isSafeInteger(p.seed) || p.seed < 0) {
      throw new InvalidArgumentError(`rows[${i}].params.seed`, "a non-negative safe integer", p.seed);
    }
    batch.seeds[2 * i] = p.seed % 2 ** 32;
    batch.seeds[2 * i + 1] = Math.floor(p.seed / 2 ** 32);
    if (!Number.isInteger(row.draws) || row.draws < 0 || row.draws > 0xffffffff) {
      throw new InvalidArgumentError(`rows[${i}].draws`, "an integer in [0, 2^32)", row.draws);
    }
    batch.draws[i] = row.draws;
    if (row.mask) {
      if (row.mask.length !== words) {
        throw new InvalidArgumentError(`rows[${i}].mask`, `a Uint32Array of ${words} words`, row.mask);
      }
      batch.masks!.set(row.mask, i * words);
    }
  });
  const context = concat(rows, (r) => r.contextTokens);
  const output = concat(rows, (r) => r.outputTokens);
  batch.contextTokens = context.tokens;
  batch.contextStarts = context.starts;
  batch.outputTokens = output.tokens;
  batch.outputStarts = output.starts;
  return batch;
}
