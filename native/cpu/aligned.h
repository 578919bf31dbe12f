// 64-byte aligned, owned memory for the CPU backend (weights, KV cache, scratch).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>

namespace ms4::cpu {

constexpr size_t kAlign = 64;

struct AlignedDelete {
    void operator()(void* p) const { ::operator delete(p, std::align_val_t(kAlign)); }
};
using AlignedPtr = std::unique_ptr<uint8_t, AlignedDelete>;

// `bytes` (rounded up to a multiple of 64) of 64-byte aligned memory, or a std::runtime_error naming `what`.
inline AlignedPtr alignedAlloc(size_t bytes, const char* what) {
    const size_t rounded = (bytes + kAlign - 1) / kAlign * kAlign;
    if (rounded < bytes) throw std::runtime_error(std::string("CPU backend: size overflow allocating ") + what);
    void* p = ::operator new(rounded == 0 ? kAlign : rounded, std::align_val_t(kAlign), std::nothrow);
    if (p == nullptr) {
        throw std::runtime_error(std::string("CPU backend: out of memory allocating ") + what + " (" +
                                 std::to_string(bytes) + " bytes)");
    }
    return AlignedPtr(static_cast<uint8_t*>(p));
}

}  // namespace ms4::cpu
