// One context partition of absorbed-form MLA decode attention for one token (all heads together): the
// per-partition online-softmax state that mla_attention.cc combines, in a fixed order, into the token's output.
#pragma once
#include <cstdint>

namespace ms4::cpu {

struct MlaPartArgs {
    const float* qLat;  // the token's [H][L]
    const float* qPe;   // head h's R rope values at qPe + h · qPeStride
    int qPeStride;
    const uint8_t* layer;   // the layer's slot 0 (F32 or BF16 values)
    const int32_t* blocks;  // the sequence's block table
    int blockSize;
    bool bf16;
    int H, L, R;
    int Hpad, Lpad;  // H and L rounded up to multiples of 8
    float scale;
    int j0, j1;  // the partition: visible entries [j0, j1)
    // Outputs: running max m[Hpad], sum l[Hpad] and the unnormalised o[Hpad][Lpad] (rows h >= H and columns
    // l >= L are don't-care).
    float* m;
    float* l;
    float* o;
};

using MlaPartitionFn = void (*)(const MlaPartArgs& a);

// The AVX2+FMA+F16C head-folded partition kernel, or nullptr when not compiled in (non-x86).
MlaPartitionFn mlaPartitionAvx2();

}  // namespace ms4::cpu
