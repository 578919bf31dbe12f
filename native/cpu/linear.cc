// Weight preparation, linear (GEMV / GEMM) and embedding lookup.
//
// linear: threads take tiles of output rows; inside a tile, tokens go in blocks of kTokenBlock and each block
// walks the tile's rows once, so a tile's weights stream from memory once and are re-read from cache by the
// following token blocks (tiles are sized to stay in L2 when T > kTokenBlock).
#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "backend/input_checks.h"
#include "backend/number_formats.h"
#include "cpu/cpu_backend.h"

namespace ms4 {

namespace {

int roundUp(int v, int m) { return (v + m - 1) / m * m; }

}  // namespace

std::unique_ptr<LinearWeights> CpuBackend::prepareLinear(const LinearSource& src) {
    checkLinearSource(src);
    auto w = std::make_unique<cpu::CpuLinear>();
    w->format = src.format;
    w->rows = src.rows;
    w->cols = src.cols;
    switch (src.format) {
        case WeightFormat::BF16: {
            w->kPad = roundUp(src.cols, 32);
            w->rowBytes = static_cast<size_t>(w->kPad) * 2;
            w->data = cpu::alignedAlloc(w->rowBytes * src.rows, "a BF16 weight", longLivedPages());
            // Rows are copied on all threads: the source pages fault in from the mapped file in parallel.
            pool_.parallelFor(src.rows, [&](int64_t r0, int64_t r1) {
                for (int64_t r = r0; r < r1; ++r) {
                    uint8_t* dst = w->data.get() + r * w->rowBytes;
                    std::memcpy(dst, src.data + static_cast<size_t>(r) * src.cols * 2,
                                static_cast<size_t>(src.cols) * 2);
                    std::memset(dst + static_cast<size_t>(src.cols) * 2, 0,
                                w->rowBytes - static_cast<size_t>(src.cols) * 2);
                }
            });
            break;
        }
        case WeightFormat::FP8: {
            w->kPad = roundUp(src.cols, 64);
            w->rowBytes = static_cast<size_t>(w->kPad);
            w->scale = src.rowScales != nullptr ? 1.0f : src.scale;
            if (src.rowScales != nullptr) w->rowScale.assign(src.rowScales, src.rowScales + src.rows);
            for (int v = 0; v < 256; ++v) w->table[v] = fp8e4m3ToFloat(static_cast<uint8_t>(v)) * w->scale;
            w->data = cpu::alignedAlloc(w->rowBytes * src.rows, "an FP8 weight", longLivedPages());
            pool_.parallelFor(src.rows, [&](int64_t r0, int64_t r1) {
                for (int64_t r = r0; r < r1; ++r) {
                    uint8_t* dst = w->data.get() + r * w->rowBytes;
                    std::memcpy(dst, src.data + static_cast<size_t>(r) * src.cols, src.cols);
                    std::memset(dst + src.cols, 0, w->rowBytes - src.cols);
                }
            });
            break;
        }
        case WeightFormat::NVFP4: {
            w->kPad = roundUp(src.cols, cpu::kNvfp4Chunk);
            w->rowBytes = static_cast<size_t>(w->kPad / cpu::kNvfp4Chunk) * cpu::kNvfp4ChunkBytes;
            w->globalScale = src.scale;
            w->invGlobalScale = 1.0f / src.scale;
            for (int v = 0; v < 256; ++v) w->table[v] = fp8e4m3ToFloat(static_cast<uint8_t>(v)) / src.scale;
            w->data = cpu::alignedAlloc(w->rowBytes * src.rows, "an NVFP4 weight", longLivedPages());
            pool_.parallelFor(src.rows, [&](int64_t r0, int64_t r1) {
                LinearSource rows = src;  // rows [r0, r1) of the source, repacked into the same rows of the output
                rows.rows = static_cast<int>(r1 - r0);
                rows.data = src.data + static_cast<size_t>(r0) * (src.cols / 2);
                rows.blockScales = src.blockScales + static_cast<size_t>(r0) * (src.cols / 16);
                cpu::repackNvfp4(rows, w->kPad, w->data.get() + static_cast<size_t>(r0) * w->rowBytes);
            });
            break;
        }
        default:
            throw std::runtime_error("prepareLinear: unknown weight format " +
                                     std::to_string(static_cast<int>(src.format)));
    }
    w->bytes = w->rowBytes * src.rows;
    return w;
}

void CpuBackend::linearRowsPadded(const cpu::CpuLinear& w, const float* x, int xStride, int T, float* y, int yStride,
                                  int r0, int r1) const {
    if (T >= cpu::kGemmMinTokens && k_.linearGemm != nullptr) {
        k_.linearGemm(w, x, xStride, T, y, yStride, r0, r1);
    } else {
        for (int t0 = 0; t0 < T; t0 += cpu::kTokenBlock) {
            const int tn = std::min(cpu::kTokenBlock, T - t0);
            k_.linearRows(w, x + static_cast<size_t>(t0) * xStride, xStride, tn, y + static_cast<size_t>(t0) * yStride,
                          yStride, r0, r1);
        }
    }
    // Per-channel FP8: the kernels multiplied by the codes alone; each output row takes its own scale.
    if (!w.rowScale.empty()) {
        for (int t = 0; t < T; ++t) {
            float* yt = y + static_cast<size_t>(t) * yStride;
            for (int r = r0; r < r1; ++r) yt[r - r0] *= w.rowScale[r];
        }
    }
}

void CpuBackend::linearRowsQuantized(const cpu::CpuLinear& w, const uint8_t* xq, size_t xqStride, int T, float* y,
                                     int yStride, int r0, int r1) const {
    (acts_ == cpu::Nvfp4Activations::Int8 ? k_.linearRowsQ8 : k_.linearRowsQ16)(w, xq, xqStride, T, y, yStride, r0, r1);
}

void CpuBackend::linear(const LinearWeights& lw, const float* x, int xStride, int T, float* y, int yStride) {
    const cpu::CpuLinear& w = asCpuLinear(lw);
    if (T <= 0) return;
    std::vector<float> padded;
    if (w.kPad != w.cols) {  // give the kernels zero-padded rows (real model dims never take this path)
        padded.assign(static_cast<size_t>(T) * w.kPad, 0.0f);
        for (int t = 0; t < T; ++t) {
            std::memcpy(padded.data() + static_cast<size_t>(t) * w.kPad, x + static_cast<size_t>(t) * xStride,
                        sizeof(float) * w.cols);
        }
        x = padded.data();
        xStride = w.kPad;
    }
    // Quantized activations for NVFP4: quantize each token once (per token, so independent of T).
    const bool quantized = w.format == WeightFormat::NVFP4 && nvfp4Quantized();
    cpu::ScratchPool::Lease xq;  // 64-byte aligned: the kernels' activation loads never split a cache line
    const size_t xqStride = quantized ? activationRowBytes(w.kPad) : 0;
    if (quantized) {
        xq = scratch_.take(static_cast<size_t>(T) * xqStride, "quantized activations");
        pool_.parallelFor(
            T,
            [&](int64_t b, int64_t e) {
                for (int64_t t = b; t < e; ++t)
                    quantizeActivations(x + static_cast<size_t>(t) * xStride, w.kPad, xq.get() + t * xqStride);
            },
            T >= 64 ? 16 : T);
    }
    // Tiles: ~48 KB of weights when several token blocks reuse them; otherwise just enough for load balance.
    const int threads = pool_.size();
    int tileRows = std::max(1, static_cast<int>(48 * 1024 / w.rowBytes));
    if (T <= cpu::kTokenBlock) tileRows = 64;
    if (T >= cpu::kGemmMinTokens && !quantized && k_.linearGemm != nullptr) tileRows = 48;  // the GEMM's row tile
    tileRows = std::min(tileRows, std::max(4, (w.rows + 4 * threads - 1) / (4 * threads)));
    tileRows = std::max(1, std::min(tileRows, 64));
    const int tiles = (w.rows + tileRows - 1) / tileRows;
    pool_.parallelFor(
        tiles,
        [&](int64_t b, int64_t e) {
            for (int64_t tile = b; tile < e; ++tile) {
                const int r0 = static_cast<int>(tile) * tileRows, r1 = std::min(w.rows, r0 + tileRows);
                if (quantized) {
                    linearRowsQuantized(w, xq.get(), xqStride, T, y + r0, yStride, r0, r1);
                } else {
                    linearRowsPadded(w, x, xStride, T, y + r0, yStride, r0, r1);
                }
            }
        },
        1);
}

void CpuBackend::embedTokens(const LinearWeights& table, const StepContext& step, float* out) {
    const cpu::CpuLinear& w = asCpuLinear(table);
    const StepInputs& in = asCpuStep(step).in;
    const int T = in.numTokens;
    if (T > 0 && in.tokens == nullptr) throw std::runtime_error("embedTokens: the step has no token ids");
    for (int t = 0; t < T; ++t) {
        if (in.tokens[t] < 0 || in.tokens[t] >= w.rows) {
            throw std::runtime_error("embedTokens: token id " + std::to_string(in.tokens[t]) + " outside [0, " +
                                     std::to_string(w.rows) + ")");
        }
    }
    if (in.numInputRows > 0 && in.embeddingWidth != w.cols) {
        throw std::runtime_error("embedTokens: input embeddings have " + std::to_string(in.embeddingWidth) +
                                 " values per row but the hidden size is " + std::to_string(w.cols));
    }
    // out: [T, D] — the table row of every token, then the step's input embeddings over their rows.
    pool_.parallelFor(
        T,
        [&](int64_t b, int64_t e) {
            std::vector<float> row(w.kPad);
            for (int64_t t = b; t < e; ++t) {
                cpu::decodeRowExact(w, in.tokens[t], row.data());
                std::memcpy(out + static_cast<size_t>(t) * w.cols, row.data(), sizeof(float) * w.cols);
            }
        },
        1);
    for (int i = 0; i < in.numInputRows; ++i) {
        std::memcpy(out + static_cast<size_t>(in.inputRows[i]) * w.cols,
                    in.inputEmbeddings + static_cast<size_t>(i) * in.embeddingWidth, sizeof(float) * w.cols);
    }
}

// wkv_b through this backend's own preparation (prepareLinear) and exact row decoder: float32 [rows, L].
std::unique_ptr<MlaUpWeights> CpuBackend::prepareMlaUp(const LinearSource& src, const MlaDims& d) {
    if (src.rows != d.heads * (d.nope + d.v) || src.cols != d.latent) {
        throw std::runtime_error("prepareMlaUp: wkv_b is [" + std::to_string(src.rows) + ", " +
                                 std::to_string(src.cols) + "] but the MLA dims need [" +
                                 std::to_string(d.heads * (d.nope + d.v)) + ", " + std::to_string(d.latent) + "]");
    }
    const std::unique_ptr<LinearWeights> packed = prepareLinear(src);
    const cpu::CpuLinear& w = asCpuLinear(*packed);
    auto up = std::make_unique<cpu::CpuMlaUp>();
    up->dims = d;
    up->bytes = static_cast<size_t>(src.rows) * src.cols * sizeof(float);
    up->data = cpu::alignedAlloc(up->bytes, "wkv_b", longLivedPages());
    float* values = reinterpret_cast<float*>(up->data.get());
    pool_.parallelFor(src.rows, [&](int64_t r0, int64_t r1) {
        std::vector<float> row(w.kPad);
        for (int64_t r = r0; r < r1; ++r) {
            cpu::decodeRowExact(w, static_cast<int>(r), row.data());
            std::memcpy(values + static_cast<size_t>(r) * src.cols, row.data(), sizeof(float) * src.cols);
        }
    });
    return up;
}

}  // namespace ms4
