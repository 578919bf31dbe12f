import { describe, expect, test } from "vitest";
import {
  MAX_TOP_LOGPROBS,
  maskWords,
  packSamplingBatch,
  randomSeed,
  SAMPLING_DEFAULTS,
  type SamplingRequest,
  validateSamplingParams,
} from "../../lib/engine/sampling-params";
import { InvalidArgumentError } from "../../lib/errors";

describe("validateSamplingParams", () => {
  test("fills every default, with a random 53-bit seed", () => {
    const p = validateSamplingParams({}, { randomSeed: () => 1234 });
    expect(p).toEqual({ ...SAMPLING_DEFAULTS, seed: 1234 });
    expect(p).toEqual({
      temperature: 1,
      topP: 1,
      topK: 0,
      minP: 0,
      repetitionPenalty: 1,
      presencePenalty: 0,
      frequencyPenalty: 0,
      seed: 1234,
      logprobs: false,
      topLogprobs: 0,
    });
    expect(Object.isFrozen(p)).toBe(true);
    expect(validateSamplingParams().temperature).toBe(1);
  });

  test("null fields mean the default (as JSON clients send them)", () => {
    const p = validateSamplingParams({ temperature: null, topP: null, seed: null, logprobs: null });
    expect(p.temperature).toBe(1);
    expect(p.topP).toBe(1);
    expect(p.logprobs).toBe(false);
    expect(Number.isSafeInteger(p.seed)).toBe(true);
  });

  test("random seeds are non-negative safe integers and differ", () => {
    const seeds = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const s = randomSeed();
      expect(Number.isSafeInteger(s) && s >= 0).toBe(true);
      seeds.add(s);
    }
    expect(seeds.size).toBe(200);
    expect([...seeds].some((s) => s >= 2 ** 32)).toBe(true);
  });

  test("keeps valid values, including the range ends", () => {
    const req: SamplingRequest = {
      temperature: 0,
      topP: 1,
      topK: 40,
      minP: 1,
      repetitionPenalty: 1.3,
      presencePenalty: -2,
      frequencyPenalty: 2,
      seed: Number.MAX_SAFE_INTEGER,
      logprobs: true,
      topLogprobs: MAX_TOP_LOGPROBS,
    };
    expect(validateSamplingParams(req)).toEqual(req);
    expect(validateSamplingParams({ topP: 1e-9, minP: 0, seed: 0 })).toMatchObject({ topP: 1e-9, seed: 0 });
  });

  const invalid: [keyof SamplingRequest, unknown, RegExp][] = [
    ["temperature", -0.1, />= 0.*for temperature/],
    ["temperature", Number.NaN, /temperature/],
    ["temperature", Number.POSITIVE_INFINITY, /temperature/],
    ["temperature", "0.7", /temperature/],
    ["topP", 0, /\(0, 1\] for topP/],
    ["topP", 1.01, /topP/],
    ["topP", Number.NaN, /topP/],
    ["topK", -1, /non-negative integer.*for topK/],
    ["topK", 1.5, /topK/],
    ["topK", 2 ** 31, /topK/],
    ["minP", -0.01, /\[0, 1\] for minP/],
    ["minP", 1.5, /minP/],
    ["repetitionPenalty", 0, /> 0.*for repetitionPenalty/],
    ["repetitionPenalty", -1, /repetitionPenalty/],
    ["repetitionPenalty", Number.POSITIVE_INFINITY, /repetitionPenalty/],
    ["presencePenalty", 2.5, /\[-2, 2\] for presencePenalty/],
    ["presencePenalty", -2.01, /presencePenalty/],
    ["frequencyPenalty", -3, /\[-2, 2\] for frequencyPenalty/],
    ["frequencyPenalty", Number.NaN, /frequencyPenalty/],
    ["seed", -1, /non-negative safe integer for seed/],
    ["seed", 1.5, /seed/],
    ["seed", 2 ** 53, /seed/],
    ["seed", "7", /seed/],
    ["logprobs", "yes", /boolean for logprobs/],
    ["logprobs", 1, /logprobs/],
    ["topLogprobs", 21, /\[0, 20\] for topLogprobs/],
    ["topLogprobs", -1, /topLogprobs/],
    ["topLogprobs", 2.5, /topLogprobs/],
    // The sampler takes 32-bit floats: values that round to Infinity or 0 there (found by fuzzing).
    ["temperature", 1e300, /temperature/],
    ["topP", 5e-324, /topP/],
    ["repetitionPenalty", 1e-46, /repetitionPenalty/],
  ];
  test.each(invalid)("%s = %s is an InvalidArgumentError", (name, value, message) => {
    const req = { logprobs: true, [name]: value } as SamplingRequest;
    let error: unknown;
    try {
      validateSamplingParams(req);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).argument).toBe(name);
    expect((error as Error).message).toMatch(message);
  });

  test("topLogprobs needs logprobs: true", () => {
    expect(() => validateSamplingParams({ topLogprobs: 3 })).toThrow(/logprobs is true for topLogprobs/);
    expect(() => validateSamplingParams({ topLogprobs: 3, logprobs: false })).toThrow(InvalidArgumentError);
    expect(validateSamplingParams({ topLogprobs: 0 }).topLogprobs).toBe(0);
    expect(validateSamplingParams({ topLogprobs: 3, logprobs: true }).topLogprobs).toBe(3);
  });

  test("a non-object request is an InvalidArgumentError", () => {
    expect(() => validateSamplingParams(null as never)).toThrow(InvalidArgumentError);
  });
});

describe("packSamplingBatch", () => {
  const seedA = 2 ** 40 + 5;
  const a = validateSamplingParams({ temperature: 0.5, topK: 7, topP: 0.9, minP: 0.05, seed: seedA });
  const b = validateSamplingParams({
    repetitionPenalty: 1.2,
    presencePenalty: 0.5,
    frequencyPenalty: -0.25,
    seed: 3,
  });

  test("lays out per-row parameters, split seeds and ragged token lists", () => {
    const batch = packSamplingBatch(
      [
        { params: a, contextTokens: [1, 2, 3], outputTokens: [3], draws: 4 },
        { params: b, contextTokens: new Int32Array([9]), outputTokens: [], draws: 0 },
        { params: a, contextTokens: [], outputTokens: [5, 5], draws: 0xffffffff },
      ],
      100,
      2,
    );
    expect(batch.temperature).toEqual(new Float32Array([0.5, 1, 0.5]));
    expect(batch.topK).toEqual(new Int32Array([7, 0, 7]));
    expect(batch.topP).toEqual(new Float32Array([0.9, 1, 0.9]));
    expect(batch.minP).toEqual(new Float32Array([0.05, 0, 0.05]));
    expect(batch.repetitionPenalty).toEqual(new Float32Array([1, 1.2, 1]));
    expect(batch.presencePenalty).toEqual(new Float32Array([0, 0.5, 0]));
    expect(batch.frequencyPenalty).toEqual(new Float32Array([0, -0.25, 0]));
    expect(batch.seeds).toEqual(new Uint32Array([5, 256, 3, 0, 5, 256]));
    expect(batch.draws).toEqual(new Uint32Array([4, 0, 0xffffffff]));
    expect(batch.contextTokens).toEqual(new Int32Array([1, 2, 3, 9]));
    expect(batch.contextStarts).toEqual(new Int32Array([0, 3, 4, 4]));
    expect(batch.outputTokens).toEqual(new Int32Array([3, 5, 5]));
    expect(batch.outputStarts).toEqual(new Int32Array([0, 1, 1, 3]));
    expect(batch.masks).toBeNull();
    expect(batch.topLogprobs).toBe(2);
  });

  test("the largest seed splits into 21 high bits and 32 low bits", () => {
    const p = validateSamplingParams({ seed: Number.MAX_SAFE_INTEGER });
    const batch = packSamplingBatch([{ params: p, contextTokens: [], outputTokens: [], draws: 0 }], 10, 0);
    expect([...batch.seeds]).toEqual([0xffffffff, 0x1fffff]);
  });

  test("masks: rows without one are all-allowed", () => {
    const vocab = 40;
    expect(maskWords(vocab)).toBe(2);
    const mask = new Uint32Array([0b1010, 0x80]);
    const batch = packSamplingBatch(
      [
        { params: a, contextTokens: [], outputTokens: [], draws: 0 },
        { params: b, contextTokens: [], outputTokens: [], draws: 0, mask },
      ],
      vocab,
      0,
    );
    expect(batch.masks).toEqual(new Uint32Array([0xffffffff, 0xffffffff, 0b1010, 0x80]));
  });

  test("an empty batch packs to empty arrays", () => {
    const batch = packSamplingBatch([], 10, 0);
    expect(batch.temperature.length).toBe(0);
    expect(batch.contextStarts).toEqual(new Int32Array([0]));
    expect(batch.outputStarts).toEqual(new Int32Array([0]));
  });

  test("rejects bad vocab, topLogprobs, draws and mask lengths", () => {
    const row = { params: a, contextTokens: [], outputTokens: [], draws: 0 };
    expect(() => packSamplingBatch([row], 0, 0)).toThrow(/vocab/);
    expect(() => packSamplingBatch([row], 10, 11)).toThrow(/topLogprobs/);
    expect(() => packSamplingBatch([{ ...row, draws: -1 }], 10, 0)).toThrow(/rows\[0\]\.draws/);
    expect(() => packSamplingBatch([{ ...row, draws: 2 ** 32 }], 10, 0)).toThrow(InvalidArgumentError);
    expect(() => packSamplingBatch([{ ...row, mask: new Uint32Array(3) }], 40, 0)).toThrow(
      /2 words for rows\[0\]\.mask/,
    );
  });
});
