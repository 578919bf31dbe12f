// The CUDA backend's host-side code, checked on the CPU (no GPU needed): the bit conversions, the fragment-order
// weight layouts, the split activations and the epilogue are run by the same functions the kernels run, and the
// tensor-core products they feed are rebuilt here from the PTX fragment rules (written independently below) and
// compared with the reference ops; the launch and MoE grouping plans are checked for the invariants the kernels rely
// on. docs/cuda-backend.md#how-it-is-tested.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "attention_plan.h"
#include "backend/number_formats.h"
#include "checks/bounds.h"
#include "checks/check_harness.h"
#include "checks/op_checks.h"
#include "cpu/cpu_backend.h"
#include "host_pack.h"
#include "linear_layout.h"
#include "linear_plan.h"
#include "moe_plan.h"
#include "ref/ref_ops.h"

namespace ms4::checks {

namespace cu = ms4::cuda;

// A weight prepared as the repack kernels do it (one pack call per output word / byte).
struct HostPrepared {
    WeightFormat format;
    cu::LinearGeometry geo;
    std::vector<uint32_t> words;  // NVFP4 code words / FP8 bytes / BF16 elements, packed into 32-bit words
    std::vector<uint8_t> scales;  // NVFP4
    float weightScale = 1.0f;
};

HostPrepared prepareHost(const LinearSource& src);

namespace {

// The fragments of mma.m16n8k16 with 16-bit A / B and f32 C (PTX ISA, "Matrix Fragments for mma.m16n8k16 with
// floating point type"), element i of lane `lane`, groupID g = lane >> 2, threadID_in_group t = lane % 4.
struct RowCol {
    int row, col;
};
RowCol ptxA(int lane, int i) {  // i = 0..7: a0..a7, two per register
    const int g = lane >> 2, t = lane & 3;
    return {g + 8 * ((i >> 1) & 1), 2 * t + (i & 1) + (i >= 4 ? 8 : 0)};
}
RowCol ptxB(int lane, int i) {  // i = 0..3: b0..b3; row = k, col = n
    const int g = lane >> 2, t = lane & 3;
    return {2 * t + (i & 1) + (i >= 2 ? 8 : 0), g};
}
RowCol ptxC(int lane, int i) {  // i = 0..3: c0..c3
    const int g = lane >> 2, t = lane & 3;
    return {g + (i >= 2 ? 8 : 0), 2 * t + (i & 1)};
}

}  // namespace

HostPrepared prepareHost(const LinearSource& src) {
    HostPrepared p;
    p.format = src.format;
    p.geo = cu::linearGeometry(src.format, src.rows, src.cols);
    p.weightScale = cu::weightScaleOf(src.format, src.scale);
    p.words.assign(p.geo.codeBytes / 4, 0);
    p.scales.assign(p.geo.scaleBytes, 0);
    uint8_t* bytes = reinterpret_cast<uint8_t*>(p.words.data());
    uint16_t* halves = reinterpret_cast<uint16_t*>(p.words.data());
    const int chunks = p.geo.chunks;
    for (int rt = 0; rt < p.geo.rowTiles; ++rt) {
        for (int c = 0; c < chunks; ++c) {
            for (int lane = 0; lane < cu::kWarp; ++lane) {
                const size_t rec = cu::laneRecord(rt, c, lane, chunks);
                switch (src.format) {
                    case WeightFormat::NVFP4:
                        for (int s = 0; s < cu::kStepsPerChunk; ++s)
                            p.words[rec * 4 + s] = cu::packNvfp4Word(src.data, src.rows, src.cols, rt, c, lane, s);
                        break;
                    case WeightFormat::FP8:
                        for (int i = 0; i < 32; ++i)
                            bytes[rec * 32 + i] = cu::packFp8Byte(src.data, src.rows, src.cols, rt, c, lane, i);
                        break;
                    case WeightFormat::BF16:
                        for (int i = 0; i < 32; ++i) {
                            halves[rec * 32 + i] = cu::packBf16Element(reinterpret_cast<const uint16_t*>(src.data),
                                                                       src.rows, src.cols, rt, c, lane, i);
                        }
                        break;
                }
            }
            if (src.format == WeightFormat::NVFP4) {
                for (int i = 0; i < 64; ++i) {
                    p.scales[(static_cast<size_t>(rt) * chunks + c) * 64 + i] =
                        cu::packNvfp4ScaleByte(src.blockScales, src.rows, src.cols, rt, c, i);
                }
            }
        }
    }
    return p;
}

namespace {

// The four A registers of lane `lane` for k-step `step` of (rowTile, chunk), decoded as the GEMM kernels decode them
// (the device multiplies with HMUL2; mulHalf2Host is exact for the products formed here).
void aRegisters(const HostPrepared& w, int rt, int c, int lane, int step, uint32_t a[4]) {
    const size_t rec = cu::laneRecord(rt, c, lane, w.geo.chunks);
    switch (w.format) {
        case WeightFormat::NVFP4: {
            const uint32_t word = w.words[rec * 4 + step];
            const size_t so = cu::nvfp4ScaleOffset(rt, c, lane / 4, step, 0, w.geo.chunks);
            const uint32_t pair = w.scales[so] | (static_cast<uint32_t>(w.scales[so + 1]) << 8);
            const uint32_t s2 = cu::mulHalf2Host(cu::fp8PairToHalf2(pair), 0x78007800u);  // · 2^15
            const uint32_t sLo = (s2 & 0xffffu) * 0x10001u, sHi = (s2 >> 16) * 0x10001u;
            for (int r = 0; r < 4; ++r) a[r] = cu::mulHalf2Host(cu::e2m1PairToHalf2(word, r), (r & 1) ? sHi : sLo);
            break;
        }
        case WeightFormat::FP8: {
            const uint8_t* b = reinterpret_cast<const uint8_t*>(w.words.data()) + rec * 32 + step * 8;
            for (int r = 0; r < 4; ++r)
                a[r] = cu::fp8PairToHalf2(b[2 * r] | (static_cast<uint32_t>(b[2 * r + 1]) << 8));
            break;
        }
        case WeightFormat::BF16: {
            const uint16_t* h = reinterpret_cast<const uint16_t*>(w.words.data()) + rec * 32 + step * 8;
            for (int r = 0; r < 4; ++r) a[r] = h[2 * r] | (static_cast<uint32_t>(h[2 * r + 1]) << 16);
            break;
        }
    }
}

float term16(cu::ActSplit s, uint32_t bits16) {
    return s == cu::ActSplit::F16x2 ? cu::halfToFloatExact(static_cast<uint16_t>(bits16))
                                    : cu::bf16ToFloatExact(static_cast<uint16_t>(bits16));
}

// Split activations as the split kernel writes them; tokenScale[t] = 2^-e (F16x2; NaN for a non-finite row).
std::vector<uint32_t> splitHost(cu::ActSplit s, const std::vector<float>& x, int xStride, int T, int K, int chunks,
                                std::vector<float>& tokenScale) {
    std::vector<uint32_t> buf(cu::splitBytes(s, T, chunks) / 4, 0);
    tokenScale.assign(T, 1.0f);
    auto put = [&](int t, int k, int term, uint16_t bits) {
        const cu::SplitPos p = cu::splitPos(s, t, k, term, chunks);
        buf[p.word] |= static_cast<uint32_t>(bits) << (16 * p.half);
    };
    for (int t = 0; t < T; ++t) {
        const float* row = x.data() + static_cast<size_t>(t) * xStride;
        if (s == cu::ActSplit::F16x2) {
            float absmax = 0;
            for (int k = 0; k < K; ++k) absmax = std::max(absmax, std::fabs(row[k]));
            const bool finite = std::isfinite(absmax);
            const int e = finite ? cu::f16ScaleExponent(absmax) : 0;
            tokenScale[t] = finite ? cu::pow2f(-e) : NAN;
            for (int k = 0; k < K; ++k) {
                const cu::F16Terms terms = cu::splitF16(row[k] * cu::pow2f(e));
                put(t, k, 0, terms.hi);
                put(t, k, 1, terms.lo);
            }
        } else {
            for (int k = 0; k < K; ++k) {
                const cu::Bf16Terms terms = cu::splitBf16(row[k]);
                put(t, k, 0, terms.hi);
                put(t, k, 1, terms.mid);
                put(t, k, 2, terms.lo);
            }
        }
    }
    return buf;
}

// y = x · Wᵀ computed the way the GEMM kernel computes it: for every row tile and n8 tile of tokens, A and B rebuilt
// from the lanes' registers by the PTX rules, the product taken (each column in double, rounded once, standing in
// for the tensor core's f32 accumulation), and the lanes' C fragments turned into outputs by the kernel's epilogue.
void checkLinearFragments(Checker& c, WeightFormat f, int T, int rows, int cols) {
    const std::string params = std::string("cudaLinearFragments(format=") + formatName(f) + ",T=" + str(T) +
                               ",rows=" + str(rows) + ",cols=" + str(cols) + ")";
    if (!c.wants(params)) return;
    Rng rng(seedOf(params));
    TestWeight tw(f, rows, cols, rng);
    const HostPrepared w = prepareHost(tw.src);
    const cu::ActSplit split = cu::splitFor(f);
    const int chunks = w.geo.chunks, tpt = cu::tokensPerTile(split);
    std::vector<float> x = randomVec(rng, static_cast<size_t>(T) * cols);
    for (int t = 0; t < T; ++t) {  // rows of very different magnitude (the F16x2 token scale)
        const float m = static_cast<float>(std::ldexp(1.0, rng.below(60) - 30));
        for (int k = 0; k < cols; ++k) x[static_cast<size_t>(t) * cols + k] *= m;
    }
    std::vector<float> tokenScale;
    const std::vector<uint32_t> b = splitHost(split, x, cols, T, cols, chunks, tokenScale);
    std::vector<float> got(static_cast<size_t>(T) * rows, NAN), want(got.size());
    ref::linear(tw.src, x.data(), cols, T, want.data(), rows);
    const int kPad = chunks * cu::kChunkK;
    std::vector<double> A(static_cast<size_t>(cu::kRowTile) * kPad), B(static_cast<size_t>(kPad) * 8);
    for (int rt = 0; rt < w.geo.rowTiles; ++rt) {
        std::fill(A.begin(), A.end(), NAN);
        for (int ch = 0; ch < chunks; ++ch) {
            for (int step = 0; step < cu::kStepsPerChunk; ++step) {
                for (int lane = 0; lane < cu::kWarp; ++lane) {
                    uint32_t a[4];
                    aRegisters(w, rt, ch, lane, step, a);
                    for (int i = 0; i < 8; ++i) {
                        const RowCol rc = ptxA(lane, i);
                        const uint32_t bits = (a[i / 2] >> (16 * (i % 2))) & 0xffffu;
                        const double v = f == WeightFormat::BF16 ? cu::bf16ToFloatExact(static_cast<uint16_t>(bits))
                                                                 : cu::halfToFloatExact(static_cast<uint16_t>(bits));
                        A[static_cast<size_t>(rc.row) * kPad + ch * cu::kChunkK + step * cu::kStepK + rc.col] = v;
                    }
                }
            }
        }
        for (int tile = 0; tile < cu::ceilDiv(T, tpt); ++tile) {
            std::fill(B.begin(), B.end(), NAN);
            for (int ch = 0; ch < chunks; ++ch) {
                for (int step = 0; step < cu::kStepsPerChunk; ++step) {
                    for (int lane = 0; lane < cu::kWarp; ++lane) {
                        for (int i = 0; i < 4; ++i) {
                            const RowCol rc = ptxB(lane, i);
                            const uint32_t word = b[cu::splitWord(tile, ch, lane, step, i / 2, chunks)];
                            B[static_cast<size_t>(ch * cu::kChunkK + step * cu::kStepK + rc.row) * 8 + rc.col] =
                                term16(split, (word >> (16 * (i % 2))) & 0xffffu);
                        }
                    }
                }
            }
            float C[cu::kRowTile][8];
            for (int r = 0; r < cu::kRowTile; ++r) {
                for (int n = 0; n < 8; ++n) {
                    double acc = 0;
                    for (int k = 0; k < kPad; ++k) acc += A[static_cast<size_t>(r) * kPad + k] * B[k * 8 + n];
                    C[r][n] = static_cast<float>(acc);
                }
            }
            for (int lane = 0; lane < cu::kWarp; ++lane) {
                float cf[4];
                for (int i = 0; i < 4; ++i) cf[i] = C[ptxC(lane, i).row][ptxC(lane, i).col];
                const int token = tile * tpt + cu::epilogueToken(split, 0, lane);
                for (int hi = 0; hi < 2; ++hi) {
                    const int r = rt * cu::kRowTile + ptxC(lane, 2 * hi).row;
                    if (token >= T || r >= rows) continue;
                    float v;
                    if (split == cu::ActSplit::F16x2) {
                        v = cu::epilogueF16(cf[2 * hi], cf[2 * hi + 1], tokenScale[token], w.weightScale);
                    } else {
                        if (lane % 2 == 1) continue;  // the even lane of the pair writes
                        const int odd = lane + 1;
                        const float oddSum = C[ptxC(odd, 2 * hi).row][ptxC(odd, 2 * hi).col] +
                                             C[ptxC(odd, 2 * hi + 1).row][ptxC(odd, 2 * hi + 1).col];
                        v = cu::epilogueBf16(cf[2 * hi] + cf[2 * hi + 1], oddSum, w.weightScale);
                    }
                    got[static_cast<size_t>(token) * rows + r] = v;
                }
            }
        }
    }
    c.record("cudaLinearFragments", params, got, want, kLinearBound);
}

// Every 16-bit pattern: half → float is exact (against backend/number_formats.h) and float → half gives it back;
// halfway points between neighbours round to the even one, points beside them to the nearer.
void checkHalfConversion(Checker& c) {
    const std::string params = "cudaHalfConversion(all)";
    if (!c.wants(params)) return;
    size_t bad = 0;
    for (uint32_t h = 0; h < 0x10000; ++h) {
        const float f = cu::halfToFloatExact(static_cast<uint16_t>(h));
        const float g = halfToFloat(static_cast<uint16_t>(h));
        if (std::isnan(g)) {
            bad += std::isnan(f) && std::isnan(halfToFloat(cu::floatToHalfRne(f))) ? 0 : 1;
            continue;
        }
        if (f != g || cu::floatToHalfRne(f) != h) ++bad;
        if ((h & 0x7fffu) >= 0x7bffu) continue;  // the largest finite and inf have no finite upper neighbour
        const float next = cu::halfToFloatExact(static_cast<uint16_t>(h + 1));
        if (std::signbit(f) || std::signbit(next)) continue;  // positive pairs; negatives mirror them by the sign bit
        const float mid = f + (next - f) / 2;                 // exact in float
        const uint16_t even = (h & 1) ? static_cast<uint16_t>(h + 1) : static_cast<uint16_t>(h);
        if (cu::floatToHalfRne(mid) != even) ++bad;
        if (cu::floatToHalfRne(std::nextafter(mid, 0.0f)) != h) ++bad;
        if (cu::floatToHalfRne(std::nextafter(mid, 1e9f)) != h + 1) ++bad;
        if (cu::floatToHalfRne(-mid) != (even | 0x8000u)) ++bad;
    }
    const float gotBad = static_cast<float>(bad), zero = 0.0f;
    c.record("cudaHalfConversion", params, &gotBad, &zero, 1, kExact);
}

// The NVFP4 decode's products are exact: for every E2M1 code and every non-NaN FP8 scale, (e2m1 · 2^-14) · (fp8 · 2^7)
// in half is e2m1 · fp8 · 2^-7 exactly; FP8 codes become fp8 · 2^-8 exactly; BF16 splitting loses nothing.
void checkDecodeExactness(Checker& c) {
    const std::string params = "cudaDecodeExactness(nvfp4,fp8)";
    if (!c.wants(params)) return;
    std::vector<float> got, want;
    for (uint32_t s = 0; s < 256; ++s) {
        if ((s & 0x7fu) == 0x7fu) continue;  // NaN scales
        const uint32_t s2 = cu::mulHalf2Host(cu::fp8PairToHalf2(s | (s << 8)), 0x78007800u);
        got.push_back(cu::halfToFloatExact(static_cast<uint16_t>(cu::fp8PairToHalf2(s))) * 256.0f);
        want.push_back(fp8e4m3ToFloat(static_cast<uint8_t>(s)));
        for (uint32_t code = 0; code < 16; ++code) {
            const uint32_t v = cu::mulHalf2Host(cu::e2m1PairToHalf2(code << 12, 0), s2);
            got.push_back(cu::halfToFloatExact(static_cast<uint16_t>(v)) * 128.0f);
            want.push_back(e2m1ToFloat(static_cast<uint8_t>(code)) * fp8e4m3ToFloat(static_cast<uint8_t>(s)));
        }
    }
    c.record("cudaDecodeExactness", params, got, want, kExact);
}

// Prepared weights read back element by element (the embedding and wkv_b decode) equal the reference's values.
void checkElementDecode(Checker& c, WeightFormat f, int rows, int cols) {
    const std::string params =
        std::string("cudaElementDecode(format=") + formatName(f) + ",rows=" + str(rows) + ",cols=" + str(cols) + ")";
    if (!c.wants(params)) return;
    Rng rng(seedOf(params));
    TestWeight tw(f, rows, cols, rng);
    const HostPrepared w = prepareHost(tw.src);
    std::vector<float> got(static_cast<size_t>(rows) * cols), want(got.size());
    for (int r = 0; r < rows; ++r) {
        for (int k = 0; k < cols; ++k) {
            const size_t i = static_cast<size_t>(r) * cols + k;
            want[i] = ref::weightAt(tw.src, r, k);
            switch (f) {
                case WeightFormat::NVFP4:
                    got[i] = cu::nvfp4Element(w.words.data(), w.scales.data(), w.geo.chunks, tw.src.scale, r, k);
                    break;
                case WeightFormat::FP8:
                    got[i] = cu::fp8Element(reinterpret_cast<const uint8_t*>(w.words.data()), w.geo.chunks,
                                            tw.src.scale, r, k);
                    break;
                case WeightFormat::BF16:
                    got[i] = cu::bf16Element(reinterpret_cast<const uint16_t*>(w.words.data()), w.geo.chunks, r, k);
                    break;
            }
        }
    }
    c.record("cudaElementDecode", params, got, want, kExact);
}

// F16x2 / BF16x3 terms add back up to the activation: relative error per value within 2^-21 (F16x2, bounded also by
// 2^-24 of the row's largest magnitude) / 2^-24 (BF16x3; an absolute 2^-126 where the low terms fall below float's
// normal range). Recorded as the worst violation (0 = none).
void checkSplitTerms(Checker& c, cu::ActSplit s) {
    const std::string params = std::string("cudaSplitTerms(") + (s == cu::ActSplit::F16x2 ? "f16x2" : "bf16x3") + ")";
    if (!c.wants(params)) return;
    Rng rng(seedOf(params));
    double worst = 0;
    for (int row = 0; row < 200; ++row) {
        const double scale = std::ldexp(1.0, rng.below(200) - 100);
        std::vector<float> x(300);
        float absmax = 0;
        for (float& v : x) {
            v = static_cast<float>(rng.normal() * scale * std::ldexp(1.0, -rng.below(20)));
            absmax = std::max(absmax, std::fabs(v));
        }
        const int e = cu::f16ScaleExponent(absmax);
        for (float v : x) {
            double back, allowed;
            if (s == cu::ActSplit::F16x2) {
                const cu::F16Terms t = cu::splitF16(v * cu::pow2f(e));
                back = (static_cast<double>(cu::halfToFloatExact(t.hi)) + cu::halfToFloatExact(t.lo)) *
                       std::ldexp(1.0, -e);
                allowed = std::max(std::ldexp(std::fabs(v), -21), std::ldexp(absmax, -24));
            } else {
                const cu::Bf16Terms t = cu::splitBf16(v);
                back = static_cast<double>(cu::bf16ToFloatExact(t.hi)) + cu::bf16ToFloatExact(t.mid) +
                       cu::bf16ToFloatExact(t.lo);
                // terms below float's normal range round off
                allowed = std::max(std::ldexp(static_cast<double>(std::fabs(v)), -24), std::ldexp(1.0, -126));
            }
            worst = std::max(worst, std::fabs(back - v) / allowed - 1.0);
        }
    }
    const float got = static_cast<float>(std::max(0.0, worst)), zero = 0.0f;
    c.record("cudaSplitTerms", params, &got, &zero, 1, kExact);
}

// The k-slicing depends on the weight alone, covers every chunk once, and leaves no slice empty.
void checkLinearPlan(Checker& c) {
    const std::string params = "cudaLinearPlan(chunks=1..1024,T=1..2048)";
    if (!c.wants(params)) return;
    float bad = 0;
    for (int chunks = 1; chunks <= 1024; ++chunks) {
        const cu::LinearPlan p1 = cu::planLinear(WeightFormat::NVFP4, 64, chunks * 64, 1);
        if (p1.slices < 1 || p1.slices > cu::kMaxSlices) ++bad;
        if (p1.slices * p1.chunksPerSlice < chunks || (p1.slices - 1) * p1.chunksPerSlice >= chunks) ++bad;
        for (int T : {2, 5, 17, 64, 333, 2048}) {
            for (WeightFormat f : {WeightFormat::NVFP4, WeightFormat::BF16}) {
                const cu::LinearPlan p = cu::planLinear(f, 64, chunks * 64, T);
                if (p.slices != p1.slices || p.chunksPerSlice != p1.chunksPerSlice) ++bad;
                if (p.tokenBlocks * p.tokensPerBlock < T || (p.tokenBlocks - 1) * p.tokensPerBlock >= T) ++bad;
            }
        }
    }
    const float zero = 0.0f;
    c.record("cudaLinearPlan", params, &bad, &zero, 1, kExact);
}

// The device counting sort, run thread by thread: every (token, k) item lands in a row of its expert holding its
// token, each group's rows are its tokens in order followed by padding (-1), and the tiles cover every row once.
void checkMoePlan(Checker& c, int T, int topK, int E, bool shared) {
    const std::string params =
        "cudaMoePlan(T=" + str(T) + ",topK=" + str(topK) + ",E=" + str(E) + ",shared=" + (shared ? "1" : "0") + ")";
    if (!c.wants(params)) return;
    Rng rng(seedOf(params));
    cu::MoeShape s;
    s.tokens = T;
    s.topK = topK;
    s.experts = E;
    s.shared = shared;
    s.tileTokens = cu::moeTileTokens(T, topK, E);
    std::vector<int32_t> chosen(static_cast<size_t>(T) * topK);
    for (int t = 0; t < T; ++t) {  // distinct experts per token, skewed towards low indices
        for (int k = 0; k < topK; ++k) {
            int e;
            do {
                e = rng.below(2) ? rng.below(std::min(E, 6)) : rng.below(E);
            } while (std::find(chosen.begin() + static_cast<size_t>(t) * topK,
                               chosen.begin() + static_cast<size_t>(t) * topK + k,
                               e) != chosen.begin() + static_cast<size_t>(t) * topK + k);
            chosen[static_cast<size_t>(t) * topK + k] = e;
        }
    }
    const int groups = cu::moeGroups(s), maxRows = cu::moeMaxRows(s), maxTiles = cu::moeMaxTiles(s);
    std::vector<int> counts(groups), rowStart(groups + 1);
    std::vector<int32_t> tileGroup(maxTiles, -2), tileRow(maxTiles, -2), rowToken(maxRows, -2),
        itemRow(chosen.size(), -2);
    for (int g = 0; g < groups; ++g) counts[g] = cu::moeCount(chosen.data(), s, g);
    const int tiles = cu::moePlanTiles(counts.data(), s, rowStart.data(), tileGroup.data(), tileRow.data());
    for (int g = 0; g < groups; ++g)
        cu::moeAssignRows(chosen.data(), s, g, rowStart.data(), rowToken.data(), itemRow.data());
    float bad = 0;
    if (tiles > maxTiles || rowStart[groups] > maxRows) ++bad;
    for (size_t i = 0; i < chosen.size(); ++i) {
        const int r = itemRow[i], g = chosen[i];
        if (r < rowStart[g] || r >= rowStart[g + 1] || rowToken[r] != static_cast<int>(i) / topK) ++bad;
    }
    for (int g = 0; g < groups; ++g) {
        int prev = -1;
        for (int r = rowStart[g]; r < rowStart[g + 1]; ++r) {
            const bool real = r < rowStart[g] + counts[g];
            if (real && rowToken[r] <= prev) ++bad;  // tokens in increasing order
            if (!real && rowToken[r] != -1) ++bad;
            if (real) prev = rowToken[r];
        }
        if ((rowStart[g + 1] - rowStart[g]) % s.tileTokens != 0) ++bad;
    }
    std::vector<int> covered(rowStart[groups], 0);
    for (int i = 0; i < tiles; ++i) {
        const int g = tileGroup[i];
        if (g < 0 || g >= groups || tileRow[i] < rowStart[g] || tileRow[i] + s.tileTokens > rowStart[g + 1]) {
            ++bad;
            continue;
        }
        for (int r = tileRow[i]; r < tileRow[i] + s.tileTokens; ++r) ++covered[r];
    }
    for (int v : covered) bad += v == 1 ? 0 : 1;
    const float zero = 0.0f;
    c.record("cudaMoePlan", params, &bad, &zero, 1, kExact);
}

// The attention's tasks: each token's partitions cover its visible entries once, in order; the token groups cover
// every token once, in order, within the budget unless a token alone exceeds it.
void checkAttentionPlan(Checker& c, int T, int maxVisible, int budget) {
    const std::string params =
        "cudaAttentionPlan(T=" + str(T) + ",maxVisible=" + str(maxVisible) + ",budget=" + str(budget) + ")";
    if (!c.wants(params)) return;
    Rng rng(seedOf(params));
    std::vector<int> visible(T);
    for (int& v : visible) v = 1 + rng.below(maxVisible);
    visible[0] = cu::kAttentionPartition;  // exactly one partition
    std::vector<int32_t> firstTask, taskToken;
    cu::planAttentionTasks(visible, firstTask, taskToken);
    float bad = firstTask.size() == static_cast<size_t>(T) + 1 ? 0.0f : 1.0f;
    for (int t = 0; t < T && bad == 0; ++t) {
        const int parts = firstTask[t + 1] - firstTask[t];
        // partition p covers entries [256p, min(visible, 256(p + 1))): all of them, none empty
        if (parts < 1 || (parts - 1) * cu::kAttentionPartition >= visible[t] ||
            parts * cu::kAttentionPartition < visible[t]) {
            ++bad;
        }
        for (int k = firstTask[t]; k < firstTask[t + 1]; ++k) bad += taskToken[k] == t ? 0.0f : 1.0f;
    }
    int next = 0;
    for (const auto& [t0, t1] : cu::attentionGroups(visible, budget)) {
        if (t0 != next || t1 <= t0) ++bad;
        if (t1 - t0 > 1 && firstTask[t1] - firstTask[t0] > budget) ++bad;
        next = t1;
    }
    if (next != T) ++bad;
    const float zero = 0.0f;
    c.record("cudaAttentionPlan", params, &bad, &zero, 1, kExact);
}

}  // namespace

std::vector<OpCheckResult> runCudaLayoutChecks(const std::string& filter) {
    // The checks multiply nothing through a backend; the Checker only needs one to exist.
    CpuBackendOptions options;
    options.threads = 1;
    options.path = "portable";
    options.hugePages = false;
    const std::unique_ptr<CpuBackend> unused = createCpuBackend(options);
    Checker c{*unused, filter, nullptr, {}};
    for (WeightFormat f : {WeightFormat::NVFP4, WeightFormat::FP8, WeightFormat::BF16}) {
        for (int T : {1, 3, 6, 9}) {
            checkLinearFragments(c, f, T, 16, 64);
            checkLinearFragments(c, f, T, 40, f == WeightFormat::NVFP4 ? 208 : 100);
        }
        checkLinearFragments(c, f, 5, 33, 1040);
        checkElementDecode(c, f, 37, f == WeightFormat::NVFP4 ? 208 : 100);
    }
    checkHalfConversion(c);
    checkDecodeExactness(c);
    checkSplitTerms(c, cu::ActSplit::F16x2);
    checkSplitTerms(c, cu::ActSplit::BF16x3);
    checkLinearPlan(c);
    for (int T : {1, 7, 64, 300}) checkMoePlan(c, T, 4, 128, true);
    checkAttentionPlan(c, 1, 300000, 64);
    checkAttentionPlan(c, 64, 40000, 512);
    checkAttentionPlan(c, 2048, 5000, 1000);
    checkMoePlan(c, 17, 2, 8, false);
    checkMoePlan(c, 5, 8, 8, true);
    return c.results;
}

}  // namespace ms4::checks

namespace ms4::cuda {

std::vector<uint8_t> hostPreparedBytes(const LinearSource& src) {
    const checks::HostPrepared p = checks::prepareHost(src);
    std::vector<uint8_t> out(p.geo.codeBytes + p.geo.scaleBytes);
    std::memcpy(out.data(), p.words.data(), p.geo.codeBytes);
    if (!p.scales.empty()) std::memcpy(out.data() + p.geo.codeBytes, p.scales.data(), p.scales.size());
    return out;
}

}  // namespace ms4::cuda
