// The tiled fp32-activation GEMM behind CpuKernels::linearGemm (T >= kGemmMinTokens), shared by the avx2 and avx512
// paths: the driver (kernels_avx2.cc) decodes each kGemmK-column chunk of kGemmDecRows rows once into an L1-resident
// fp32 buffer and hands it to a path's register-blocked micro-kernel, which multiplies it against blocks of tokens.
//
// Batch invariance: every y[t, r] keeps the GEMV's accumulation (linearRows) exactly. Per (token, row) the
// accumulator is 16 fp32 lanes in memory: lanes 0..7 are the GEMV's a0 (columns 0..7 of each 16-column step), lanes
// 8..15 its a1 (columns 8..15); each lane takes the same FMAs in the same step order (NVFP4 visits a chunk's steps in
// the GEMV's order 0, 64, 16, 80, 32, 96, 48, 112: xoff), carried across column chunks in memory (exact), then
// hsum(a0 + a1) as the GEMV. An AVX2 micro-kernel runs the a0 and a1 lanes as two 8-lane passes; an AVX-512 one
// runs all 16 lanes in one register: lane for lane the same fused multiply-adds, so the same bits.
#pragma once
#include "cpu/cpu_backend.h"

namespace ms4::cpu {

constexpr int kGemmRows = 48;     // rows whose accumulators a pass over the columns keeps (T × 48 × 16 floats)
constexpr int kGemmDecRows = 12;  // rows decoded per column chunk (12 × kGemmK fp32 = 12 KB, stays in L1)
constexpr int kGemmK = 256;       // columns per decoded chunk (a multiple of kNvfp4Chunk)
constexpr int kGemmSteps = kGemmK / 16;

// A path's micro-kernel: for decoded rows wb[i · kGemmK + 16 s ..] (i < nr <= kGemmDecRows, s < steps) and tokens
// t < tokens (x row t at x + t · xs; step s reads 16 values at xoff[s]), acc[(t · kGemmRows + i) · 16 + lane] +=
// w · x lane by lane in step order. `tokens` <= the path's token block.
using GemmMicroFn = void (*)(const float* wb, int nr, const float* x, int xs, const int* xoff, int steps, float* acc,
                             int tokens);

// linearGemm over rows [r0, r1) with `micro` taking up to `tokenBlock` tokens per call (see above).
void linearGemmTiled(const CpuLinear& w, const float* x, int xs, int T, float* y, int ys, int r0, int r1,
                     int tokenBlock, GemmMicroFn micro);

}  // namespace ms4::cpu
