#include "checks/check_harness.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "ref/ref_ops.h"

namespace ms4::checks {

uint64_t Rng::next() {
    uint64_t z = (s_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

double Rng::uniform() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }

float Rng::normal() {
    const double u1 = 1.0 - uniform(), u2 = uniform();
    return static_cast<float>(std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2));
}

int Rng::below(int n) { return static_cast<int>(next() % static_cast<uint64_t>(n)); }

uint64_t seedOf(const std::string& s) {
    uint64_t h = 1469598103934665603ULL;
    for (char ch : s) h = (h ^ static_cast<uint8_t>(ch)) * 1099511628211ULL;
    return h;
}

std::vector<float> randomVec(Rng& rng, size_t n, float scale) {
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

std::string str(int v) { return std::to_string(v); }

TestWeight::TestWeight(WeightFormat f, int rows, int cols, Rng& rng) {
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

TestWeight::TestWeight(const std::vector<float>& values, int rows, int cols) {
    src.format = WeightFormat::BF16;
    src.rows = rows;
    src.cols = cols;
    data.resize(2 * values.size());
    for (size_t i = 0; i < values.size(); ++i) {
        const uint16_t v = ref::floatToBf16(values[i]);
        std::memcpy(data.data() + 2 * i, &v, 2);
    }
    src.data = data.data();
}

std::vector<float> TestWeight::dequantized() const {
    std::vector<float> out(static_cast<size_t>(src.rows) * src.cols);
    for (int r = 0; r < src.rows; ++r) ref::weightRow(src, r, out.data() + static_cast<size_t>(r) * src.cols);
    return out;
}

BackendFloats::BackendFloats(Backend& be, size_t n) : be_(be), data_(be.allocFloats(n)), size_(n) {}

BackendFloats::BackendFloats(Backend& be, const std::vector<float>& host) : BackendFloats(be, host.size()) {
    be_.upload(data_, host.data(), size_);
}

BackendFloats::~BackendFloats() { be_.freeFloats(data_); }

std::vector<float> BackendFloats::host() const {
    std::vector<float> v(size_);
    be_.download(v.data(), data_, size_);
    return v;
}

StepInputs StepArrays::inputs() const {
    StepInputs in;
    in.numTokens = numTokens;
    in.tokens = tokens.empty() ? nullptr : tokens.data();
    in.positions = positions.empty() ? nullptr : positions.data();
    in.slotMapping = slotMapping.empty() ? nullptr : slotMapping.data();
    in.numSeqs = contextLens.empty() ? 0 : static_cast<int>(contextLens.size());
    in.seqStarts = seqStarts.empty() ? nullptr : seqStarts.data();
    in.contextLens = contextLens.empty() ? nullptr : contextLens.data();
    in.blockTables = blockTables.empty() ? nullptr : blockTables.data();
    in.maxBlocksPerSeq = maxBlocksPerSeq;
    in.numLogitRows = static_cast<int>(logitRows.size());
    in.logitRows = logitRows.empty() ? nullptr : logitRows.data();
    in.numInputRows = static_cast<int>(inputRows.size());
    in.inputRows = inputRows.empty() ? nullptr : inputRows.data();
    in.inputEmbeddings = inputEmbeddings.empty() ? nullptr : inputEmbeddings.data();
    in.embeddingWidth = embeddingWidth;
    return in;
}

void Checker::record(const std::string& op, const std::string& params, const float* got, const float* want, size_t n,
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

void Checker::record(const std::string& op, const std::string& params, const std::vector<float>& got,
                     const std::vector<float>& want, double bound) {
    if (got.size() != want.size()) {
        const float nan = NAN;
        record(op, params + " [size mismatch]", &nan, &nan, 1, bound);
        return;
    }
    record(op, params, got.data(), want.data(), got.size(), bound);
}

}  // namespace ms4::checks
