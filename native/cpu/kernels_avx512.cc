// The "avx512" kernel path: the AVX2 kernels plus NVFP4 × quantized-activation kernels on AVX-512 VNNI
// (nvfp4_vnni_impl.h). Functions carry target attributes, so the addon needs no -mavx512*; the path is chosen only
// when CPUID (and XCR0 for the ZMM state) reports AVX-512 F, BW and VNNI.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "cpu/cpu_backend.h"

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

}  // namespace

const CpuKernels* avx512Kernels() {
    if (avx2Kernels() == nullptr) return nullptr;
    static const CpuKernels table = vnni::makeTable("avx512", *avx2Kernels());
    return &table;
}

}  // namespace ms4::cpu

#else

namespace ms4::cpu {
const CpuKernels* avx512Kernels() { return nullptr; }
}  // namespace ms4::cpu

#endif
