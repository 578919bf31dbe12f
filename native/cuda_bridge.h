// What the CUDA backend (cuda/, built only when nvcc is present) exposes to the rest of the addon.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace ms4 {

struct CudaDeviceInfo {
    int index = 0;
    std::string name;
    size_t totalMemory = 0;
    size_t freeMemory = 0;
    int computeMajor = 0;
    int computeMinor = 0;
    int multiprocessors = 0;
};

struct CudaStatus {
    bool compiled = false;   // the addon was built with the CUDA backend
    int runtimeVersion = 0;  // e.g. 13000
    int driverVersion = 0;   // 0 when no driver is installed
    std::string error;       // why no device is usable, if none is
    std::vector<CudaDeviceInfo> devices;
};

// Implemented in cuda/device_info.cu when the CUDA backend is built; otherwise reports compiled = false.
CudaStatus queryCuda();

}  // namespace ms4
