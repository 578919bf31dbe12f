// Whole-model checks of one backend against another on synthetic checkpoints (checks/synthetic_model.h), with no
// TypeScript involved: the same prompt's logits, greedy continuations token for token, and the candidate's batch
// invariance (a sequence decoded alone and with 15 others gives the same bits). The GPU check program compares the
// CUDA backend with the CPU's exact path this way; on the CPU they compare two kernel paths.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "checks/check_harness.h"
#include "checks/kernel_bench.h"

namespace ms4::checks {

using BackendFactory = std::function<std::unique_ptr<Backend>()>;

// For each weight format (every projection in it) and KV dtype of a tiny synthetic model with 2 layers:
//   modelPrefill:          candidate logits of a 40-token prompt vs the reference's (max |Δ| / max |ref|);
//   modelGreedy:           `continuation` greedy tokens after it, identical (a divergence where the reference's top
//                          two logits are within 1e-4 of its largest is a tie and ends the comparison there);
//   modelBatchInvariance:  16 sequences decoding together vs each alone on the candidate, bit for bit.
std::vector<OpCheckResult> runModelChecks(const BackendFactory& reference, const BackendFactory& candidate,
                                          const std::string& filter, int continuation = 64);

// Decode and prefill timing of a synthetic model on a backend (params: real (1), layers (2), batches ("1", e.g.
// "1,8,64"), ctx (1024), steps (16), prompt (512)): per batch size, ms per decode step of that many sequences at
// context `ctx` and tokens/s, ms per layer (against a 1-layer model over the same file) and the 36-layer estimate
// (keys suffixed _b<batch>); prefill tokens/s of one `prompt`-token sequence. Steps are timed end to end on the
// host (one forward, logits downloaded), launch overhead included.
BenchResult runModelBench(const BackendFactory& make, const BenchParams& params);

}  // namespace ms4::checks
