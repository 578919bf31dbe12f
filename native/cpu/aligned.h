// 64-byte aligned, owned memory for the CPU backend (weights, KV cache, scratch).
// Long-lived large blocks (Pages::Huge, >= kHugeThreshold: weights, the KV pool) are 2 MiB aligned and, on Linux,
// advised MADV_HUGEPAGE, so transparent huge pages back them where the kernel allows it ("madvise" mode included):
// a GEMV then crosses a 4 KiB page boundary (a TLB miss and a stop of the hardware prefetcher) 512 times less
// often. Per-step scratch stays on ordinary pages (no 2 MiB zeroing per step). The backend asks for Pages::Huge only
// when its hugePages option is on (CpuBackend::longLivedPages; MS4_HUGE_PAGES=0 turns it off, read in TypeScript).
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>

#if defined(__linux__)
#include <sys/mman.h>
#endif
#if defined(_WIN32)
#include <malloc.h>
#endif

namespace ms4::cpu {

constexpr size_t kAlign = 64;
constexpr size_t kHugeAlign = size_t{2} << 20;
constexpr size_t kHugeThreshold = size_t{4} << 20;

struct AlignedDelete {
    void operator()(void* p) const {
#if defined(_WIN32)
        _aligned_free(p);
#else
        std::free(p);
#endif
    }
};
using AlignedPtr = std::unique_ptr<uint8_t, AlignedDelete>;

enum class Pages { Normal, Huge };

// `bytes` (rounded up to a multiple of 64) of 64-byte aligned memory, or a std::runtime_error naming `what`.
inline AlignedPtr alignedAlloc(size_t bytes, const char* what, Pages pages = Pages::Normal) {
    const size_t rounded = (bytes + kAlign - 1) / kAlign * kAlign;
    if (rounded < bytes) throw std::runtime_error(std::string("CPU backend: size overflow allocating ") + what);
    const size_t size = rounded == 0 ? kAlign : rounded;
    const bool huge = pages == Pages::Huge && size >= kHugeThreshold;
    const size_t align = huge ? kHugeAlign : kAlign;
    void* p = nullptr;
#if defined(_WIN32)
    p = _aligned_malloc(size, align);
#else
    if (posix_memalign(&p, align, size) != 0) p = nullptr;
#endif
    if (p == nullptr) {
        throw std::runtime_error(std::string("CPU backend: out of memory allocating ") + what + " (" +
                                 std::to_string(bytes) + " bytes)");
    }
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (huge) madvise(p, size / kHugeAlign * kHugeAlign, MADV_HUGEPAGE);  // advice only: failure is harmless
#endif
    return AlignedPtr(static_cast<uint8_t*>(p));
}

}  // namespace ms4::cpu
