// What the CUDA backend (cuda/, built only when nvcc is present) exposes to the rest of the addon. In a build without
// it, native/cuda_stubs.cc answers: no devices, and a clear error for everything that needs one.
#pragma once
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "checks/check_harness.h"

namespace ms4 {

struct CudaDeviceInfo {
    int index = 0;
    std::string name;
    size_t totalMemory = 0;
    size_t freeMemory = 0;
    int computeMajor = 0;
    int computeMinor = 0;
    int multiprocessors = 0;
    // Whether the CUDA backend can run on it: compute capability 8.0 or later (the kernels use mma.sync on 16-bit
    // types) and code in this build the device can run. When false, `unusableReason` says why.
    bool usable = false;
    std::string unusableReason;
};

struct CudaStatus {
    bool compiled = false;      // the addon was built with the CUDA backend
    int runtimeVersion = 0;     // e.g. 13000
    int driverVersion = 0;      // 0 when no driver is installed
    std::string error;          // why no device is usable, if none is
    std::string architectures;  // the GPU code this build carries, e.g. "sm_90a sm_100a compute_80"
    std::vector<CudaDeviceInfo> devices;
};

// Implemented in cuda/device_info.cu when the CUDA backend is built.
CudaStatus queryCuda();

// The CUDA backend on device `deviceIndex` (createBackend's "cuda" branch). Throws std::runtime_error saying why when
// this build has no CUDA backend or the device cannot be used.
std::unique_ptr<Backend> createCudaBackend(int deviceIndex);

// Every op of the CUDA backend on device `deviceIndex` against the reference ops, with the CPU's bounds (the
// backend-generic suites of checks/op_checks.h), plus the CUDA-only checks: the weights repacked on the device equal
// the host layout functions' bytes. Cases run when their params contain `filter` ("" = all).
std::vector<checks::OpCheckResult> runCudaOpChecks(const std::string& filter, int deviceIndex);

// Device-to-device copy bandwidth of device `deviceIndex` over a `bytes` buffer, in bytes read plus written per
// second: the best and the mean of `passes` timed copies.
struct CudaBandwidth {
    double bestGbps = 0;
    double meanGbps = 0;
};
CudaBandwidth cudaCopyBandwidth(int deviceIndex, size_t bytes, int passes);

// Runs `body` (calls on a CUDA backend) once to warm up, captures it into a CUDA graph on the backend's stream and
// returns the milliseconds of each of `reps` replays, timed with device events: the kernels' own time, without
// launch overhead. `body` must not wait on the device.
std::vector<double> cudaGraphMilliseconds(Backend& backend, const std::function<void()>& body, int reps);

}  // namespace ms4
