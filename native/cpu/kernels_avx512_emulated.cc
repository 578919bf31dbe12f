// The "avx512-emulated" kernel path, a test path: nvfp4_vnni_impl.h compiled against SIMDe's portable AVX-512
// (https://github.com/simd-everywhere/simde, Debian libsimde-dev), so the op checks and the model tests run the
// AVX-512 VNNI kernels' exact lane arithmetic on machines without AVX-512. Compiled in only when SIMDe's headers
// are found (and the build did not set MS4_NO_EMULATED_KERNELS: MS4_EMULATED_KERNELS=OFF); never chosen
// automatically (MS4_CPU_PATH=avx512-emulated or cpuPath selects it).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "cpu/cpu_backend.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(MS4_NO_EMULATED_KERNELS) && \
    __has_include(<simde/x86/avx512.h>)
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>
#include <simde/x86/f16c.h>

#define MS4_VNNI_TARGET

namespace ms4::cpu {

namespace {

// _mm512_cvtepi32_ps is missing from SIMDe 0.7: convert lane by lane (exact for these |·| < 2^24 sums, as the
// instruction: both round to nearest even).
inline __m512 cvtI32x16ToF32(__m512i v) {
    alignas(64) int32_t in[16];
    alignas(64) float out[16];
    _mm512_store_si512(in, v);
    for (int i = 0; i < 16; ++i) out[i] = static_cast<float>(in[i]);
    return _mm512_load_ps(out);
}

#include "cpu/nvfp4_vnni_impl.h"

}  // namespace

const CpuKernels* avx512EmulatedKernels() {
    if (avx2Kernels() == nullptr) return nullptr;
    static const CpuKernels table = vnni::makeTable("avx512-emulated", *avx2Kernels());
    return &table;
}

}  // namespace ms4::cpu

#else

namespace ms4::cpu {
const CpuKernels* avx512EmulatedKernels() { return nullptr; }
}  // namespace ms4::cpu

#endif
