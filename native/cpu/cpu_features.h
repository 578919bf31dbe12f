// What the CPU (and the OS, for AVX-512/AMX register state) lets the kernels use. Read once via CPUID.
#pragma once

namespace ms4 {

struct CpuFeatures {
    bool avx2 = false;
    bool fma = false;
    bool f16c = false;
    bool avx512f = false;
    bool avx512bw = false;
    bool avx512vl = false;
    bool avx512vnni = false;
    bool avx512bf16 = false;
    bool avxVnni = false;
    bool amxTile = false;  // AMX tiles present and the OS granted the tile state to this process
    bool amxBf16 = false;
    bool amxInt8 = false;
    int logicalCores = 1;
};

const CpuFeatures& cpuFeatures();

}  // namespace ms4
