// Timing on the device for the kernel benchmarks: the device's own copy bandwidth (the ceiling the memory-bound
// kernels are measured against) and graph replays of backend calls timed with events.
#include <algorithm>
#include <stdexcept>

#include "cuda_backend.h"
#include "cuda_bridge.h"
#include "cuda_check.cuh"

namespace ms4 {

CudaBandwidth cudaCopyBandwidth(int deviceIndex, size_t bytes, int passes) {
    CudaBackend backend(deviceIndex);  // device checks, current device
    const size_t half = bytes / 2 / 256 * 256;
    cuda::DeviceBuffer a(half, "the bandwidth source"), b(half, "the bandwidth destination");
    cudaStream_t stream = backend.stream();
    CUDA_CHECK(cudaMemsetAsync(a.get(), 1, half, stream));
    cudaEvent_t start, stop;
    CUDA_CHECK(cudaEventCreate(&start));
    CUDA_CHECK(cudaEventCreate(&stop));
    CudaBandwidth result;
    double total = 0, best = 1e30;
    for (int pass = -1; pass < passes; ++pass) {  // pass -1 warms up
        CUDA_CHECK(cudaEventRecord(start, stream));
        CUDA_CHECK(cudaMemcpyAsync(b.get(), a.get(), half, cudaMemcpyDeviceToDevice, stream));
        CUDA_CHECK(cudaEventRecord(stop, stream));
        CUDA_CHECK(cudaEventSynchronize(stop));
        float ms = 0;
        CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
        if (pass < 0) continue;
        total += ms;
        best = std::min(best, static_cast<double>(ms));
    }
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    const double moved = 2.0 * static_cast<double>(half);  // read + written
    result.bestGbps = moved / (best * 1e-3) / 1e9;
    result.meanGbps = moved / (total / std::max(1, passes) * 1e-3) / 1e9;
    return result;
}

std::vector<double> cudaGraphMilliseconds(Backend& be, const std::function<void()>& body, int reps) {
    CudaBackend* cuda = dynamic_cast<CudaBackend*>(&be);
    if (cuda == nullptr) throw std::runtime_error("CUDA graph timing needs a CUDA backend");
    cuda->makeCurrent();
    body();  // warm-up: workspaces and tables reach their size, nothing allocates during the capture
    cuda->synchronize();
    cudaStream_t stream = cuda->stream();
    cudaGraph_t graph = nullptr;
    cudaGraphExec_t exec = nullptr;
    CUDA_CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
    try {
        body();
    } catch (...) {
        cudaStreamEndCapture(stream, &graph);
        if (graph != nullptr) cudaGraphDestroy(graph);
        cudaGetLastError();
        throw;
    }
    CUDA_CHECK(cudaStreamEndCapture(stream, &graph));
    CUDA_CHECK(cudaGraphInstantiate(&exec, graph, 0));
    cudaEvent_t start, stop;
    CUDA_CHECK(cudaEventCreate(&start));
    CUDA_CHECK(cudaEventCreate(&stop));
    std::vector<double> ms;
    CUDA_CHECK(cudaGraphLaunch(exec, stream));  // the first replay uploads the graph
    for (int i = 0; i < reps; ++i) {
        CUDA_CHECK(cudaEventRecord(start, stream));
        CUDA_CHECK(cudaGraphLaunch(exec, stream));
        CUDA_CHECK(cudaEventRecord(stop, stream));
        CUDA_CHECK(cudaEventSynchronize(stop));
        float t = 0;
        CUDA_CHECK(cudaEventElapsedTime(&t, start, stop));
        ms.push_back(t);
    }
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    cudaGraphExecDestroy(exec);
    cudaGraphDestroy(graph);
    return ms;
}

}  // namespace ms4
