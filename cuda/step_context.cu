// beginStep: the step's arrays checked on the host (backend/input_checks.h), planned (each token's sequence, visible
// entries and split-KV partitions) and uploaded in one copy to a device buffer the step's ops read.
#include <cstring>
#include <stdexcept>
#include <utility>
#include <vector>

#include "backend/input_checks.h"
#include "cuda_backend.h"
#include "cuda_check.cuh"

namespace ms4 {

namespace cuda {

CudaStepContext::CudaStepContext(const StepInputs& inputs, CudaBackend& owner)
    : StepContext(inputs), in(inputs), owner_(owner) {}

CudaStepContext::~CudaStepContext() { owner_.recycleStepBuffer(std::move(buffer)); }

namespace {

// Packs host arrays one after another (16-byte aligned) and remembers where each went.
class Packer {
   public:
    template <class T>
    size_t add(const T* data, size_t count) {
        const size_t offset = bytes_.size();
        const size_t n = count * sizeof(T);
        bytes_.resize(offset + (n + 15) / 16 * 16, 0);
        if (n > 0) std::memcpy(bytes_.data() + offset, data, n);
        return offset;
    }
    const std::vector<uint8_t>& bytes() const { return bytes_; }

   private:
    std::vector<uint8_t> bytes_;
};

}  // namespace

}  // namespace cuda

std::unique_ptr<StepContext> CudaBackend::beginStep(const StepInputs& in) {
    StepLayout layout = checkStepInputs(in);
    makeCurrent();
    auto ctx = std::make_unique<cuda::CudaStepContext>(in, *this);
    const int T = in.numTokens, S = in.numSeqs;
    std::vector<int32_t> firstTask, taskToken;
    if (S > 0) cuda::planAttentionTasks(layout.visible, firstTask, taskToken);
    ctx->tasks = static_cast<int>(taskToken.size());
    cuda::Packer pack;
    constexpr size_t kNone = ~size_t{0};
    auto add = [&](const int32_t* p, size_t n) { return p != nullptr && n > 0 ? pack.add(p, n) : kNone; };
    const size_t oTokens = add(in.tokens, T), oPositions = add(in.positions, T), oSlots = add(in.slotMapping, T);
    const size_t oStarts = add(in.seqStarts, S > 0 ? S + 1 : 0), oLens = add(in.contextLens, S);
    const size_t oTables = add(in.blockTables, static_cast<size_t>(S) * in.maxBlocksPerSeq);
    const size_t oLogits = add(in.logitRows, in.numLogitRows), oInputs = add(in.inputRows, in.numInputRows);
    const size_t oSeqOf = add(layout.seqOf.data(), layout.seqOf.size());
    const size_t oVisible = add(layout.visible.data(), layout.visible.size());
    const size_t oFirst = add(firstTask.data(), firstTask.size()), oTasks = add(taskToken.data(), taskToken.size());
    const size_t oEmbeddings =
        in.numInputRows > 0 ? pack.add(in.inputEmbeddings, static_cast<size_t>(in.numInputRows) * in.embeddingWidth)
                            : kNone;
    const std::vector<uint8_t>& host = pack.bytes();
    ctx->buffer = takeStepBuffer(host.size());
    if (!host.empty()) uploadBytes(ctx->buffer.get(), host.data(), host.size());
    const uint8_t* base = ctx->buffer.as<const uint8_t>();
    auto at = [&](size_t offset) {
        return offset == kNone ? nullptr : reinterpret_cast<const int32_t*>(base + offset);
    };
    cuda::DeviceStep& d = ctx->dev;
    d.tokens = at(oTokens);
    d.positions = at(oPositions);
    d.slotMapping = at(oSlots);
    d.seqStarts = at(oStarts);
    d.contextLens = at(oLens);
    d.blockTables = at(oTables);
    d.logitRows = at(oLogits);
    d.inputRows = at(oInputs);
    d.seqOf = at(oSeqOf);
    d.visible = at(oVisible);
    d.firstTask = at(oFirst);
    d.taskToken = at(oTasks);
    d.inputEmbeddings = oEmbeddings == kNone ? nullptr : reinterpret_cast<const float*>(base + oEmbeddings);
    ctx->seqOf = std::move(layout.seqOf);
    ctx->visible = std::move(layout.visible);
    return ctx;
}

}  // namespace ms4
