// The CUDA backend: Backend (backend/backend.h) on one NVIDIA GPU, with its own kernels (no cuBLAS). Weights live in
// device memory in the fragment-order layouts of layout/linear_layout.h (NVFP4 stays 4-bit), activations are float32
// device buffers, and every op is issued on one stream, so ops run in call order without host waits; download() and
// synchronize() wait. docs/cuda-backend.md describes the kernels, their numerics and how they are tested.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "layout/attention_plan.h"
#include "layout/linear_layout.h"

namespace ms4 {

class CudaBackend;

namespace cuda {

// Device memory, freed with the object.
class DeviceBuffer {
   public:
    DeviceBuffer() = default;
    DeviceBuffer(size_t bytes, const std::string& what);
    DeviceBuffer(DeviceBuffer&& o) noexcept : p_(o.p_), bytes_(o.bytes_) {
        o.p_ = nullptr;
        o.bytes_ = 0;
    }
    DeviceBuffer& operator=(DeviceBuffer&& o) noexcept;
    DeviceBuffer(const DeviceBuffer&) = delete;
    DeviceBuffer& operator=(const DeviceBuffer&) = delete;
    ~DeviceBuffer();

    void* get() const { return p_; }
    template <class T>
    T* as() const {
        return static_cast<T*>(p_);
    }
    size_t bytes() const { return bytes_; }
    // Gives up ownership: the caller frees the returned pointer with cudaFree.
    void* release() {
        void* p = p_;
        p_ = nullptr;
        bytes_ = 0;
        return p;
    }

   private:
    void* p_ = nullptr;
    size_t bytes_ = 0;
};

// Page-locked host memory (staging for uploads and downloads), freed with the object.
class PinnedBuffer {
   public:
    PinnedBuffer() = default;
    explicit PinnedBuffer(size_t bytes);
    PinnedBuffer(PinnedBuffer&& o) noexcept : p_(o.p_), bytes_(o.bytes_) {
        o.p_ = nullptr;
        o.bytes_ = 0;
    }
    PinnedBuffer& operator=(PinnedBuffer&& o) noexcept;
    PinnedBuffer(const PinnedBuffer&) = delete;
    PinnedBuffer& operator=(const PinnedBuffer&) = delete;
    ~PinnedBuffer();

    uint8_t* get() const { return static_cast<uint8_t*>(p_); }
    size_t bytes() const { return bytes_; }

   private:
    void* p_ = nullptr;
    size_t bytes_ = 0;
};

// A linear weight in the fragment-order layout (layout/linear_layout.h).
class CudaLinear : public LinearWeights {
   public:
    uint64_t id = 0;  // unique per prepared weight for the backend's lifetime (validates cached MoE tables)
    LinearGeometry geo;
    DeviceBuffer codes;        // lane records
    DeviceBuffer scales;       // NVFP4 block scales
    float sourceScale = 1.0f;  // FP8 multiplier / NVFP4 global divisor, as in the checkpoint
    float weightScale = 1.0f;  // the epilogue factor (weightScaleOf)
};

// wkv_b dequantized exactly to float32 [H·(nope+v), L].
class CudaMlaUp : public MlaUpWeights {
   public:
    DeviceBuffer values;
    const float* data() const { return values.as<const float>(); }
};

// The paged latent cache: per layer [numBlocks·blockSize][L + R] values, F32 or BF16.
class CudaKvCache : public KvCache {
   public:
    CudaKvCache(const KvCacheShape& s, DeviceBuffer d) : KvCache(s), data(std::move(d)) {}
    DeviceBuffer data;
    size_t layerValues() const { return static_cast<size_t>(shape.numBlocks) * shape.blockSize * shape.width(); }
    const uint8_t* layerBase(int layer) const {
        return data.as<const uint8_t>() + static_cast<size_t>(layer) * layerValues() * shape.bytesPerValue();
    }
    uint8_t* layerBase(int layer) {
        return data.as<uint8_t>() + static_cast<size_t>(layer) * layerValues() * shape.bytesPerValue();
    }
};

// The device copies of a step's arrays, plus what the attention kernels need per token: its sequence, the entries it
// sees, and its split-KV partitions (tasks [firstTask[t], firstTask[t+1]), layout/attention_plan.h).
struct DeviceStep {
    const int32_t* tokens = nullptr;
    const int32_t* positions = nullptr;
    const int32_t* slotMapping = nullptr;
    const int32_t* seqStarts = nullptr;
    const int32_t* contextLens = nullptr;
    const int32_t* blockTables = nullptr;
    const int32_t* logitRows = nullptr;
    const int32_t* inputRows = nullptr;
    const float* inputEmbeddings = nullptr;
    const int32_t* seqOf = nullptr;
    const int32_t* visible = nullptr;
    const int32_t* firstTask = nullptr;  // [T + 1]
    const int32_t* taskToken = nullptr;  // [tasks]
};

class CudaStepContext : public StepContext {
   public:
    CudaStepContext(const StepInputs& in, CudaBackend& owner);
    ~CudaStepContext() override;
    const StepInputs in;  // the caller's host arrays (valid for the step)
    std::vector<int> seqOf, visible;
    int tasks = 0;  // split-KV partitions of all tokens
    DeviceStep dev;
    DeviceBuffer buffer;  // holds dev's arrays; returned to the backend's pool on destruction

   private:
    CudaBackend& owner_;
};

// A growable device scratch area for the ops (split activations, MoE rows, attention partials): sized by the largest
// call so far, carved per call. Growing frees the old area (which waits for the device) before allocating.
class Workspace {
   public:
    // A region of at least `bytes` bytes, 256-byte aligned; valid until the next call.
    uint8_t* reserve(size_t bytes);
    size_t bytes() const { return buffer_.bytes(); }

   private:
    DeviceBuffer buffer_;
};

// Carves 256-byte aligned slices out of a workspace region: first sum the sizes (Carve::size), then take them.
class Carve {
   public:
    explicit Carve(uint8_t* base = nullptr) : base_(base) {}
    template <class T>
    T* take(size_t count) {
        T* p = reinterpret_cast<T*>(base_ == nullptr ? nullptr : base_ + used_);
        used_ += (count * sizeof(T) + 255) / 256 * 256;
        return p;
    }
    size_t used() const { return used_; }

   private:
    uint8_t* base_;
    size_t used_ = 0;
};

// One expert matrix as the grouped MoE kernels read it (a device array of these per MoE layer: gate, up, down of each
// routed expert, then of the shared expert).
struct ExpertMatrix {
    const uint8_t* codes = nullptr;
    const uint8_t* scales = nullptr;
    int rows = 0, rowTiles = 0, chunks = 0;
    int format = 0;  // WeightFormat
    float weightScale = 1.0f;
};

// The device table of one MoE layer, built on first use and rebuilt when the layer's weights change (compared by
// weight id, which the backend never reuses).
struct MoeTable {
    std::vector<uint64_t> ids;
    DeviceBuffer matrices;  // ExpertMatrix [groups][3]
};

}  // namespace cuda

class CudaBackend : public Backend {
   public:
    explicit CudaBackend(int deviceIndex);
    ~CudaBackend() override;

    const char* name() const override { return "cuda"; }
    std::string kernelPath() const override;
    // NVFP4 and FP8 weights multiply float32 activations carried as two half terms (BF16 weights: three bf16 terms),
    // which keeps them to float32 rounding: the CPU's exact ("f32") bounds apply. docs/cuda-backend.md#numerics.
    std::string nvfp4ActivationsName() const override { return "f32"; }

    float* allocFloats(size_t count) override;
    void freeFloats(float* p) override;
    void upload(float* dst, const float* src, size_t count) override;
    void download(float* dst, const float* src, size_t count) override;
    void synchronize() override;

    std::unique_ptr<LinearWeights> prepareLinear(const LinearSource& src) override;
    std::unique_ptr<MlaUpWeights> prepareMlaUp(const LinearSource& wkvb, const MlaDims& d) override;
    std::unique_ptr<KvCache> allocKvCache(const KvCacheShape& shape) override;
    void downloadKvLayer(const KvCache& cache, int layer, float* out) override;

    std::unique_ptr<StepContext> beginStep(const StepInputs& in) override;

    void linear(const LinearWeights& w, const float* x, int xStride, int T, float* y, int yStride) override;
    void embedTokens(const LinearWeights& table, const StepContext& step, float* out) override;
    void gatherLogitRows(const float* x, int xStride, int width, const StepContext& step, int first, int count,
                         float* out) override;
    void rmsNorm(const float* x, int xStride, const float* w, int T, int n, float eps, float* y, int yStride) override;
    void ropeInterleaved(float* x, int heads, int tokenStride, int headStride, const StepContext& step,
                         const RopeParams& rope) override;
    void queryScale(float* x, int n, int stride, const StepContext& step, const QueryScaling& s) override;
    void kvWrite(KvCache& cache, int layer, const float* latent, int latentStride, const float* kpe, int kpeStride,
                 const StepContext& step) override;
    void mlaAbsorbQuery(const float* q, int qTokenStride, const MlaUpWeights& wkvb, int T, float* qLat) override;
    void mlaAttentionAbsorbed(const float* qLat, const float* q, int qTokenStride, const KvCache& cache, int layer,
                              const StepContext& step, const MlaDims& d, float* oLat) override;
    void mlaAbsorbOutput(const float* oLat, const MlaUpWeights& wkvb, int T, float* out) override;
    void mlaAttentionExpanded(const float* q, int qTokenStride, const KvCache& cache, int layer,
                              const StepContext& step, const MlaUpWeights& wkvb, float* out) override;
    void moe(const MoeWeights& w, const float* x, int T, int D, float* y) override;
    void addInPlace(float* y, const float* x, size_t n) override;

    // ---- vision encoder (vision_ops.cu) ----
    std::unique_ptr<VisionContext> beginVision(const VisionInputs& in) override;
    void patchRows(const float* pixels, const VisionContext& v, float* out, int outStride) override;
    void rope2d(float* x, int heads, int tokenStride, int headStride, const VisionContext& v,
                const Rope2dParams& rope) override;
    void visionAttention(const float* q, const float* k, const float* v, int stride, int heads, int headDim,
                         float scale, const VisionContext& ctx, float* out, int outStride) override;
    void siluMul(float* a, int aStride, const float* b, int bStride, int T, int n) override;
    void gelu(float* x, int stride, int T, int n) override;
    void mergePatches(const float* x, int width, const VisionContext& v, float* out) override;
    void addBias(float* y, int yStride, const float* bias, int T, int n) override;

    // ---- for the ops' implementation files and the checks ----
    int device() const { return device_; }
    cudaStream_t stream() const { return stream_; }
    const cudaDeviceProp& properties() const { return props_; }
    cuda::Workspace& workspace() { return workspace_; }
    // Makes this backend's device current on the calling thread (N-API runs loads and steps on pool threads).
    void makeCurrent() const;
    // Copies `bytes` host bytes to device memory through the pinned staging buffer, in stream order.
    void uploadBytes(void* dst, const void* src, size_t bytes);
    // A device step buffer of at least `bytes` from the pool (or a new one); returned with recycleStepBuffer.
    cuda::DeviceBuffer takeStepBuffer(size_t bytes);
    void recycleStepBuffer(cuda::DeviceBuffer buffer);
    // The prepared bytes of a weight (lane records, then NVFP4 scales), for the checks.
    std::vector<uint8_t> preparedBytes(const LinearWeights& w);

    // The device table of a MoE layer's expert weights (moe.cu).
    const cuda::ExpertMatrix* moeTable(const MoeWeights& w);
    // A new weight id (CudaLinear::id).
    uint64_t nextWeightId() { return nextWeightId_++; }

   private:
    // The two pinned and two device buffers weights stream through at load (at least `bytes` each).
    void ensureLoadStaging(size_t bytes);
    static constexpr size_t kLoadPieceBytes = size_t{16} << 20;

    int device_ = 0;
    cudaDeviceProp props_{};
    cudaStream_t stream_ = nullptr;
    cuda::Workspace workspace_;
    cuda::PinnedBuffer staging_;         // uploads
    cudaEvent_t stagingFree_ = nullptr;  // recorded after the last copy out of staging_
    cuda::PinnedBuffer readback_;        // downloads
    cuda::PinnedBuffer loadStaging_[2];
    cuda::DeviceBuffer loadRaw_[2];
    cudaEvent_t loadDone_[2] = {nullptr, nullptr};  // recorded after each piece's repack
    std::vector<cuda::DeviceBuffer> stepPool_;
    uint64_t nextWeightId_ = 1;
    std::map<const MoeWeights*, cuda::MoeTable> moeTables_;
};

// The CUDA form of a weight, cache or step, or an error when another backend made it.
const cuda::CudaLinear& asCudaLinear(const LinearWeights& w);
const cuda::CudaMlaUp& asCudaMlaUp(const MlaUpWeights& w);
const cuda::CudaKvCache& asCudaKvCache(const KvCache& c);
cuda::CudaKvCache& asCudaKvCache(KvCache& c);
const cuda::CudaStepContext& asCudaStep(const StepContext& s);

}  // namespace ms4
