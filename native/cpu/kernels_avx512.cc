// The "avx512" kernel path: the AVX2 kernels plus NVFP4 × quantized-activation kernels on AVX-512 VNNI
// (nvfp4_vnni_impl.h) and the fp32 GEMM's micro-kernel on 16-lane registers (gemm_tiles.h). Functions carry target
// attributes, so the addon needs no -mavx512*; the path is chosen only when CPUID (and XCR0 for the ZMM state) reports
// AVX-512 F, BW and VNNI.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "cpu/cpu_backend.h"
#include "cpu/gemm_tiles.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
// GCC 12's avx512fintrin.h builds some vectors from _mm512_undefined_*(), which -Wuninitialized reports at every
// inlined use (a known false positive of the header, not of this code).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#define MS4_VNNI_TARGET __attribute__((target("avx512f,avx512bw,avx512vnni,avx2,fma,f16c")))

namespace ms4::cpu {

namespace {

MS4_VNNI_TARGET inline __m512 cvtI32x16ToF32(__m512i v) { return _mm512_cvtepi32_ps(v); }

#include "cpu/nvfp4_vnni_impl.h"

#define MS4_AVX512_TARGET __attribute__((target("avx512f,avx2,fma")))

// The GEMM micro-kernel (gemm_tiles.h): RB rows × TB tokens of 16-lane accumulators, one register each holding the
// GEMV's a0 (lanes 0..7) and a1 (lanes 8..15), so one FMA does what the AVX2 kernel's two passes do. 3 × 8: 24
// accumulators, 3 weight registers and one x register of the 32; 11 loads per 24 FMAs.
template <int RB, int TB>
MS4_AVX512_TARGET void gemmMicro512(const float* wb, const float* x, int xs, const int* xoff, int steps, float* acc) {
    __m512 a[RB][TB];
#pragma GCC unroll 8
    for (int i = 0; i < RB; ++i) {
#pragma GCC unroll 8
        for (int t = 0; t < TB; ++t) a[i][t] = _mm512_loadu_ps(acc + (static_cast<size_t>(t) * kGemmRows + i) * 16);
    }
    for (int s = 0; s < steps; ++s) {
        const float* xp = x + xoff[s];
        __m512 wv[RB];
#pragma GCC unroll 8
        for (int i = 0; i < RB; ++i) wv[i] = _mm512_load_ps(wb + static_cast<size_t>(i) * kGemmK + 16 * s);
#pragma GCC unroll 8
        for (int t = 0; t < TB; ++t) {
            __m512 xv = _mm512_loadu_ps(xp + static_cast<size_t>(t) * xs);
            // Keep x in a register: otherwise GCC folds the load into each of the RB FMAs (RB loads instead of one,
            // which measured as the kernel's bottleneck).
            asm("" : "+v"(xv));
#pragma GCC unroll 8
            for (int i = 0; i < RB; ++i) a[i][t] = _mm512_fmadd_ps(wv[i], xv, a[i][t]);
        }
    }
#pragma GCC unroll 8
    for (int i = 0; i < RB; ++i) {
#pragma GCC unroll 8
        for (int t = 0; t < TB; ++t) _mm512_storeu_ps(acc + (static_cast<size_t>(t) * kGemmRows + i) * 16, a[i][t]);
    }
}

constexpr int kGemmTokens512 = 8;  // tokens per micro-kernel call

template <int TB>
MS4_AVX512_TARGET void gemmTokens512(const float* wb, int nr, const float* x, int xs, const int* xoff, int steps,
                                     float* acc) {
    int i = 0;
    for (; i + 3 <= nr; i += 3) {
        gemmMicro512<3, TB>(wb + static_cast<size_t>(i) * kGemmK, x, xs, xoff, steps,
                            acc + static_cast<size_t>(i) * 16);
    }
    if (nr - i == 2) {
        gemmMicro512<2, TB>(wb + static_cast<size_t>(i) * kGemmK, x, xs, xoff, steps,
                            acc + static_cast<size_t>(i) * 16);
    } else if (nr - i == 1) {
        gemmMicro512<1, TB>(wb + static_cast<size_t>(i) * kGemmK, x, xs, xoff, steps,
                            acc + static_cast<size_t>(i) * 16);
    }
}

MS4_AVX512_TARGET void gemmMicroAvx512(const float* wb, int nr, const float* x, int xs, const int* xoff, int steps,
                                       float* acc, int tokens) {
    switch (tokens) {
        case 1:
            return gemmTokens512<1>(wb, nr, x, xs, xoff, steps, acc);
        case 2:
            return gemmTokens512<2>(wb, nr, x, xs, xoff, steps, acc);
        case 3:
            return gemmTokens512<3>(wb, nr, x, xs, xoff, steps, acc);
        case 4:
            return gemmTokens512<4>(wb, nr, x, xs, xoff, steps, acc);
        case 5:
            return gemmTokens512<5>(wb, nr, x, xs, xoff, steps, acc);
        case 6:
            return gemmTokens512<6>(wb, nr, x, xs, xoff, steps, acc);
        case 7:
            return gemmTokens512<7>(wb, nr, x, xs, xoff, steps, acc);
        default:
            return gemmTokens512<8>(wb, nr, x, xs, xoff, steps, acc);
    }
}
static_assert(kGemmDecRows % 3 == 0, "the AVX-512 micro-kernel takes decoded rows 3 at a time");

void linearGemmAvx512(const CpuLinear& w, const float* x, int xs, int T, float* y, int ys, int r0, int r1) {
    linearGemmTiled(w, x, xs, T, y, ys, r0, r1, kGemmTokens512, gemmMicroAvx512);
}

}  // namespace

const CpuKernels* avx512Kernels() {
    if (avx2Kernels() == nullptr) return nullptr;
    static const CpuKernels table = [] {
        CpuKernels k = vnni::makeTable("avx512", *avx2Kernels());
        k.linearGemm = linearGemmAvx512;
        return k;
    }();
    return &table;
}

}  // namespace ms4::cpu

#else

namespace ms4::cpu {
const CpuKernels* avx512Kernels() { return nullptr; }
}  // namespace ms4::cpu

#endif
