// Mixture of experts: route every token (router logits in fp32, softmax in double, top-k with ties to the lower
// index, optional renormalisation, × routedScale), group the tokens by expert, then run each active expert
// (and the shared expert, on all tokens) over all of its tokens at once, so its weights stream once per step:
// NVFP4 weights take quantized activations when the backend says so (CpuBackend::nvfp4Quantized, docs/cpu-backend.md).
//   phase 1: tasks (expert, block of kRowsPerTask intermediate rows): g = x·W1ᵀ, u = x·W3ᵀ, h = silu(g)·u
//   phase 2: tasks (expert, block of kRowsPerTask output rows):       o = h·W2ᵀ
//   phase 3: per token, y = Σ_k w_k·o_k + o_shared (fixed order, deterministic)
#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "cpu/cpu_backend.h"

namespace ms4 {

namespace {

constexpr int kRowsPerTask = 32;

struct ExpertGroup {
    const cpu::CpuLinear* gate;
    const cpu::CpuLinear* up;
    const cpu::CpuLinear* down;
    std::vector<int> tokens;              // rows of x this expert sees, in token order
    size_t xOff = 0, hOff = 0, oOff = 0;  // offsets into the gathered-input, hidden and output buffers
};

void checkExpert(const ExpertWeights& e, int D, const std::string& what) {
    if (e.gate == nullptr || e.up == nullptr || e.down == nullptr)
        throw std::runtime_error("moe: " + what + " is missing a weight");
    const int I = e.gate->rows;
    if (e.gate->cols != D || e.up->cols != D || e.up->rows != I || e.down->rows != D || e.down->cols != I) {
        throw std::runtime_error("moe: " + what + " has shapes gate [" + std::to_string(e.gate->rows) + ", " +
                                 std::to_string(e.gate->cols) + "], up [" + std::to_string(e.up->rows) + ", " +
                                 std::to_string(e.up->cols) + "], down [" + std::to_string(e.down->rows) + ", " +
                                 std::to_string(e.down->cols) + "] that do not fit hidden size " + std::to_string(D));
    }
}

}  // namespace

void CpuBackend::moe(const MoeWeights& w, const float* x, int T, int D, float* y) {
    if (w.router == nullptr) throw std::runtime_error("moe: no router weight");
    const int E = static_cast<int>(w.experts.size());
    if (w.router->rows != E || w.router->cols != D) {
        throw std::runtime_error("moe: router is [" + std::to_string(w.router->rows) + ", " +
                                 std::to_string(w.router->cols) + "] but there are " + std::to_string(E) +
                                 " experts and hidden size " + std::to_string(D));
    }
    if (w.topK < 1 || w.topK > E)
        throw std::runtime_error("moe: topK " + std::to_string(w.topK) + " outside [1, " + std::to_string(E) + "]");
    for (int e = 0; e < E; ++e) checkExpert(w.experts[e], D, "expert " + std::to_string(e));
    if (w.hasShared) checkExpert(w.shared, D, "the shared expert");
    if (T <= 0) return;
    const int K = w.topK;

    // ---- routing ----
    std::vector<float> logits(static_cast<size_t>(T) * E);
    linear(*w.router, x, D, T, logits.data(), E);
    std::vector<int> chosen(static_cast<size_t>(T) * K);
    std::vector<float> weight(static_cast<size_t>(T) * K);
    {
        std::vector<double> p(E);
        std::vector<int> order(E);
        for (int t = 0; t < T; ++t) {
            const float* lt = logits.data() + static_cast<size_t>(t) * E;
            const double maxLogit = *std::max_element(lt, lt + E);
            double sum = 0;
            for (int e = 0; e < E; ++e) sum += (p[e] = std::exp(lt[e] - maxLogit));
            for (double& v : p) v /= sum;
            std::iota(order.begin(), order.end(), 0);
            std::partial_sort(order.begin(), order.begin() + K, order.end(),
                              [&](int a, int b) { return p[a] > p[b] || (p[a] == p[b] && a < b); });
            double topSum = 0;
            for (int k = 0; k < K; ++k) topSum += p[order[k]];
            for (int k = 0; k < K; ++k) {
                const double wk = w.normTopk ? p[order[k]] / (topSum + 1e-20) : p[order[k]];
                chosen[static_cast<size_t>(t) * K + k] = order[k];
                weight[static_cast<size_t>(t) * K + k] = static_cast<float>(wk * w.routedScale);
            }
        }
    }

    // ---- grouping: one group per active expert, plus the shared expert over all tokens ----
    std::vector<ExpertGroup> groups;
    std::vector<int> groupOfExpert(E, -1);
    std::vector<int> rowInGroup(static_cast<size_t>(T) * K);  // where token t's k-th expert output lives
    for (int t = 0; t < T; ++t) {
        for (int k = 0; k < K; ++k) {
            const int e = chosen[static_cast<size_t>(t) * K + k];
            if (groupOfExpert[e] < 0) {
                groupOfExpert[e] = static_cast<int>(groups.size());
                const ExpertWeights& ew = w.experts[e];
                groups.push_back({&asCpuLinear(*ew.gate), &asCpuLinear(*ew.up), &asCpuLinear(*ew.down), {}});
            }
            ExpertGroup& g = groups[groupOfExpert[e]];
            rowInGroup[static_cast<size_t>(t) * K + k] = static_cast<int>(g.tokens.size());
            g.tokens.push_back(t);
        }
    }
    int sharedGroup = -1;
    if (w.hasShared) {
        sharedGroup = static_cast<int>(groups.size());
        groups.push_back({&asCpuLinear(*w.shared.gate), &asCpuLinear(*w.shared.up), &asCpuLinear(*w.shared.down), {}});
        groups.back().tokens.resize(T);
        std::iota(groups.back().tokens.begin(), groups.back().tokens.end(), 0);
    }
    size_t xSize = 0, hSize = 0, oSize = 0;
    for (ExpertGroup& g : groups) {
        const size_t n = g.tokens.size();
        g.xOff = xSize;
        g.hOff = hSize;
        g.oOff = oSize;
        xSize += n * g.gate->kPad;
        hSize += n * g.down->kPad;
        oSize += n * D;
    }
    // Quantized activations (NVFP4 weights, Nvfp4Activations other than F32): every token is quantized once, and each
    // group gathers its tokens' quantized rows; the hidden rows are quantized between the phases. A token's rows are
    // quantized the same whatever the batch, so outputs stay batch invariant.
    const bool quantized = nvfp4Quantized();
    auto quantizedFor = [&](const cpu::CpuLinear* l) { return quantized && l->format == WeightFormat::NVFP4; };
    // Buffers from the backend's scratch pool (no page faults and zeroing per call); only padding is zeroed. The
    // gathered fp32 inputs are needed only by groups whose gate or up weight takes fp32 activations.
    bool anyFloatIn = false;
    for (const ExpertGroup& g : groups) anyFloatIn = anyFloatIn || !quantizedFor(g.gate) || !quantizedFor(g.up);
    const cpu::ScratchPool::Lease xsLease =
        anyFloatIn ? scratch_.take(xSize * sizeof(float), "expert inputs") : cpu::ScratchPool::Lease();
    const cpu::ScratchPool::Lease hsLease = scratch_.take(hSize * sizeof(float), "expert hidden rows");
    const cpu::ScratchPool::Lease osLease = scratch_.take(oSize * sizeof(float), "expert outputs");
    float* const xs = xsLease.as<float>();
    float* const hs = hsLease.as<float>();
    float* const os = osLease.as<float>();
    for (const ExpertGroup& g : groups) {
        const size_t kp = g.down->kPad, I = static_cast<size_t>(g.gate->rows);
        for (size_t i = 0; i < g.tokens.size(); ++i)
            std::fill(hs + g.hOff + i * kp + I, hs + g.hOff + (i + 1) * kp, 0.0f);
        if (!anyFloatIn) continue;
        const size_t kx = g.gate->kPad;
        for (size_t i = 0; i < g.tokens.size(); ++i) {  // gather each group's input rows, zero padded to kPad
            float* row = xs + g.xOff + i * kx;
            std::memcpy(row, x + static_cast<size_t>(g.tokens[i]) * D, sizeof(float) * D);
            std::fill(row + D, row + kx, 0.0f);
        }
    }
    const int xPad = (D + cpu::kNvfp4Chunk - 1) / cpu::kNvfp4Chunk * cpu::kNvfp4Chunk;
    const size_t xqStride = (quantized ? activationRowBytes(xPad) : 0);
    // 64-byte aligned (every row size is a multiple of 64 bytes): the kernels' loads never split a cache line
    cpu::ScratchPool::Lease xqTok, xqs, hqs;
    std::vector<size_t> xqOff(groups.size(), 0), hqOff(groups.size(), 0);
    bool anyQuantizedIn = false, anyQuantizedDown = false;
    {
        size_t xq = 0, hq = 0;
        for (size_t gi = 0; gi < groups.size(); ++gi) {
            const ExpertGroup& g = groups[gi];
            if (quantizedFor(g.gate) || quantizedFor(g.up)) {
                anyQuantizedIn = true;
                xqOff[gi] = xq;
                xq += g.tokens.size() * xqStride;
            }
            if (quantizedFor(g.down)) {
                anyQuantizedDown = true;
                hqOff[gi] = hq;
                hq += g.tokens.size() * activationRowBytes(g.down->kPad);
            }
        }
        if (xq != 0) xqs = scratch_.take(xq, "quantized expert inputs");
        if (hq != 0) hqs = scratch_.take(hq, "quantized expert hidden rows");
    }
    if (anyQuantizedIn) {
        xqTok = scratch_.take(static_cast<size_t>(T) * xqStride, "quantized tokens");
        std::vector<float> padded(xPad, 0.0f);
        for (int t = 0; t < T; ++t) {
            std::memcpy(padded.data(), x + static_cast<size_t>(t) * D, sizeof(float) * D);
            quantizeActivations(padded.data(), xPad, xqTok.get() + static_cast<size_t>(t) * xqStride);
        }
        for (size_t gi = 0; gi < groups.size(); ++gi) {
            const ExpertGroup& g = groups[gi];
            if (!(quantizedFor(g.gate) || quantizedFor(g.up))) continue;
            for (size_t i = 0; i < g.tokens.size(); ++i) {
                std::memcpy(xqs.get() + xqOff[gi] + i * xqStride,
                            xqTok.get() + static_cast<size_t>(g.tokens[i]) * xqStride, xqStride);
            }
        }
    }

    // ---- phase 1: gate/up + SiLU·mul ----
    std::vector<std::pair<int, int>> tasks;
    for (int gi = 0; gi < static_cast<int>(groups.size()); ++gi) {
        for (int r0 = 0; r0 < groups[gi].gate->rows; r0 += kRowsPerTask) tasks.emplace_back(gi, r0);
    }
    pool_.parallelFor(
        static_cast<int64_t>(tasks.size()),
        [&](int64_t b, int64_t e) {
            std::vector<float> gbuf, ubuf;
            for (int64_t ti = b; ti < e; ++ti) {
                const ExpertGroup& g = groups[tasks[ti].first];
                const int r0 = tasks[ti].second, r1 = std::min(g.gate->rows, r0 + kRowsPerTask), nr = r1 - r0;
                const int n = static_cast<int>(g.tokens.size());
                gbuf.resize(static_cast<size_t>(n) * nr);
                ubuf.resize(static_cast<size_t>(n) * nr);
                const uint8_t* xq = xqs.get() + xqOff[tasks[ti].first];
                if (quantizedFor(g.gate)) {
                    linearRowsQuantized(*g.gate, xq, xqStride, n, gbuf.data(), nr, r0, r1);
                } else {
                    linearRowsPadded(*g.gate, xs + g.xOff, g.gate->kPad, n, gbuf.data(), nr, r0, r1);  // [n, nr]
                }
                if (quantizedFor(g.up)) {
                    linearRowsQuantized(*g.up, xq, xqStride, n, ubuf.data(), nr, r0, r1);
                } else {
                    linearRowsPadded(*g.up, xs + g.xOff, g.up->kPad, n, ubuf.data(), nr, r0, r1);
                }
                for (int i = 0; i < n; ++i) {
                    float* hrow = hs + g.hOff + static_cast<size_t>(i) * g.down->kPad;
                    for (int r = 0; r < nr; ++r) {
                        const float gv = gbuf[static_cast<size_t>(i) * nr + r];
                        hrow[r0 + r] = gv / (1.0f + std::exp(-gv)) * ubuf[static_cast<size_t>(i) * nr + r];
                    }
                }
            }
        },
        1);

    // ---- quantize the hidden rows for the quantized down projections ----
    if (anyQuantizedDown) {
        std::vector<std::pair<int, int>> rows;
        for (int gi = 0; gi < static_cast<int>(groups.size()); ++gi) {
            if (!quantizedFor(groups[gi].down)) continue;
            for (int i = 0; i < static_cast<int>(groups[gi].tokens.size()); ++i) rows.emplace_back(gi, i);
        }
        pool_.parallelFor(
            static_cast<int64_t>(rows.size()),
            [&](int64_t b, int64_t e) {
                for (int64_t ri = b; ri < e; ++ri) {
                    const ExpertGroup& g = groups[rows[ri].first];
                    const int kp = g.down->kPad;
                    quantizeActivations(hs + g.hOff + static_cast<size_t>(rows[ri].second) * kp, kp,
                                        hqs.get() + hqOff[rows[ri].first] +
                                            static_cast<size_t>(rows[ri].second) * activationRowBytes(kp));
                }
            },
            rows.size() >= 64 ? 16 : static_cast<int64_t>(rows.size()));
    }

    // ---- phase 2: down ----
    tasks.clear();
    for (int gi = 0; gi < static_cast<int>(groups.size()); ++gi) {
        for (int r0 = 0; r0 < D; r0 += kRowsPerTask) tasks.emplace_back(gi, r0);
    }
    pool_.parallelFor(
        static_cast<int64_t>(tasks.size()),
        [&](int64_t b, int64_t e) {
            for (int64_t ti = b; ti < e; ++ti) {
                const ExpertGroup& g = groups[tasks[ti].first];
                const int r0 = tasks[ti].second, r1 = std::min(D, r0 + kRowsPerTask);
                if (quantizedFor(g.down)) {
                    linearRowsQuantized(*g.down, hqs.get() + hqOff[tasks[ti].first], activationRowBytes(g.down->kPad),
                                        static_cast<int>(g.tokens.size()), os + g.oOff + r0, D, r0, r1);
                } else {
                    linearRowsPadded(*g.down, hs + g.hOff, g.down->kPad, static_cast<int>(g.tokens.size()),
                                     os + g.oOff + r0, D, r0, r1);
                }
            }
        },
        1);

    // ---- phase 3: combine ----
    pool_.parallelFor(
        T,
        [&](int64_t b, int64_t e) {
            for (int64_t t = b; t < e; ++t) {
                float* yt = y + static_cast<size_t>(t) * D;
                if (sharedGroup >= 0) {
                    std::memcpy(yt, os + groups[sharedGroup].oOff + static_cast<size_t>(t) * D, sizeof(float) * D);
                } else {
                    std::fill(yt, yt + D, 0.0f);
                }
                for (int k = 0; k < K; ++k) {
                    const ExpertGroup& g = groups[groupOfExpert[chosen[static_cast<size_t>(t) * K + k]]];
                    const float* o = os + g.oOff + static_cast<size_t>(rowInGroup[static_cast<size_t>(t) * K + k]) * D;
                    k_.axpy(yt, weight[static_cast<size_t>(t) * K + k], o, D);
                }
            }
        },
        T >= 64 ? 8 : 1);
}

}  // namespace ms4
