// CudaBackend: device selection, memory, staging buffers and the casts from the Backend interface's types.
#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

#include "cuda_backend.h"
#include "cuda_bridge.h"
#include "cuda_check.cuh"

namespace ms4 {

namespace cuda {

namespace {

constexpr size_t kStagingBytes = size_t{8} << 20;   // pinned upload staging
constexpr size_t kReadbackBytes = size_t{8} << 20;  // pinned download staging

std::string mib(size_t bytes) { return std::to_string((bytes + (1 << 20) - 1) >> 20) + " MiB"; }

}  // namespace

DeviceBuffer::DeviceBuffer(size_t bytes, const std::string& what) : bytes_(bytes) {
    if (bytes == 0) return;
    const cudaError_t err = cudaMalloc(&p_, bytes);
    if (err != cudaSuccess) {
        cudaGetLastError();  // an allocation failure is not sticky; clear it
        size_t freeBytes = 0, totalBytes = 0;
        cudaMemGetInfo(&freeBytes, &totalBytes);
        p_ = nullptr;
        bytes_ = 0;
        throw std::runtime_error("CUDA out of memory: " + what + " needs " + mib(bytes) + ", " + mib(freeBytes) +
                                 " of " + mib(totalBytes) + " are free (" + cudaGetErrorString(err) + ")");
    }
}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) {
        if (p_ != nullptr) cudaFree(p_);
        p_ = o.p_;
        bytes_ = o.bytes_;
        o.p_ = nullptr;
        o.bytes_ = 0;
    }
    return *this;
}

DeviceBuffer::~DeviceBuffer() {
    if (p_ != nullptr) cudaFree(p_);
}

PinnedBuffer::PinnedBuffer(size_t bytes) : bytes_(bytes) {
    if (bytes == 0) return;
    if (cudaHostAlloc(&p_, bytes, cudaHostAllocDefault) != cudaSuccess) {
        cudaGetLastError();
        p_ = nullptr;
        bytes_ = 0;
        throw std::runtime_error("could not allocate " + mib(bytes) + " of pinned host memory for CUDA transfers");
    }
}

PinnedBuffer& PinnedBuffer::operator=(PinnedBuffer&& o) noexcept {
    if (this != &o) {
        if (p_ != nullptr) cudaFreeHost(p_);
        p_ = o.p_;
        bytes_ = o.bytes_;
        o.p_ = nullptr;
        o.bytes_ = 0;
    }
    return *this;
}

PinnedBuffer::~PinnedBuffer() {
    if (p_ != nullptr) cudaFreeHost(p_);
}

uint8_t* Workspace::reserve(size_t bytes) {
    if (bytes > buffer_.bytes()) {
        buffer_ = DeviceBuffer();  // cudaFree waits for the work that still uses the old area
        buffer_ = DeviceBuffer((bytes + (size_t{1} << 20) - 1) >> 20 << 20, "the CUDA op workspace");
    }
    return buffer_.as<uint8_t>();
}

}  // namespace cuda

CudaBackend::CudaBackend(int deviceIndex) : device_(deviceIndex) {
    int count = 0;
    CUDA_CHECK(cudaGetDeviceCount(&count));
    if (deviceIndex < 0 || deviceIndex >= count) {
        throw std::runtime_error("CUDA device " + std::to_string(deviceIndex) + " does not exist (" +
                                 std::to_string(count) + " device(s))");
    }
    CUDA_CHECK(cudaSetDevice(device_));
    CUDA_CHECK(cudaGetDeviceProperties(&props_, device_));
    if (props_.major < 8) {
        throw std::runtime_error("CUDA device " + std::to_string(deviceIndex) + " (" + props_.name +
                                 ") has compute capability " + std::to_string(props_.major) + "." +
                                 std::to_string(props_.minor) + "; the CUDA backend needs 8.0 or later");
    }
    CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    CUDA_CHECK(cudaEventCreateWithFlags(&stagingFree_, cudaEventDisableTiming));
    staging_ = cuda::PinnedBuffer(cuda::kStagingBytes);
    readback_ = cuda::PinnedBuffer(cuda::kReadbackBytes);
}

CudaBackend::~CudaBackend() {
    cudaSetDevice(device_);
    if (stream_ != nullptr) cudaStreamSynchronize(stream_);
    moeTables_.clear();
    stepPool_.clear();
    workspace_ = cuda::Workspace();
    if (stagingFree_ != nullptr) cudaEventDestroy(stagingFree_);
    for (cudaEvent_t e : loadDone_) {
        if (e != nullptr) cudaEventDestroy(e);
    }
    if (stream_ != nullptr) cudaStreamDestroy(stream_);
}

std::string CudaBackend::kernelPath() const {
    return "cuda-sm_" + std::to_string(props_.major) + std::to_string(props_.minor);
}

void CudaBackend::makeCurrent() const { CUDA_CHECK(cudaSetDevice(device_)); }

float* CudaBackend::allocFloats(size_t count) {
    makeCurrent();
    if (count > SIZE_MAX / sizeof(float)) throw std::runtime_error("CUDA backend: allocFloats size overflow");
    cuda::DeviceBuffer b(count * sizeof(float), "device activations (" + std::to_string(count) + " floats)");
    CUDA_CHECK(cudaMemsetAsync(b.get(), 0, count * sizeof(float), stream_));
    CUDA_CHECK(cudaStreamSynchronize(stream_));
    return static_cast<float*>(b.release());  // freed by freeFloats
}

void CudaBackend::freeFloats(float* p) {
    if (p == nullptr) return;
    makeCurrent();
    cudaFree(p);  // waits for the work that may still read it
}

void CudaBackend::uploadBytes(void* dst, const void* src, size_t bytes) {
    makeCurrent();
    const uint8_t* s = static_cast<const uint8_t*>(src);
    for (size_t done = 0; done < bytes;) {
        const size_t n = std::min(bytes - done, staging_.bytes());
        CUDA_CHECK(cudaEventSynchronize(stagingFree_));  // the previous copy out of staging_ has run
        std::memcpy(staging_.get(), s + done, n);
        CUDA_CHECK(
            cudaMemcpyAsync(static_cast<uint8_t*>(dst) + done, staging_.get(), n, cudaMemcpyHostToDevice, stream_));
        CUDA_CHECK(cudaEventRecord(stagingFree_, stream_));
        done += n;
    }
}

void CudaBackend::upload(float* dst, const float* src, size_t count) { uploadBytes(dst, src, count * sizeof(float)); }

void CudaBackend::download(float* dst, const float* src, size_t count) {
    makeCurrent();
    const size_t bytes = count * sizeof(float);
    for (size_t done = 0; done < bytes;) {
        const size_t n = std::min(bytes - done, readback_.bytes());
        CUDA_CHECK(cudaMemcpyAsync(readback_.get(), reinterpret_cast<const uint8_t*>(src) + done, n,
                                   cudaMemcpyDeviceToHost, stream_));
        CUDA_CHECK(cudaStreamSynchronize(stream_));
        std::memcpy(reinterpret_cast<uint8_t*>(dst) + done, readback_.get(), n);
        done += n;
    }
}

void CudaBackend::synchronize() {
    makeCurrent();
    CUDA_CHECK(cudaStreamSynchronize(stream_));
}

cuda::DeviceBuffer CudaBackend::takeStepBuffer(size_t bytes) {
    for (size_t i = 0; i < stepPool_.size(); ++i) {
        if (stepPool_[i].bytes() >= bytes) {
            cuda::DeviceBuffer b = std::move(stepPool_[i]);
            stepPool_.erase(stepPool_.begin() + static_cast<std::ptrdiff_t>(i));
            return b;
        }
    }
    return cuda::DeviceBuffer(std::max(bytes, size_t{1} << 16), "the step's arrays");
}

void CudaBackend::recycleStepBuffer(cuda::DeviceBuffer buffer) {
    if (buffer.get() == nullptr) return;
    constexpr size_t kPoolSize = 8;  // steps alive at once in practice: one, a few in the checks
    if (stepPool_.size() < kPoolSize) stepPool_.push_back(std::move(buffer));
}

std::vector<uint8_t> CudaBackend::preparedBytes(const LinearWeights& lw) {
    const cuda::CudaLinear& w = asCudaLinear(lw);
    makeCurrent();
    std::vector<uint8_t> out(w.codes.bytes() + w.scales.bytes());
    CUDA_CHECK(cudaStreamSynchronize(stream_));
    if (w.codes.bytes() > 0) CUDA_CHECK(cudaMemcpy(out.data(), w.codes.get(), w.codes.bytes(), cudaMemcpyDeviceToHost));
    if (w.scales.bytes() > 0) {
        CUDA_CHECK(cudaMemcpy(out.data() + w.codes.bytes(), w.scales.get(), w.scales.bytes(), cudaMemcpyDeviceToHost));
    }
    return out;
}

const cuda::CudaLinear& asCudaLinear(const LinearWeights& w) {
    const auto* c = dynamic_cast<const cuda::CudaLinear*>(&w);
    if (c == nullptr) throw std::runtime_error("CUDA backend: a linear weight was not prepared by the CUDA backend");
    return *c;
}

const cuda::CudaMlaUp& asCudaMlaUp(const MlaUpWeights& w) {
    const auto* c = dynamic_cast<const cuda::CudaMlaUp*>(&w);
    if (c == nullptr) throw std::runtime_error("CUDA backend: wkv_b was not prepared by the CUDA backend");
    return *c;
}

const cuda::CudaKvCache& asCudaKvCache(const KvCache& c) {
    const auto* k = dynamic_cast<const cuda::CudaKvCache*>(&c);
    if (k == nullptr) throw std::runtime_error("CUDA backend: the KV cache was not allocated by the CUDA backend");
    return *k;
}

cuda::CudaKvCache& asCudaKvCache(KvCache& c) {
    auto* k = dynamic_cast<cuda::CudaKvCache*>(&c);
    if (k == nullptr) throw std::runtime_error("CUDA backend: the KV cache was not allocated by the CUDA backend");
    return *k;
}

const cuda::CudaStepContext& asCudaStep(const StepContext& s) {
    const auto* c = dynamic_cast<const cuda::CudaStepContext*>(&s);
    if (c == nullptr) throw std::runtime_error("CUDA backend: the step context was not made by the CUDA backend");
    return *c;
}

std::unique_ptr<Backend> createCudaBackend(int deviceIndex) { return std::make_unique<CudaBackend>(deviceIndex); }

}  // namespace ms4
