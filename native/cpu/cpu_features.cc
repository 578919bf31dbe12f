#include "cpu/cpu_features.h"

#include <thread>

#if defined(__x86_64__) || defined(_M_X64)
#define MS4_X86 1
#ifdef _MSC_VER
#include <intrin.h>
#else
#include <cpuid.h>
#endif
#endif
#if defined(__linux__) && defined(MS4_X86)
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace ms4 {

namespace {

#ifdef MS4_X86
void cpuid(unsigned leaf, unsigned sub, unsigned regs[4]) {
#ifdef _MSC_VER
    int r[4];
    __cpuidex(r, static_cast<int>(leaf), static_cast<int>(sub));
    for (int i = 0; i < 4; ++i) regs[i] = static_cast<unsigned>(r[i]);
#else
    __cpuid_count(leaf, sub, regs[0], regs[1], regs[2], regs[3]);
#endif
}

unsigned long long xgetbv0() {
#ifdef _MSC_VER
    return _xgetbv(0);
#else
    unsigned eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return (static_cast<unsigned long long>(edx) << 32) | eax;
#endif
}

// Linux gives AMX tile data to a process only after it asks (arch_prctl ARCH_REQ_XCOMP_PERM).
bool requestAmxPermission() {
#if defined(__linux__)
    constexpr int kArchReqXcompPerm = 0x1023;
    constexpr int kXfeatureXtiledata = 18;
    return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
#else
    return true;
#endif
}

CpuFeatures detect() {
    CpuFeatures f;
    f.logicalCores = static_cast<int>(std::thread::hardware_concurrency());
    if (f.logicalCores < 1) f.logicalCores = 1;
    unsigned r[4];
    cpuid(0, 0, r);
    const unsigned maxLeaf = r[0];
    cpuid(1, 0, r);
    const bool osxsave = (r[2] >> 27) & 1;
    f.fma = (r[2] >> 12) & 1;
    f.f16c = (r[2] >> 29) & 1;
    const bool avx = (r[2] >> 28) & 1;
    if (!osxsave || !avx) return f;
    const unsigned long long xcr0 = xgetbv0();
    const bool ymmState = (xcr0 & 0x6) == 0x6;
    const bool zmmState = (xcr0 & 0xE6) == 0xE6;
    const bool tileState = (xcr0 & 0x60000) == 0x60000;
    if (maxLeaf < 7 || !ymmState) {
        f.fma = f.f16c = false;
        return f;
    }
    cpuid(7, 0, r);
    const unsigned ebx = r[1], ecx = r[2], edx = r[3];
    f.avx2 = (ebx >> 5) & 1;
    if (zmmState) {
        f.avx512f = (ebx >> 16) & 1;
        f.avx512bw = (ebx >> 30) & 1;
        f.avx512vl = (ebx >> 31) & 1;
        f.avx512vnni = (ecx >> 11) & 1;
    }
    const bool amxBf16 = (edx >> 22) & 1, amxTile = (edx >> 24) & 1, amxInt8 = (edx >> 25) & 1;
    cpuid(7, 1, r);
    f.avxVnni = (r[0] >> 4) & 1;
    if (zmmState) f.avx512bf16 = (r[0] >> 5) & 1;
    if (amxTile && tileState && requestAmxPermission()) {
        f.amxTile = true;
        f.amxBf16 = amxBf16;
        f.amxInt8 = amxInt8;
    }
    return f;
}
#else
CpuFeatures detect() {
    CpuFeatures f;
    f.logicalCores = static_cast<int>(std::thread::hardware_concurrency());
    if (f.logicalCores < 1) f.logicalCores = 1;
    return f;
}
#endif

}  // namespace

const CpuFeatures& cpuFeatures() {
    static const CpuFeatures features = detect();
    return features;
}

}  // namespace ms4
