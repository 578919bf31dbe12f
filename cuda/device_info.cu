// Enumerates CUDA devices for device selection ("cuda" | "cuda:N"), systemInfo() and `ms4 info`, and says for each
// whether the CUDA backend can run on it.
#include <cuda_runtime.h>

#include <string>

#include "cuda_bridge.h"

#ifndef MS4_CUDA_ARCHS
#define MS4_CUDA_ARCHS "unknown"
#endif

namespace ms4 {

namespace {

__global__ void probeKernel() {}

std::string errorText(cudaError_t err) { return std::string(cudaGetErrorName(err)) + ": " + cudaGetErrorString(err); }

}  // namespace

CudaStatus queryCuda() {
    CudaStatus status;
    status.compiled = true;
    status.architectures = MS4_CUDA_ARCHS;
    cudaRuntimeGetVersion(&status.runtimeVersion);
    cudaDriverGetVersion(&status.driverVersion);
    int count = 0;
    cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess) {
        status.error = errorText(err);
        cudaGetLastError();  // clear the error so later calls start clean
        return status;
    }
    for (int i = 0; i < count; ++i) {
        cudaDeviceProp prop;
        if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) {
            cudaGetLastError();
            continue;
        }
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
        cudaFuncAttributes attributes;
        if (prop.major < 8) {
            info.unusableReason = "compute capability " + std::to_string(prop.major) + "." +
                                  std::to_string(prop.minor) + " is below the 8.0 the CUDA backend's kernels need";
        } else if ((err = cudaFuncGetAttributes(&attributes, probeKernel)) != cudaSuccess) {
            info.unusableReason = "this build carries no GPU code the device runs (built for " +
                                  std::string(MS4_CUDA_ARCHS) + "): " + errorText(err);
        } else {
            info.usable = true;
        }
        cudaGetLastError();
        status.devices.push_back(info);
    }
    if (count == 0) status.error = "no CUDA device found";
    return status;
}

}  // namespace ms4
