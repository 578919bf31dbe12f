// opChecks: runs every CpuBackend op against its reference op (ref/, double accumulation, checkpoint layouts) on
// deterministic random data at several shapes — the tiny model's dims (hidden 128, 4 heads, nope/rope 16/16,
// v 32, latent 32, 8 experts top-4 with expert hidden 64) and odd ones (K not a multiple of 128, head dims that
// leave vector tails), T = 1, 3, 6, 17, batches of several sequences with different context lengths spread over
// shuffled blocks of size 4 and 16, both KV dtypes and all three weight formats — and reports
// ‖cpu − ref‖₂ / ‖ref‖₂ per case against a bound stated below with its reason.
#include "napi/op_checks.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "cpu/cpu_backend.h"
#include "ref/ref_ops.h"

namespace ms4 {

namespace {

// ---- bounds on ‖cpu − ref‖₂ / ‖ref‖₂ ----
constexpr double kExact = 0.0;              // same values by construction (copies, exact dequantization, exact adds)
constexpr double kLinearBound = 1e-5;       // weights decoded exactly; fp32 FMA accumulation over K ≤ 4096 vs double
constexpr double kNormBound = 1e-6;         // Σx² in double; fp32 scale and two fp32 products (≤ ~3 ulp per value)
constexpr double kRopeBound = 1e-7;         // the same double arithmetic as the reference
constexpr double kQueryScaleBound = 1e-7;   // the same double arithmetic as the reference
constexpr double kKvBf16Bound = 1.0 / 512;  // BF16 round-to-nearest-even: |relative error| ≤ 2^-9 per value
constexpr double kProjBound = 1e-5;         // fp32 dot products / axpys of length nope or L
constexpr double kAttnBound = 1e-5;         // fp32 scores over L + R terms, fp32 exp and online sums
constexpr double kAttnBf16Bound = 1e-2;     // cache rounded to BF16 (2^-9 per value) vs an F32 reference cache
constexpr double kMoeBound = 1e-5;          // router + three chained fp32 linears, fp32 SiLU and combine
// int8 activations (NVFP4 weights, Nvfp4Activations::Int8): the integer sums are exact and the scale folding
// costs ~1e-7, but each activation is rounded to a step of absmax(block)/127, i.e. an error of at most
// absmax/254 (0.39 % of the block's largest magnitude). On Gaussian data that is ~0.3 % rms per element and
// the same relative error on the dot products (~3e-3); bound 1e-2 (KERNEL-NOTES §3.1 expects 1e-3..5e-3).
constexpr double kLinearInt8Bound = 1e-2;
// MoE: the input rows and the hidden rows (SiLU·mul) are both quantized: two such errors in sequence.
constexpr double kMoeInt8Bound = 2e-2;
// int16 activations: the same analysis with a step of absmax/32767 (error <= 1.5e-5 of the block's largest
// magnitude; measured 2.4e-5 on linear, 4e-5 on MoE); bounds 1e-4 / 2e-4.
constexpr double kLinearInt16Bound = 1e-4;
constexpr double kMoeInt16Bound = 2e-4;

// ---- deterministic data ----
class Rng {
   public:
    explicit Rng(uint64_t seed) : s_(seed) {}
    uint64_t next() {  // splitmix64
        uint64_t z = (s_ += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    double uniform() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }
    float normal() {
        const double u1 = 1.0 - uniform(), u2 = uniform();
        return static_cast<float>(std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2));
    }
    int below(int n) { return static_cast<int>(next() % static_cast<uint64_t>(n)); }

   private:
    uint64_t s_;
};

uint64_t seedOf(const std::string& s) {  // FNV-1a: each case's data depends only on its params
    uint64_t h = 1469598103934665603ULL;
    for (char ch : s) h = (h ^ static_cast<uint8_t>(ch)) * 1099511628211ULL;
    return h;
}

std::vector<float> randomVec(Rng& rng, size_t n, float scale = 1.0f) {
    std::vector<float> v(n);
    for (float& f : v) f = rng.normal() * scale;
    return v;
}

float roundBf16(float f) { return ref::bf16ToFloat(ref::floatToBf16(f)); }

const char* formatName(WeightFormat f) {
    switch (f) {
        case WeightFormat::BF16:
            return "bf16";
        case WeightFormat::FP8:
            return "fp8";
        case WeightFormat::NVFP4:
            return "nvfp4";
    }
    return "?";
}

// A checkpoint-layout weight with its backing bytes (not movable: src points into the vectors).
struct TestWeight {
    std::vector<uint8_t> data, scales;
    LinearSource src;
    TestWeight(const TestWeight&) = delete;
    TestWeight(WeightFormat f, int rows, int cols, Rng& rng) {
        src.format = f;
        src.rows = rows;
        src.cols = cols;
        const size_t n = static_cast<size_t>(rows) * cols;
        switch (f) {
            case WeightFormat::BF16:
                data.resize(2 * n);
                for (size_t i = 0; i < n; ++i) {
                    const uint16_t v = ref::floatToBf16(rng.normal() * 0.1f);
                    std::memcpy(data.data() + 2 * i, &v, 2);
                }
                break;
            case WeightFormat::FP8:
                data.resize(n);
                for (uint8_t& b : data) {
                    do {
                        b = static_cast<uint8_t>(rng.next());
                    } while ((b & 0x7f) == 0x7f);  // no NaN codes
                }
                src.scale = 0.0123f;
                break;
            case WeightFormat::NVFP4:
                data.resize(n / 2);
                for (uint8_t& b : data) b = static_cast<uint8_t>(rng.next());
                scales.resize(n / 16);
                for (uint8_t& b : scales) b = static_cast<uint8_t>(rng.below(0x78));  // all exponents, subnormals too
                src.scale = 1234.5f;  // the divisor: fp8 / 1234.5 is inexact, so rounding order matters
                break;
        }
        src.data = data.data();
        src.blockScales = scales.empty() ? nullptr : scales.data();
    }
};

struct Checker {
    CpuBackend& be;
    std::string filter;
    std::vector<OpCheckResult> results;

    bool wants(const std::string& params) const { return filter.empty() || params.find(filter) != std::string::npos; }

    void record(const std::string& op, const std::string& params, const float* got, const float* want, size_t n,
                double bound) {
        double diff2 = 0, ref2 = 0, maxAbs = 0;
        for (size_t i = 0; i < n; ++i) {
            const double d = static_cast<double>(got[i]) - want[i];
            diff2 += d * d;
            ref2 += static_cast<double>(want[i]) * want[i];
            maxAbs = std::max(maxAbs, std::fabs(d));
            if (std::isnan(d)) maxAbs = NAN;
        }
        OpCheckResult r;
        r.op = op;
        r.params = params;
        r.error = ref2 > 0 ? std::sqrt(diff2 / ref2) : std::sqrt(diff2);
        r.maxAbsError = maxAbs;
        r.bound = bound;
        r.ok = std::isfinite(r.error) && !std::isnan(maxAbs) && r.error <= bound;
        results.push_back(r);
    }
};

std::string str(int v) { return std::to_string(v); }

// ---- linear and weights ----

std::string actTag(const CpuBackend& be, WeightFormat f) {
    if (f != WeightFormat::NVFP4 || !be.nvfp4Quantized()) return "";
    return std::string(",act=") + cpu::nvfp4ActivationsName(be.nvfp4Activations());
}

// The bound of a linear (or, with moe, MoE) check on this backend's NVFP4 activation mode.
double activationBound(const CpuBackend& be, WeightFormat f, bool moe) {
    if (f == WeightFormat::NVFP4 && be.nvfp4Activations() == cpu::Nvfp4Activations::Int8)
        return moe ? kMoeInt8Bound : kLinearInt8Bound;
    if (f == WeightFormat::NVFP4 && be.nvfp4Activations() == cpu::Nvfp4Activations::Int16)
        return moe ? kMoeInt16Bound : kLinearInt16Bound;
    return moe ? kMoeBound : kLinearBound;
}

void checkLinear(Checker& c, WeightFormat f, int T, int rows, int cols, bool strided) {
    const std::string params = std::string("linear(format=") + formatName(f) + ",T=" + str(T) + ",rows=" + str(rows) +
                               ",cols=" + str(cols) + (strided ? ",strided" : "") + actTag(c.be, f) + ")";
    if (!c.wants(params)) return;
    Rng rng(seedOf(params));
    TestWeight tw(f, rows, cols, rng);
    std::unique_ptr<LinearWeights> w = c.be.prepareLinear(tw.src);
    const int xStride = cols + (strided ? 3 : 0), yStride = rows + (strided ? 5 : 0);
    const std::vector<float> x = randomVec(rng, static_cast<size_t>(T) * xStride);
    std::vector<float> got(static_cast<size_t>(T) * yStride, 0.0f), want(got.size(), 0.0f);
    c.be.linear(*w, x.data(), xStride, T, got.data(), yStride);
    ref::linear(tw.src, x.data(), xStride, T, want.data(), yStride);
    c.record("linear", params, got.data(), want.data(), got.size(), activationBound(c.be, f, false));
}

// Unpacks the repacked NVFP4 bytes by the documented layout (independently of the backend's decoder) and
// compares with ref::weightAt, padding included (must be zero).
void checkRepack(Checker& c, int rows, int cols) {
    const std::string params = "nvfp4Repack(rows=" + str(rows) + ",cols=" + str(cols) + ")";
    if (!c.wants(params)) return;
    Rng rng(seedOf(params));
    TestWeight tw(WeightFormat::NVFP4, rows, cols, rng);
    std::unique_ptr<LinearWeights> lw = c.be.prepareLinear(tw.src);
    const cpu::CpuLinear& w = asCpuLinear(*lw);
    const int kPad = (cols + 127) / 128 * 128;
    std::vector<float> got(static_cast<size_t>(rows) * kPad), want(got.size(), 0.0f);
    bool layoutOk = w.kPad == kPad && w.rowBytes == static_cast<size_t>(kPad / 128) * 72;
    for (int r = 0; r < rows && layoutOk; ++r) {
        const uint8_t* row = w.row(r);
        for (int k = 0; k < kPad; ++k) {
            const int chunk = k / 128, e = k % 128;
            const uint8_t byte = row[chunk * 72 + (e % 64)];
            const uint8_t code = e < 64 ? (byte & 0x0f) : (byte >> 4);
            const uint8_t scale = row[chunk * 72 + 64 + e / 16];
            got[static_cast<size_t>(r) * kPad + k] =
                ref::e2m1ToFloat(code) * (ref::fp8e4m3ToFloat(scale) / tw.src.scale);
            if (k < cols) want[static_cast<size_t>(r) * kPad + k] = ref::weightAt(tw.src, r, k);
        }
    }
    if (!layoutOk) std::fill(got.begin(), got.end(), NAN);
    c.record("nvfp4Repack", params, got.data(), want.data(), got.size(), kExact);
}

void checkEmbed(Checker& c, WeightFormat f, int T, int vocab, int cols) {
    const std::string params = std::string("embedRows(format=") + formatName(f) + ",T=" + str(T) +
                               ",vocab=" + str(vocab) + ",cols=" + str(cols) + ")";
    if (!c.wants(params)) return;
    Rng rng(seedOf(params));
    TestWeight tw(f, vocab, cols, rng);
    std::unique_ptr<LinearWeights> w = c.be.prepareLinear(tw.src);
    std::vector<int32_t> ids(T);
    for (int32_t& id : ids) id = rng.below(vocab);
    ids[0] = vocab - 1;
    std::vector<float> got(static_cast<size_t>(T) * cols), want(got.size());
    c.be.embedRows(*w, ids.data(), T, got.data());
    ref::embedRows(tw.src, ids.data(), T, want.data());
    c.record("embedRows", params, got.data(), want.data(), got.size(), kExact);
}

// ---- norm, rope, scaling, add ----

void checkRmsNorm(Checker& c, int T, int n, bool inPlace) {
    const std::string params = "rmsNorm(T=" + str(T) + ",n=" + str(n) + (inPlace ? ",inPlace" : "") + ")";
    if (!c.wants(params)) return;
    Rng rng(seedOf(params));
    const int stride = n + 7;
    std::vector<float> x = randomVec(rng, static_cast<size_t>(T) * stride);
    for (int t = 0; t < T; ++t) {
        const float s = static_cast<float>(std::exp(rng.uniform() * 6 - 3));  // rows of very different scale
        for (int i = 0; i < n; ++i) x[static_cast<size_t>(t) * stride + i] *= s;
    }
    std::vector<float> w(n);
    for (float& v : w) v = 1.0f + 0.2f * rng.normal();
    std::vector<float> want(x.size(), 0.0f), got = inPlace ? x : std::vector<float>(x.size(), 0.0f);
    ref::rmsNorm(x.data(), stride, w.data(), T, n, 1e-5f, want.data(), stride);
    c.be.rmsNorm(inPlace ? got.data() : x.data(), stride, w.data(), T, n, 1e-5f, got.data(), stride);
    if (inPlace) {  // the gaps between rows keep x in the in-place case
        for (int t = 0; t < T; ++t) {
            for (int i = n; i < stride; ++i)
                want[static_cast<size_t>(t) * stride + i] = x[static_cast<size_t>(t) * stride + i];
        }
    }
    c.record("rmsNorm", params, got.data(), want.data(), got.size(), kNormBound);
}

void checkRope(Checker& c, int T, int heads, int offset, int headStride, int rope) {
    const std::string params = "ropeInterleaved(T=" + str(T) + ",heads=" + str(heads) + ",rope=" + str(rope) +
                               ",headStride=" + str(headStride) + ")";
    if (!c.wants(params)) return;
    Rng rng(seedOf(params));
    const int tokenStride = heads * headStride + 3;
    RopeParams rp;
    for (int i = 0; i < rope / 2; ++i) {
        double f = std::pow(1e6, -2.0 * i / rope);
        if (i >= rope / 4) f /= 128.0;  // YaRN-like: the low frequencies interpolated
        rp.invFreq.push_back(f);
    }
    rp.attentionFactor = 1.1;
    std::vector<int32_t> pos(T);
    for (int32_t& p : pos) p = rng.below(1000000);
    pos[0] = T > 1 ? 0 : 999999;
    std::vector<float> got = randomVec(rng, static_cast<size_t>(T) * tokenStride), want = got;
    c.be.ropeInterleaved(got.data() + offset, T, heads, tokenStride, headStride, pos.data(), rp);
    ref::ropeInterleaved(want.data() + offset, T, heads, tokenStride, headStride, pos.data(), rp);
    c.record("ropeInterleaved", params, got.data(), want.data(), got.size(), kRopeBound);
}

void checkQueryScale(Checker& c, int T, double beta) {
    const std::string params = "queryScale(T=" + str(T) + ",n=128,beta=" + (beta == 0 ? "0" : "0.1") + ")";
    if (!c.wants(params)) return;
    Rng rng(seedOf(params));
    const int n = 128, stride = 133;
    QueryScaling qs;
    qs.beta = beta;
    qs.originalMax = 8192;
    std::vector<int32_t> pos(T);
    for (int32_t& p : pos) p = rng.below(1000000);
    pos[0] = 8191;
    std::vector<float> got = randomVec(rng, static_cast<size_t>(T) * stride), want = got;
    c.be.queryScale(got.data(), T, n, stride, pos.data(), qs);
    ref::queryScale(want.data(), T, n, stride, pos.data(), qs);
    c.record("queryScale", params, got.data(), want.data(), got.size(), kQueryScaleBound);
}

void checkAdd(Checker& c, size_t n) {
    const std::string params = "addInPlace(n=" + std::to_string(n) + ")";
    if (!c.wants(params)) return;
    Rng rng(seedOf(params));
    std::vector<float> y = randomVec(rng, n), x = randomVec(rng, n), want(n);
    for (size_t i = 0; i < n; ++i) want[i] = y[i] + x[i];
    c.be.addInPlace(y.data(), x.data(), n);
    c.record("addInPlace", params, y.data(), want.data(), n, kExact);
}

// ---- KV cache and attention ----

// The whole cache as floats.
std::vector<float> readCache(const cpu::CpuKvCache& cache) {
    const size_t n = cache.layerValues() * cache.shape.layers;
    std::vector<float> out(n);
    if (cache.shape.dtype == KvDtype::F32) {
        std::memcpy(out.data(), cache.data.get(), n * sizeof(float));
    } else {
        const uint16_t* v = reinterpret_cast<const uint16_t*>(cache.data.get());
        for (size_t i = 0; i < n; ++i) out[i] = ref::bf16ToFloat(v[i]);
    }
    return out;
}

const char* dtypeName(KvDtype d) { return d == KvDtype::F32 ? "f32" : "bf16"; }

void checkKvWrite(Checker& c, int T, int L, int R, int blockSize, KvDtype dtype) {
    const std::string base = "kvWrite(T=" + str(T) + ",L=" + str(L) + ",R=" + str(R) + ",block=" + str(blockSize) +
                             ",kv=" + dtypeName(dtype);
    const std::string pF32 = base + (dtype == KvDtype::BF16 ? ",vs=f32)" : ")");
    const std::string pRne = base + ",vs=bf16-rne)";
    const bool wantF32 = c.wants(pF32), wantRne = dtype == KvDtype::BF16 && c.wants(pRne);
    if (!wantF32 && !wantRne) return;
    Rng rng(seedOf(pF32));
    KvCacheShape shape;
    shape.layers = 2;
    shape.numBlocks = 6;
    shape.blockSize = blockSize;
    shape.latent = L;
    shape.rope = R;
    shape.dtype = dtype;
    std::unique_ptr<KvCache> cache = c.be.allocKvCache(shape);
    ref::RefKvCache refCache(shape);
    const int slots = shape.numBlocks * blockSize;
    std::vector<int32_t> order(slots);
    for (int i = 0; i < slots; ++i) order[i] = i;
    for (int i = slots - 1; i > 0; --i) std::swap(order[i], order[rng.below(i + 1)]);
    std::vector<int32_t> mapping(T);
    for (int t = 0; t < T; ++t) mapping[t] = (t % 5 == 4) ? -1 : order[t];  // every fifth token is padding
    const int ls = L + 3, ks = R + 1;
    const std::vector<float> latent = randomVec(rng, static_cast<size_t>(T) * ls),
                             kpe = randomVec(rng, static_cast<size_t>(T) * ks);
    c.be.kvWrite(*cache, 1, latent.data(), ls, kpe.data(), ks, mapping.data(), T);
    ref::kvWrite(refCache, 1, latent.data(), ls, kpe.data(), ks, mapping.data(), T);
    const std::vector<float> got = readCache(asCpuKvCache(*cache));
    if (wantF32) {
        c.record("kvWrite", pF32, got.data(), refCache.data.data(), got.size(),
                 dtype == KvDtype::F32 ? kExact : kKvBf16Bound);
    }
    if (wantRne) {
        std::vector<float> rounded = refCache.data;
        for (float& v : rounded) v = roundBf16(v);
        c.record("kvWrite", pRne, got.data(), rounded.data(), got.size(), kExact);
    }
}

struct NamedDims {
    const char* name;
    MlaDims d;
};

NamedDims tinyDims() {
    // heads, nope, rope, v, latent, softmax scale
    return {"tiny", MlaDims{4, 16, 16, 32, 32, static_cast<float>(1.0 / std::sqrt(32.0))}};
}

NamedDims oddDims() {  // sizes that leave vector tails everywhere
    // heads, nope, rope, v, latent, softmax scale
    return {"odd", MlaDims{2, 24, 8, 20, 40, static_cast<float>(1.0 / std::sqrt(32.0))}};
}

NamedDims realDims() {  // Mistral Small 4 attention
    // heads, nope, rope, v, latent, softmax scale
    return {"real", MlaDims{32, 64, 64, 128, 256, static_cast<float>(1.0 / std::sqrt(128.0))}};
}

struct NamedBatch {
    const char* name;
    std::vector<std::pair<int, int>> seqs;  // (new tokens, context length after this step)
    float qScale;                           // larger → sharper softmax
};

std::vector<NamedBatch> testBatches() {
    return {
        {"decode", {{1, 5}, {1, 17}, {1, 33}}, 1.0f},
        {"mixed", {{17, 17}, {3, 40}, {1, 9}}, 1.0f},
        {"long", {{3, 150}}, 3.0f},
    };
}

// Long contexts: several partitions of the absorbed kernel per token, partial last partitions, and a sequence
// whose context is exactly a multiple of the partition size.
std::vector<NamedBatch> longBatches() {
    return {
        {"long1", {{1, 2048}}, 1.0f},
        {"long3", {{1, 1999}, {3, 1100}, {2, 257}}, 2.0f},
    };
}

// A batch over shuffled pool blocks, and a cache (CPU and reference) filled with random entries.
struct AttentionCase {
    std::vector<int32_t> seqStarts, contextLens, blockTables;
    AttentionBatch batch;
    std::unique_ptr<KvCache> cache;
    std::unique_ptr<ref::RefKvCache> refCache;
};

AttentionCase makeAttentionCase(Checker& c, const NamedBatch& nb, const MlaDims& d, int blockSize, KvDtype dtype,
                                bool bf16Exact, Rng& rng) {
    AttentionCase ac;
    int maxBlocks = 0, totalBlocks = 0;
    ac.seqStarts.push_back(0);
    for (const auto& s : nb.seqs) {
        const int blocks = (s.second + blockSize - 1) / blockSize;
        maxBlocks = std::max(maxBlocks, blocks);
        totalBlocks += blocks;
        ac.seqStarts.push_back(ac.seqStarts.back() + s.first);
        ac.contextLens.push_back(s.second);
    }
    const int numBlocks = totalBlocks + 3;
    std::vector<int32_t> order(numBlocks);
    for (int i = 0; i < numBlocks; ++i) order[i] = i;
    for (int i = numBlocks - 1; i > 0; --i) std::swap(order[i], order[rng.below(i + 1)]);
    ac.blockTables.assign(nb.seqs.size() * maxBlocks, -1);
    int next = 0;
    for (size_t s = 0; s < nb.seqs.size(); ++s) {
        const int blocks = (nb.seqs[s].second + blockSize - 1) / blockSize;
        for (int b = 0; b < blocks; ++b) ac.blockTables[s * maxBlocks + b] = order[next++];
    }
    ac.batch.numTokens = ac.seqStarts.back();
    ac.batch.numSeqs = static_cast<int>(nb.seqs.size());
    ac.batch.seqStarts = ac.seqStarts.data();
    ac.batch.contextLens = ac.contextLens.data();
    ac.batch.blockTables = ac.blockTables.data();
    ac.batch.maxBlocksPerSeq = maxBlocks;

    KvCacheShape shape;
    shape.layers = 2;
    shape.numBlocks = numBlocks;
    shape.blockSize = blockSize;
    shape.latent = d.latent;
    shape.rope = d.rope;
    shape.dtype = dtype;
    ac.cache = c.be.allocKvCache(shape);
    ac.refCache = std::make_unique<ref::RefKvCache>(shape);
    const int slots = numBlocks * blockSize;
    std::vector<int32_t> all(slots);
    for (int i = 0; i < slots; ++i) all[i] = i;
    for (int layer = 0; layer < 2; ++layer) {
        std::vector<float> latent = randomVec(rng, static_cast<size_t>(slots) * d.latent),
                           kpe = randomVec(rng, static_cast<size_t>(slots) * d.rope);
        if (bf16Exact) {  // values a BF16 cache holds exactly: the check then measures the kernels alone
            for (float& v : latent) v = roundBf16(v);
            for (float& v : kpe) v = roundBf16(v);
        }
        c.be.kvWrite(*ac.cache, layer, latent.data(), d.latent, kpe.data(), d.rope, all.data(), slots);
        ref::kvWrite(*ac.refCache, layer, latent.data(), d.latent, kpe.data(), d.rope, all.data(), slots);
    }
    return ac;
}

void checkAttention(Checker& c, bool expanded, const NamedDims& nd, const NamedBatch& nb, int blockSize, KvDtype dtype,
                    bool rawBf16) {
    const MlaDims& d = nd.d;
    int T = 0;
    for (const auto& s : nb.seqs) T += s.first;
    const std::string op = expanded ? "mlaAttentionExpanded" : "mlaAttentionAbsorbed";
    const std::string params = op + "(dims=" + nd.name + ",batch=" + nb.name + ",T=" + str(T) +
                               ",block=" + str(blockSize) + ",kv=" + dtypeName(dtype) + (rawBf16 ? ",vs=f32" : "") +
                               ")";
    if (!c.wants(params)) return;
    Rng rng(seedOf(params));
    AttentionCase ac = makeAttentionCase(c, nb, d, blockSize, dtype, !rawBf16, rng);
    const int qk = d.nope + d.rope, qTokenStride = d.heads * qk + 5;
    const std::vector<float> q = randomVec(rng, static_cast<size_t>(T) * qTokenStride, nb.qScale);
    const double bound = rawBf16 ? kAttnBf16Bound : kAttnBound;
    if (!expanded) {
        const std::vector<float> qLat = randomVec(rng, static_cast<size_t>(T) * d.heads * d.latent, nb.qScale);
        std::vector<float> got(qLat.size()), want(qLat.size());
        c.be.mlaAttentionAbsorbed(qLat.data(), q.data(), qTokenStride, *ac.cache, 1, ac.batch, d, got.data());
        ref::mlaAttentionAbsorbed(qLat.data(), q.data(), qTokenStride, *ac.refCache, 1, ac.batch, d, want.data());
        c.record(op, params, got.data(), want.data(), got.size(), bound);
    } else {
        const std::vector<float> wkvb = randomVec(rng, static_cast<size_t>(d.heads) * (d.nope + d.v) * d.latent,
                                                  static_cast<float>(1.0 / std::sqrt(d.latent)));
        std::vector<float> got(static_cast<size_t>(T) * d.heads * d.v), want(got.size());
        c.be.mlaAttentionExpanded(q.data(), qTokenStride, *ac.cache, 1, ac.batch, wkvb.data(), d, got.data());
        ref::mlaAttentionExpanded(q.data(), qTokenStride, *ac.refCache, 1, ac.batch, wkvb.data(), d, want.data());
        c.record(op, params, got.data(), want.data(), got.size(), bound);
    }
}

// Absorbed attention is batch invariant: every token of a batch (many threads) equals, bit for bit, the same
// token alone in its own batch on a 1-thread backend of the same kernel path.
void checkAttentionBatchInvariance(Checker& c, KvDtype dtype) {
    const NamedDims nd = realDims();
    const MlaDims& d = nd.d;
    const NamedBatch nb = longBatches()[1];
    const std::string params = std::string("mlaAttentionBatchInvariance(dims=real,batch=") + nb.name +
                               ",block=16,kv=" + dtypeName(dtype) + ")";
    if (!c.wants(params)) return;
    Rng rng(seedOf(params));
    AttentionCase ac = makeAttentionCase(c, nb, d, 16, dtype, true, rng);
    const int T = ac.batch.numTokens, qk = d.nope + d.rope, qTokenStride = d.heads * qk;
    const std::vector<float> q = randomVec(rng, static_cast<size_t>(T) * qTokenStride, nb.qScale),
                             qLat = randomVec(rng, static_cast<size_t>(T) * d.heads * d.latent, nb.qScale);
    std::vector<float> batch(qLat.size()), single(qLat.size());
    c.be.mlaAttentionAbsorbed(qLat.data(), q.data(), qTokenStride, *ac.cache, 1, ac.batch, d, batch.data());
    std::unique_ptr<Backend> one = createCpuBackend(1, c.be.kernels().name);
    for (int s = 0; s < ac.batch.numSeqs; ++s) {
        const int begin = ac.seqStarts[s], n = ac.seqStarts[s + 1] - begin;
        for (int k = 0; k < n; ++k) {
            const int t = begin + k;
            const int32_t starts[2] = {0, 1}, ctx = ac.contextLens[s] - n + k + 1;
            AttentionBatch b;
            b.numTokens = 1;
            b.numSeqs = 1;
            b.seqStarts = starts;
            b.contextLens = &ctx;
            b.blockTables = ac.blockTables.data() + static_cast<size_t>(s) * ac.batch.maxBlocksPerSeq;
            b.maxBlocksPerSeq = ac.batch.maxBlocksPerSeq;
            one->mlaAttentionAbsorbed(qLat.data() + static_cast<size_t>(t) * d.heads * d.latent,
                                      q.data() + static_cast<size_t>(t) * qTokenStride, qTokenStride, *ac.cache, 1, b,
                                      d, single.data() + static_cast<size_t>(t) * d.heads * d.latent);
        }
    }
    c.record("mlaAttentionBatchInvariance", params, batch.data(), single.data(), batch.size(), kExact);
}

void checkAbsorbProjections(Checker& c, const NamedDims& nd, int T) {
    const MlaDims& d = nd.d;
    const std::string pq = "mlaAbsorbQuery(dims=" + std::string(nd.name) + ",T=" + str(T) + ")";
    const std::string po = "mlaAbsorbOutput(dims=" + std::string(nd.name) + ",T=" + str(T) + ")";
    const int qk = d.nope + d.rope;
    if (c.wants(pq)) {
        Rng rng(seedOf(pq));
        const int qTokenStride = d.heads * qk + 2;
        const std::vector<float> q = randomVec(rng, static_cast<size_t>(T) * qTokenStride);
        const std::vector<float> wkvb = randomVec(rng, static_cast<size_t>(d.heads) * (d.nope + d.v) * d.latent, 0.2f);
        std::vector<float> got(static_cast<size_t>(T) * d.heads * d.latent), want(got.size());
        c.be.mlaAbsorbQuery(q.data(), qTokenStride, wkvb.data(), d, T, got.data());
        ref::mlaAbsorbQuery(q.data(), qTokenStride, wkvb.data(), d, T, want.data());
        c.record("mlaAbsorbQuery", pq, got.data(), want.data(), got.size(), kProjBound);
    }
    if (c.wants(po)) {
        Rng rng(seedOf(po));
        const std::vector<float> oLat = randomVec(rng, static_cast<size_t>(T) * d.heads * d.latent);
        const std::vector<float> wkvb = randomVec(rng, static_cast<size_t>(d.heads) * (d.nope + d.v) * d.latent, 0.2f);
        std::vector<float> got(static_cast<size_t>(T) * d.heads * d.v), want(got.size());
        c.be.mlaAbsorbOutput(oLat.data(), wkvb.data(), d, T, got.data());
        ref::mlaAbsorbOutput(oLat.data(), wkvb.data(), d, T, want.data());
        c.record("mlaAbsorbOutput", po, got.data(), want.data(), got.size(), kProjBound);
    }
}

// ---- MoE ----

void checkMoe(Checker& c, WeightFormat f, int T, int D, int E, int topK, int I, bool shared, bool normTopk) {
    const std::string params = std::string("moe(format=") + formatName(f) + ",T=" + str(T) + ",D=" + str(D) +
                               ",E=" + str(E) + ",topK=" + str(topK) + ",I=" + str(I) +
                               ",shared=" + (shared ? "1" : "0") + ",norm=" + (normTopk ? "1" : "0") + actTag(c.be, f) +
                               ")";
    if (!c.wants(params)) return;
    Rng rng(seedOf(params));
    std::vector<std::unique_ptr<TestWeight>> sources;
    std::vector<std::unique_ptr<LinearWeights>> prepared;
    auto make = [&](WeightFormat fmt, int rows, int cols) {
        sources.push_back(std::make_unique<TestWeight>(fmt, rows, cols, rng));
        prepared.push_back(c.be.prepareLinear(sources.back()->src));
        return std::make_pair(&sources.back()->src, prepared.back().get());
    };
    ref::RefMoe rm;
    MoeWeights mw;
    const auto router = make(WeightFormat::BF16, E, D);
    rm.router = *router.first;
    mw.router = router.second;
    auto expert = [&](ref::RefExpert& re, ExpertWeights& ew) {
        const auto g = make(f, I, D), u = make(f, I, D), dn = make(f, D, I);
        re.gate = *g.first;
        re.up = *u.first;
        re.down = *dn.first;
        ew.gate = g.second;
        ew.up = u.second;
        ew.down = dn.second;
    };
    rm.experts.resize(E);
    mw.experts.resize(E);
    for (int e = 0; e < E; ++e) expert(rm.experts[e], mw.experts[e]);
    rm.hasShared = mw.hasShared = shared;
    if (shared) expert(rm.shared, mw.shared);
    rm.topK = mw.topK = topK;
    rm.normTopk = mw.normTopk = normTopk;
    rm.routedScale = mw.routedScale = 2.5f;
    const std::vector<float> x = randomVec(rng, static_cast<size_t>(T) * D);
    std::vector<float> got(x.size()), want(x.size());
    c.be.moe(mw, x.data(), T, D, got.data());
    ref::moe(rm, x.data(), T, D, want.data());
    c.record("moe", params, got.data(), want.data(), got.size(), activationBound(c.be, f, true));
}

// Batch invariance: each token of a batched linear must equal, bit for bit, the same token run alone (T = 1).
// int8 path: T = 11 (token blocks 4+4+3). Recorded as op "linearBatchInvariance" with bound 0.
// With f32 activations (checkBatchInvariance) T = 37 takes the GEMM path (T > kTokenBlock, row tiles with an odd
// tail, token blocks 3 + ... + 1) and T = 1 the GEMV, which must agree bit for bit; cols = 1040 / 1008 leave a
// partial GEMM column chunk.
void checkBatchInvariance(Checker& c, WeightFormat f, int T, int rows, int cols) {
    const std::string params = std::string("linearBatchInvariance(format=") + formatName(f) + ",T=" + str(T) +
                               ",rows=" + str(rows) + ",cols=" + str(cols) + actTag(c.be, f) + ")";
    if (!c.wants(params)) return;
    Rng rng(seedOf(params));
    TestWeight tw(f, rows, cols, rng);
    std::unique_ptr<LinearWeights> w = c.be.prepareLinear(tw.src);
    const std::vector<float> x = randomVec(rng, static_cast<size_t>(T) * cols);
    std::vector<float> batch(static_cast<size_t>(T) * rows), single(batch.size());
    c.be.linear(*w, x.data(), cols, T, batch.data(), rows);
    for (int t = 0; t < T; ++t) {
        c.be.linear(*w, x.data() + static_cast<size_t>(t) * cols, cols, 1,
                    single.data() + static_cast<size_t>(t) * rows, rows);
    }
    c.record("linearBatchInvariance", params, batch.data(), single.data(), batch.size(), kExact);
}

// Non-finite activations: token 1 of 3 gets a NaN in one 16-block and token 2 an infinity; every output of those
// two tokens must be non-finite (a quantized path turns the block's scale into NaN) and token 0 must equal its
// own T = 1 result bit for bit. Recorded as op "linearNonFinite": got/want are 1 for a non-finite output, else
// the value, with bound 0.
void checkNonFinite(Checker& c, WeightFormat f, int rows, int cols) {
    const std::string params = std::string("linearNonFinite(format=") + formatName(f) + ",rows=" + str(rows) +
                               ",cols=" + str(cols) + actTag(c.be, f) + ")";
    if (!c.wants(params)) return;
    Rng rng(seedOf(params));
    TestWeight tw(f, rows, cols, rng);
    std::unique_ptr<LinearWeights> w = c.be.prepareLinear(tw.src);
    const int T = 3;
    std::vector<float> x = randomVec(rng, static_cast<size_t>(T) * cols);
    x[static_cast<size_t>(cols) + 5] = NAN;
    x[2 * static_cast<size_t>(cols) + cols - 3] = INFINITY;
    std::vector<float> y(static_cast<size_t>(T) * rows), alone(rows);
    c.be.linear(*w, x.data(), cols, T, y.data(), rows);
    c.be.linear(*w, x.data(), cols, 1, alone.data(), rows);
    std::vector<float> got(y.size()), want(y.size());
    for (int t = 0; t < T; ++t) {
        for (int r = 0; r < rows; ++r) {
            const size_t i = static_cast<size_t>(t) * rows + r;
            got[i] = std::isfinite(y[i]) ? y[i] : 1.0f;
            want[i] = t == 0 ? alone[r] : 1.0f;
        }
    }
    c.record("linearNonFinite", params, got.data(), want.data(), got.size(), kExact);
}

}  // namespace

std::vector<OpCheckResult> runOpChecks(const std::string& filter, const std::string& path) {
    const std::string resolved = resolveCpuPath(path);  // "" = as createCpuBackend: MS4_CPU_PATH, else CPUID
    const int threads = static_cast<int>(std::max(2u, std::thread::hardware_concurrency()));
    std::unique_ptr<Backend> backend = createCpuBackend(threads, resolved);
    Checker c{static_cast<CpuBackend&>(*backend), filter, {}};
    c.be.setNvfp4Activations(cpu::Nvfp4Activations::F32);  // the exact path; quantized activations are checked last
    const WeightFormat formats[] = {WeightFormat::BF16, WeightFormat::FP8, WeightFormat::NVFP4};

    // linear: K = 80 / 208 / 1008 are not multiples of 128 (nor of 32 / 64 for BF16 / FP8 rows)
    for (WeightFormat f : formats) {
        for (int T : {1, 3, 6, 17}) {
            checkLinear(c, f, T, 96, 80, false);
            checkLinear(c, f, T, 33, 208, true);
            checkLinear(c, f, T, 128, 128, false);
            checkLinear(c, f, T, 64, 4096, false);
        }
        checkLinear(c, f, 5, 300, 1008, true);
        if (f != WeightFormat::NVFP4) checkLinear(c, f, 3, 40, 100, true);  // K % 16 != 0
    }
    for (WeightFormat f : formats) checkNonFinite(c, f, 40, 256);
    for (WeightFormat f : formats) {
        checkBatchInvariance(c, f, 37, 71, f == WeightFormat::NVFP4 ? 1024 + 128 : 1040);
        checkBatchInvariance(c, f, 64, 130, f == WeightFormat::NVFP4 ? 4096 : 1008);
    }
    checkRepack(c, 96, 80);
    checkRepack(c, 33, 208);
    checkRepack(c, 7, 1040);
    checkRepack(c, 4, 4096);
    for (WeightFormat f : formats) {
        for (int T : {1, 3, 17}) checkEmbed(c, f, T, 37, f == WeightFormat::NVFP4 ? 80 : 100);
        checkEmbed(c, f, 3, 11, 128);
    }
    for (int T : {1, 3, 17}) {
        checkRmsNorm(c, T, 128, false);
        checkRmsNorm(c, T, 100, true);
        checkRmsNorm(c, T, 4096, false);
    }
    for (int T : {1, 3, 17}) {
        checkRope(c, T, 4, 16, 32, 16);  // q of the tiny model: 4 heads, nope 16 then rope 16
        checkRope(c, T, 1, 32, 48, 16);  // k_pe after the latent (1 head)
        checkRope(c, T, 3, 0, 70, 64);
        checkQueryScale(c, T, 0.1);
    }
    checkQueryScale(c, 3, 0.0);
    for (int T : {1, 7}) {
        for (int bs : {4, 16}) {
            for (KvDtype dt : {KvDtype::F32, KvDtype::BF16}) {
                checkKvWrite(c, T, 32, 16, bs, dt);
                checkKvWrite(c, T, 40, 8, bs, dt);
            }
        }
    }
    for (const NamedDims& nd : {tinyDims(), oddDims()}) {
        for (int T : {1, 3, 17}) checkAbsorbProjections(c, nd, T);
    }
    for (bool expanded : {false, true}) {
        for (const NamedDims& nd : {tinyDims(), oddDims()}) {
            for (const NamedBatch& nb : testBatches()) {
                for (int bs : {4, 16}) {
                    for (KvDtype dt : {KvDtype::F32, KvDtype::BF16}) checkAttention(c, expanded, nd, nb, bs, dt, false);
                }
            }
        }
        checkAttention(c, expanded, tinyDims(), testBatches()[1], 16, KvDtype::BF16, true);
        for (const NamedBatch& nb : longBatches()) {
            for (KvDtype dt : {KvDtype::F32, KvDtype::BF16}) {
                checkAttention(c, expanded, tinyDims(), nb, 16, dt, false);
                // the expanded reference at real dims costs ~50k MACs per (head, entry): absorbed form only
                if (!expanded) checkAttention(c, expanded, realDims(), nb, 16, dt, false);
            }
        }
    }
    for (KvDtype dt : {KvDtype::F32, KvDtype::BF16}) checkAttentionBatchInvariance(c, dt);
    for (WeightFormat f : formats) {
        for (int T : {1, 3, 17}) checkMoe(c, f, T, 128, 8, 4, 64, true, true);
        checkMoe(c, f, 6, 208, 8, 4, 80, true, true);
    }
    checkMoe(c, WeightFormat::BF16, 5, 128, 8, 2, 64, false, false);
    for (size_t n : {size_t{1}, size_t{1000}, size_t{65537}, size_t{300001}}) checkAdd(c, n);

    // NVFP4 with quantized activations (params end in ",act=int16" / ",act=int8"), on this path's kernels.
    for (cpu::Nvfp4Activations a : {cpu::Nvfp4Activations::Int16, cpu::Nvfp4Activations::Int8}) {
        c.be.setNvfp4Activations(a);
        for (int T : {1, 3, 6, 17}) {
            checkLinear(c, WeightFormat::NVFP4, T, 96, 80, false);
            checkLinear(c, WeightFormat::NVFP4, T, 33, 208, true);
            checkLinear(c, WeightFormat::NVFP4, T, 128, 128, false);
            checkLinear(c, WeightFormat::NVFP4, T, 64, 4096, false);
        }
        checkLinear(c, WeightFormat::NVFP4, 5, 300, 1008, true);
        for (int T : {1, 3, 17}) checkMoe(c, WeightFormat::NVFP4, T, 128, 8, 4, 64, true, true);
        checkMoe(c, WeightFormat::NVFP4, 6, 208, 8, 4, 80, true, true);
        checkBatchInvariance(c, WeightFormat::NVFP4, 11, 70, 4096);
        checkNonFinite(c, WeightFormat::NVFP4, 40, 256);
    }
    return std::move(c.results);
}

#ifndef MS4_OP_CHECKS_STANDALONE
Napi::Value OpChecks(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto optionalString = [&](size_t i, const char* what) {
        if (info.Length() <= i || info[i].IsUndefined() || info[i].IsNull()) return std::string();
        if (!info[i].IsString())
            throw Napi::TypeError::New(env, std::string("opChecks: ") + what + " must be a string");
        return info[i].As<Napi::String>().Utf8Value();
    };
    const std::string filter = optionalString(0, "filter"), path = optionalString(1, "path");
    std::vector<OpCheckResult> results;
    try {
        results = runOpChecks(filter, path);
    } catch (const std::exception& e) {
        throw Napi::Error::New(env, std::string("opChecks: ") + e.what());
    }
    Napi::Array out = Napi::Array::New(env, results.size());
    for (size_t i = 0; i < results.size(); ++i) {
        const OpCheckResult& r = results[i];
        Napi::Object o = Napi::Object::New(env);
        o.Set("op", r.op);
        o.Set("params", r.params);
        o.Set("error", r.error);
        o.Set("maxAbsError", r.maxAbsError);
        o.Set("bound", r.bound);
        o.Set("ok", r.ok);
        out.Set(static_cast<uint32_t>(i), o);
    }
    return out;
}
#endif

}  // namespace ms4
