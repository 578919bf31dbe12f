// Enumerates CUDA devices for device selection ("auto" | "cuda:N") and `ms4 inspect`/system info.
#include <cuda_runtime.h>

#include "cuda_bridge.h"

namespace ms4 {

CudaStatus queryCuda() {
    CudaStatus status;
    status.compiled = true;
    cudaRuntimeGetVersion(&status.runtimeVersion);
    cudaDriverGetVersion(&status.driverVersion);
    int count = 0;
    cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess) {
        status.error = std::string(cudaGetErrorName(err)) + ": " + cudaGetErrorString(err);
        cudaGetLastError();  // clear the sticky-free error so later calls start clean
        return status;
    }
    for (int i = 0; i < count; ++i) {
        cudaDeviceProp prop;
        if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) continue;
        CudaDeviceInfo info;
        info.index = i;
        info.name = prop.name;
        info.totalMemory = prop.totalGlobalMem;
        info.computeMajor = prop.major;
        info.computeMinor = prop.minor;
        info.multiprocessors = prop.multiProcessorCount;
        size_t freeBytes = 0, totalBytes = 0;
        if (cudaSetDevice(i) == cudaSuccess && cudaMemGetInfo(&freeBytes, &totalBytes) == cudaSuccess) {
            info.freeMemory = freeBytes;
        }
        status.devices.push_back(info);
    }
    if (count == 0) status.error = "no CUDA device found";
    return status;
}

}  // namespace ms4
