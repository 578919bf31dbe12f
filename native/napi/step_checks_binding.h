// JS: stepChecks(step, limits) → { binding: string | null, backend: string | null }: runs the checks of a step on
// arrays from JS without a model — the binding's whole check (checkStepBatch) and the backend's own (checkStepInputs,
// checkSlots, checkStepAgainstCache; backend/input_checks.h) — and returns each one's error, or null when it accepts.
// For tests: the regression cases of the step fuzzer (native/fuzz/step_checks_fuzz.cc) run here on every build.
// step: { tokens, positions, slotMapping, seqStarts, contextLens, blockTables (Int32Array), maxBlocksPerSeq,
//         logitRows?, inputRows? (Int32Array), embeddingWidth? }; the counts come from the array lengths.
// limits: { numBlocks, blockSize, vocab, hidden, maxStepTokens }.
#pragma once
#include <napi.h>

namespace ms4 {
Napi::Value StepChecks(const Napi::CallbackInfo& info);
}  // namespace ms4
