/**
 * The binding checks a whole step before the forward runs (native/backend/input_checks.cc checkStepBatch): a batch
 * the engine would never send — block tables, slots, sequence starts, context lengths, logit or input rows that
 * disagree or point outside the pool or the step — is a RangeError naming the field, and the model keeps working.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { Model } from "../../lib/model/model";
import { loadNative, type NativeStepBatch, type StepCheckInput } from "../../lib/native";
import { TinyCheckpoints } from "../helpers/tiny-checkpoints";

let checkpoints: TinyCheckpoints;
let model: Model;
beforeAll(async () => {
  checkpoints = await TinyCheckpoints.create("ms4-step-checks-");
  const dir = await checkpoints.get({ layout: "native", quant: "bf16" });
  model = await Model.load(dir, { kvCacheMemory: 1 << 20, maxTokensPerStep: 64, threads: 1 });
});
afterAll(async () => {
  await model?.dispose();
  await checkpoints.cleanup();
});

/**
 * Two sequences: A has one full block cached (block 2) and 2 new tokens, entries bs and bs + 1, in its second block
 * (block 0); B is a 3-token prefill in block 1.
 */
function validBatch(): NativeStepBatch {
  const bs = model.memory().kvBlockSize;
  return {
    tokens: Int32Array.of(5, 6, 7, 8, 9),
    positions: Int32Array.of(bs, bs + 1, 0, 1, 2),
    slotMapping: Int32Array.of(0, 1, bs, bs + 1, bs + 2),
    seqStarts: Int32Array.of(0, 2, 5),
    contextLens: Int32Array.of(bs + 2, 3),
    blockTables: Int32Array.of(2, 0, 1, 0),
    maxBlocksPerSeq: 2,
    logitRows: Int32Array.of(1, 4),
    returnLogits: true,
    sampling: null,
  };
}

type Corruption = [name: string, change: (b: NativeStepBatch) => void, message: RegExp];

const blocks = () => model.memory().kvBlocks;
const bs = () => model.memory().kvBlockSize;

const corruptions: Corruption[] = [
  [
    "a token id past the vocabulary",
    (b) => (b.tokens[2] = model.config.vocabSize),
    /batch\.tokens\[2\] = \d+ is outside the vocabulary/,
  ],
  ["a negative position", (b) => (b.positions[0] = -1), /batch\.positions\[0\] = -1 is negative/],
  ["seqStarts not starting at 0", (b) => (b.seqStarts[0] = 1), /batch\.seqStarts\[0\] = 1 must be 0/],
  [
    "seqStarts not ending at the token count",
    (b) => (b.seqStarts[2] = 4),
    /batch\.seqStarts\[2\] = 4 must be the token count 5/,
  ],
  [
    "a sequence without a new token",
    (b) => (b.seqStarts[1] = 0),
    /batch\.seqStarts\[1\] = 0 leaves sequence 0 without a new token/,
  ],
  [
    "seqStarts going past the tokens",
    (b) => b.seqStarts.set([0, 7, 5]),
    /batch\.seqStarts\[1\] = 7 is past the token count/,
  ],
  [
    "a context shorter than its new tokens",
    (b) => (b.contextLens[1] = 2),
    /batch\.contextLens\[1\] = 2 is less than the sequence's 3 new tokens/,
  ],
  [
    "a context longer than its block-table row",
    (b) => (b.contextLens[1] = 2 * bs() + 1),
    /batch\.contextLens\[1\] = \d+ does not fit 2 blocks/,
  ],
  [
    "a block outside the pool",
    (b) => (b.blockTables[0] = blocks()),
    /batch\.blockTables\[0\] = \d+ \(sequence 0, block 0\) is outside the pool/,
  ],
  [
    "a negative block",
    (b) => (b.blockTables[2] = -3),
    /batch\.blockTables\[2\] = -3 \(sequence 1, block 0\) is outside the pool/,
  ],
  [
    "one block twice in a sequence",
    (b) => (b.blockTables[1] = 2),
    /batch\.blockTables lists block 2 twice for sequence 0/,
  ],
  [
    "a slot that is not its entry's",
    (b) => (b.slotMapping[3] = bs() + 5),
    /batch\.slotMapping\[3\] = \d+ is not the slot of entry 1 of sequence 1/,
  ],
  [
    "a slot outside the pool",
    (b) => (b.slotMapping[0] = blocks() * bs()),
    /batch\.slotMapping\[0\] = \d+ is not the slot/,
  ],
  [
    "two sequences writing the same slot",
    (b) => {
      // B's entries in block 0 too, where A writes its entries bs and bs + 1: both write slots 0 and 1.
      b.blockTables.set([2, 0, 0, 0]);
      b.slotMapping.set([0, 1, 0, 1, 2]);
    },
    /batch\.slotMapping writes slot 0 twice/,
  ],
  [
    "a logit row outside the step",
    (b) => (b.logitRows = Int32Array.of(1, 5)),
    /batch\.logitRows\[1\] = 5 is outside the step's 5 tokens/,
  ],
  [
    "an input row outside the step",
    (b) => {
      b.inputRows = Int32Array.of(9);
      b.inputEmbeddings = new Float32Array(model.config.hiddenSize);
    },
    /batch\.inputRows\[0\] = 9 is outside the step/,
  ],
  [
    "an input row twice",
    (b) => {
      b.inputRows = Int32Array.of(1, 1);
      b.inputEmbeddings = new Float32Array(2 * model.config.hiddenSize);
    },
    /batch\.inputRows holds row 1 twice/,
  ],
  [
    "more tokens than the scratch arena holds",
    (b) => {
      const n = 65;
      b.tokens = new Int32Array(n).fill(5);
      b.positions = Int32Array.from({ length: n }, (_, i) => i);
      b.slotMapping = Int32Array.from({ length: n }, (_, i) => (i < bs() ? 0 : 1) * bs() + (i % bs()));
      b.seqStarts = Int32Array.of(0, n);
      b.contextLens = Int32Array.of(n);
      b.blockTables = Int32Array.of(0, 1, 2, 3, 4);
      b.maxBlocksPerSeq = 5;
      b.logitRows = Int32Array.of(n - 1);
    },
    /batch\.tokens has 65 entries; a step runs at most 64/,
  ],
];

describe("the binding rejects an inconsistent step, naming the field", () => {
  test("the valid batch runs and gives one logit row per requested row", async () => {
    const result = await model.live().step(validBatch());
    expect(result.logits?.length).toBe(2 * model.config.vocabSize);
  });

  for (const [name, change, message] of corruptions) {
    test(name, async () => {
      const batch = validBatch();
      change(batch);
      expect(() => model.live().step(batch)).toThrow(RangeError);
      expect(() => model.live().step(batch)).toThrow(message);
    });
  }

  test("slot -1 (no cache write) stays allowed, and the model runs after every rejection", async () => {
    const batch = validBatch();
    batch.slotMapping[0] = -1;
    const result = await model.live().step(batch);
    expect(result.logits?.length).toBe(2 * model.config.vocabSize);
    const r = await model.generate({ prompt: "hello", maxTokens: 3, temperature: 0 });
    expect(r.usage.completionTokens).toBeGreaterThan(0);
  });
});

describe("the backend's own step checks (defects found by native/fuzz/step_checks_fuzz.cc)", () => {
  const limits = { numBlocks: 4, blockSize: 4, vocab: 50, hidden: 4, maxStepTokens: 0 };
  const step = (over: Partial<StepCheckInput>): StepCheckInput => ({
    tokens: Int32Array.of(1, 2),
    positions: Int32Array.of(0, 1),
    slotMapping: Int32Array.of(0, 1),
    seqStarts: Int32Array.of(0, 2),
    contextLens: Int32Array.of(2),
    blockTables: Int32Array.of(0),
    maxBlocksPerSeq: 1,
    ...over,
  });

  test("a valid step passes both", () => {
    expect(loadNative().stepChecks(step({}), limits)).toEqual({ binding: null, backend: null });
  });

  test("a sequence start past the token count is refused before any row of the layout is written", () => {
    // Was: beginStep's check wrote seqOf[begin + k] for the first sequence's 7 rows of a 5-token step (a heap
    // overflow, seen by AddressSanitizer; regression input native/fuzz/regressions/step/seq-starts-past-tokens).
    const r = loadNative().stepChecks(
      step({
        tokens: new Int32Array(5),
        positions: Int32Array.of(0, 1, 2, 3, 4),
        slotMapping: new Int32Array(5).fill(-1),
        seqStarts: Int32Array.of(0, 7, 5),
        contextLens: Int32Array.of(8, 2),
        blockTables: Int32Array.of(0, 1, 2, 3),
        maxBlocksPerSeq: 2,
      }),
      limits,
    );
    expect(r.backend).toMatch(/seqStarts is not non-decreasing within \[0, 5\] at sequence 0/);
    expect(r.binding).toMatch(/seqStarts\[1\] = 7 is past the token count/);
  });

  test("a context length near INT_MAX is refused, not wrapped around to a negative block count", () => {
    // Was: (contextLens + blockSize - 1) overflowed int: a negative block count read no block table entry and the
    // step passed (undefined behaviour, seen by UBSan; regression input .../step/context-length-overflow).
    const r = loadNative().stepChecks(step({ contextLens: Int32Array.of(2147483646) }), limits);
    expect(r.backend).toMatch(/needs more blocks than maxBlocksPerSeq/);
    expect(r.binding).toMatch(/contextLens\[0\] = 2147483646 does not fit 1 blocks of 4 slots/);
  });

  test("a negative context length is refused", () => {
    const r = loadNative().stepChecks(
      step({
        tokens: Int32Array.of(),
        positions: Int32Array.of(),
        slotMapping: Int32Array.of(),
        seqStarts: Int32Array.of(0, 0),
        contextLens: Int32Array.of(-5),
      }),
      limits,
    );
    expect(r.backend).toMatch(/sequence 0 has more new tokens than cache entries/);
    expect(r.binding).toMatch(/tokens is empty/);
  });
});
