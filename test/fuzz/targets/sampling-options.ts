/**
 * Sampling options and the request fields around them (lib/generation/validate.ts checkGenerateRequest,
 * lib/engine/sampling-params.ts validateSamplingParams): temperature, topP, topK, minP, the penalties, seed, logprobs,
 * topLogprobs, maxTokens, maxReasoningTokens and stop, each any value. Accepted parameters validate to themselves
 * again, and packed into a batch they pass the addon's own checks and sample a token of the vocabulary with a finite
 * log-probability (the native sampler, so a value that survives TypeScript but not float32 or C++ is a finding).
 */
import fc from "fast-check";
import {
  packSamplingBatch,
  type SamplingParams,
  validateSamplingParams,
} from "../../../lib/engine/sampling-params";
import { checkGenerateRequest } from "../../../lib/generation/validate";
import { loadNative } from "../../../lib/native";
import type { FuzzTarget } from "../harness";
import { hostileJson } from "../mutate";

const VOCAB = 64;
const edgeNumber = fc.oneof(
  fc.constantFrom(
    0,
    -0,
    1,
    -1,
    0.5,
    2,
    -2,
    2.0000001,
    1e-300,
    1e-45,
    1e300,
    3.5e38,
    2 ** 31,
    2 ** 32,
    2 ** 53,
    2 ** 53 + 2,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    Number.MIN_VALUE,
  ),
  fc.double(),
  fc.integer(),
);
/** A field: absent, a value in its range, or an edge number or hostile value (about one field in ten). */
const field = (valid: fc.Arbitrary<unknown>) =>
  fc.oneof(
    { weight: 5, arbitrary: fc.constant(undefined) },
    { weight: 4, arbitrary: valid },
    { weight: 1, arbitrary: fc.oneof(edgeNumber, hostileJson) },
  );
const unit = fc.double({ min: 0, max: 1, noNaN: true });

const request = fc.record(
  {
    temperature: field(fc.double({ min: 0, max: 5, noNaN: true })),
    topP: field(unit),
    topK: field(fc.nat(200)),
    minP: field(unit),
    repetitionPenalty: field(fc.double({ min: 1e-3, max: 4, noNaN: true })),
    presencePenalty: field(fc.double({ min: -2, max: 2, noNaN: true })),
    frequencyPenalty: field(fc.double({ min: -2, max: 2, noNaN: true })),
    seed: field(fc.maxSafeNat()),
    logprobs: field(fc.boolean()),
    topLogprobs: field(fc.nat(20)),
    maxTokens: field(fc.integer({ min: 1, max: 4096 })),
    maxReasoningTokens: field(fc.nat(4096)),
    stop: field(
      fc.oneof(
        fc.string({ maxLength: 4 }),
        fc.array(fc.string({ minLength: 1, maxLength: 4, unit: "grapheme" }), { maxLength: 3 }),
      ),
    ),
  },
  { requiredKeys: [] },
);

export const samplingOptionsTarget: FuzzTarget<Record<string, unknown>, SamplingParams> = {
  name: "sampling-options",
  reads: "a request's sampling options, limits and stop strings",
  input: request,
  parse: (req) => {
    checkGenerateRequest({ prompt: "x", ...req } as never);
    return validateSamplingParams(req as never, { randomSeed: () => 7 });
  },
  check: (_req, params) => {
    const again = validateSamplingParams({ ...params }, { randomSeed: () => 7 });
    if (JSON.stringify(again) !== JSON.stringify(params)) throw new Error("validating the result changes it");
    const batch = packSamplingBatch(
      [{ params, contextTokens: [1, 2, 3], outputTokens: [3], draws: 5 }],
      VOCAB,
      params.topLogprobs,
    );
    const logits = Float32Array.from({ length: VOCAB }, (_, i) => Math.sin(i * 12.9898) * 4);
    const sampled = loadNative().sample(logits, VOCAB, batch);
    const token = sampled.tokens[0]!;
    if (!(token >= 0 && token < VOCAB)) throw new Error(`sampled token ${token}`);
    if (!(Number.isFinite(sampled.logprobs[0]!) && sampled.logprobs[0]! <= 1e-6))
      throw new Error(`log-probability ${sampled.logprobs[0]}`);
  },
};
