// The CPU step context: the caller's host arrays, checked once per step (so the ops index without re-checking
// what does not depend on the cache), plus each token's sequence and visible-entry count for attention.
#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "cpu/cpu_backend.h"

namespace ms4 {

namespace {

[[noreturn]] void fail(const std::string& why) { throw std::runtime_error("step: " + why); }

void checkRows(const int32_t* rows, int count, int T, const char* what) {
    if (count > 0 && rows == nullptr) fail(std::string(what) + " is missing");
    for (int i = 0; i < count; ++i) {
        if (rows[i] < 0 || rows[i] >= T) {
            fail(std::string(what) + "[" + std::to_string(i) + "] = " + std::to_string(rows[i]) +
                 " is outside the step's " + std::to_string(T) + " tokens");
        }
    }
}

}  // namespace

std::unique_ptr<StepContext> CpuBackend::beginStep(const StepInputs& in) {
    const int T = in.numTokens, S = in.numSeqs;
    if (T < 0 || S < 0 || in.numLogitRows < 0 || in.numInputRows < 0) fail("negative count");
    auto ctx = std::make_unique<cpu::CpuStepContext>(in);
    if (S > 0) {
        if (in.seqStarts == nullptr || in.contextLens == nullptr || in.blockTables == nullptr) {
            fail("seqStarts, contextLens and blockTables are required with sequences");
        }
        if (in.maxBlocksPerSeq < 1) fail("maxBlocksPerSeq must be positive");
        if (in.seqStarts[0] != 0 || in.seqStarts[S] != T) fail("seqStarts must run from 0 to the token count");
        ctx->seqOf.assign(T, 0);
        ctx->visible.assign(T, 0);
        for (int s = 0; s < S; ++s) {
            const int begin = in.seqStarts[s], end = in.seqStarts[s + 1], n = end - begin, len = in.contextLens[s];
            if (n < 0) fail("seqStarts is not non-decreasing at sequence " + std::to_string(s));
            if (len < n) fail("sequence " + std::to_string(s) + " has more new tokens than cache entries");
            for (int k = 0; k < n; ++k) {
                ctx->seqOf[begin + k] = s;
                ctx->visible[begin + k] = len - n + k + 1;
            }
        }
    }
    checkRows(in.logitRows, in.numLogitRows, T, "logitRows");
    checkRows(in.inputRows, in.numInputRows, T, "inputRows");
    if (in.numInputRows > 0) {
        if (in.inputEmbeddings == nullptr || in.embeddingWidth < 1) fail("input embeddings are missing");
        std::vector<int32_t> sorted(in.inputRows, in.inputRows + in.numInputRows);
        std::sort(sorted.begin(), sorted.end());
        if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) fail("inputRows holds a row twice");
    }
    return ctx;
}

void CpuBackend::gatherLogitRows(const float* x, int xStride, int width, const StepContext& step, int first, int count,
                                 float* out) {
    const cpu::CpuStepContext& s = asCpuStep(step);
    if (first < 0 || count < 0 || first + count > s.numLogitRows) fail("gatherLogitRows: rows outside logitRows");
    for (int i = 0; i < count; ++i) {
        std::memcpy(out + static_cast<size_t>(i) * width, x + static_cast<size_t>(s.in.logitRows[first + i]) * xStride,
                    sizeof(float) * width);
    }
}

}  // namespace ms4
