// Bounds on ‖got − ref‖₂ / ‖ref‖₂ for every op check, each with its reason. The reference ops accumulate in double
// from checkpoint-layout weights (ref/).
#pragma once
#include <string>

#include "backend/backend.h"

namespace ms4::checks {

constexpr double kExact = 0.0;              // same values by construction (copies, exact dequantization, exact adds)
constexpr double kLinearBound = 1e-5;       // weights decoded exactly; fp32 FMA accumulation over K ≤ 4096 vs double
constexpr double kNormBound = 1e-6;         // Σx² in double; fp32 scale and two fp32 products (≤ ~3 ulp per value)
constexpr double kRopeBound = 1e-7;         // the same double arithmetic as the reference
constexpr double kQueryScaleBound = 1e-7;   // the same double arithmetic as the reference
constexpr double kKvBf16Bound = 1.0 / 512;  // BF16 round-to-nearest-even: |relative error| ≤ 2^-9 per value
constexpr double kProjBound = 1e-5;         // fp32 dot products / axpys of length nope or L
constexpr double kAttnBound = 1e-5;         // fp32 scores over L + R terms, fp32 exp and online sums
constexpr double kAttnBf16Bound = 1e-2;     // cache rounded to BF16 (2^-9 per value) vs an F32 reference cache
constexpr double kMoeBound = 1e-5;          // router + three chained fp32 linears, fp32 SiLU and combine
// Vision attention: fp32 scores over the head size, fp32 exp (expShifted, < 2e-7 relative) and online sums over at
// most a few hundred keys per image in these cases.
constexpr double kVisionAttentionBound = 1e-5;
// SiLU / GELU in fp32 through the C library's expf / erff (≤ a few ulps each) vs double.
constexpr double kActivationBound = 1e-6;
// int8 activations (NVFP4 weights): the integer sums are exact and the scale folding costs ~1e-7, but each
// activation is rounded to a step of absmax(block)/127, i.e. an error of at most absmax/254 (0.39 % of the block's
// largest magnitude). On Gaussian data that is ~0.3 % rms per element and the same relative error on the dot
// products (~3e-3); bound 1e-2 (docs/cpu-backend.md expects 1e-3..5e-3).
constexpr double kLinearInt8Bound = 1e-2;
// MoE: the input rows and the hidden rows (SiLU·mul) are both quantized: two such errors in sequence.
constexpr double kMoeInt8Bound = 2e-2;
// int16 activations: the same analysis with a step of absmax/32767 (error <= 1.5e-5 of the block's largest
// magnitude; measured 2.4e-5 on linear, 4e-5 on MoE); bounds 1e-4 / 2e-4.
constexpr double kLinearInt16Bound = 1e-4;
constexpr double kMoeInt16Bound = 2e-4;

// The bound of a linear (or, with moe, MoE) check of weights in format f on this backend's NVFP4 activations.
inline double activationBound(const Backend& be, WeightFormat f, bool moe) {
    const std::string acts = be.nvfp4ActivationsName();
    if (f == WeightFormat::NVFP4 && acts == "int8") return moe ? kMoeInt8Bound : kLinearInt8Bound;
    if (f == WeightFormat::NVFP4 && acts == "int16") return moe ? kMoeInt16Bound : kLinearInt16Bound;
    return moe ? kMoeBound : kLinearBound;
}

// ",act=int16" / ",act=int8" for NVFP4 checks on a backend with quantized activations, else "".
inline std::string actTag(const Backend& be, WeightFormat f) {
    const std::string acts = be.nvfp4ActivationsName();
    if (f != WeightFormat::NVFP4 || acts == "f32" || acts.empty()) return "";
    return ",act=" + acts;
}

}  // namespace ms4::checks
