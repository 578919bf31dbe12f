// Linear-layer weights: the checkpoint layout a backend prepares from, and the prepared (backend-owned) form.
#pragma once
#include <cstddef>
#include <cstdint>

namespace ms4 {

enum class WeightFormat : int {
    BF16 = 0,   // uint16 bf16 [rows, cols]
    FP8 = 1,    // FP8-E4M3 [rows, cols] × one per-tensor multiplier (`scale`) or one per row (`rowScales`)
    NVFP4 = 2,  // E2M1 nibbles [rows, cols/2] (low nibble first) + FP8-E4M3 block scales [rows, cols/16],
                // W = e2m1 · fp8(scale) / globalScale
};

// A linear weight W [rows (out), cols (in)] as stored in the checkpoint; y = x · Wᵀ.
struct LinearSource {
    WeightFormat format = WeightFormat::BF16;
    int rows = 0;
    int cols = 0;
    const uint8_t* data = nullptr;         // BF16: 2·rows·cols bytes; FP8: rows·cols; NVFP4: rows·cols/2
    const uint8_t* blockScales = nullptr;  // NVFP4 only: rows·cols/16 FP8 bytes
    float scale = 1.0f;                    // FP8: weight_scale (multiplier); NVFP4: weight_global_scale (divisor)
    const float* rowScales = nullptr;      // FP8 per-channel: `rows` multipliers (then `scale` is 1)
};

// A weight in a backend's own layout. Backends subclass it.
class LinearWeights {
   public:
    virtual ~LinearWeights() = default;
    WeightFormat format = WeightFormat::BF16;
    int rows = 0;
    int cols = 0;
    size_t bytes = 0;  // memory the prepared weight occupies
};

}  // namespace ms4
