#include "checks/synthetic_model.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "backend/number_formats.h"

#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#endif

namespace ms4::checks {

namespace {

uint64_t splitmix(uint64_t& s) {
    uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

// Uniform in [-1, 1).
float uniform(uint64_t& s) {
    return static_cast<float>(static_cast<int64_t>(splitmix(s) >> 40) - (1 << 23)) / (1 << 23);
}

std::string tempFolder(const std::string& wanted) {
    if (!wanted.empty()) return wanted;
#if defined(__unix__)
    if (access("/dev/shm", W_OK) == 0) return "/dev/shm";
#endif
    return "/tmp";  // callers choose another folder through `wanted` (native code reads no environment variable)
}

// Appends tensors to one file and records their ranges.
class Writer {
   public:
    Writer(const std::string& path, uint64_t seed) : path_(path), rng_(seed) {
        file_ = std::fopen(path.c_str(), "wb");
        if (file_ == nullptr) throw std::runtime_error("synthetic model: cannot create " + path);
    }
    ~Writer() {
        if (file_ != nullptr) std::fclose(file_);
    }
    uint64_t finish() {
        if (std::fclose(file_) != 0) throw std::runtime_error("synthetic model: cannot write " + path_);
        file_ = nullptr;
        return offset_;
    }
    std::vector<TensorRange>& ranges() { return ranges_; }
    uint64_t& rng() { return rng_; }

    // A tensor of `bytes` bytes filled by fill(buffer, count) in pieces.
    template <class Fill>
    int add(const std::string& name, uint64_t bytes, Fill fill) {
        const uint64_t pad = (64 - offset_ % 64) % 64;
        static const uint8_t zeros[64] = {};
        if (pad > 0) write(zeros, pad);
        TensorRange r;
        r.name = name;
        r.file = 0;
        r.offset = offset_;
        r.length = bytes;
        std::vector<uint8_t> buf(std::min<uint64_t>(bytes, 1 << 22));
        for (uint64_t done = 0; done < bytes;) {
            const size_t n = static_cast<size_t>(std::min<uint64_t>(bytes - done, buf.size()));
            fill(buf.data(), n);
            write(buf.data(), n);
            done += n;
        }
        ranges_.push_back(r);
        return static_cast<int>(ranges_.size() - 1);
    }

    int addFloat(const std::string& name, float v) {
        return add(name, 4, [v](uint8_t* p, size_t) { std::memcpy(p, &v, 4); });
    }

    // BF16 values uniform with root mean square `rms` around `center`.
    int addBf16(const std::string& name, uint64_t count, float center, float rms) {
        const float half = rms * std::sqrt(3.0f);
        return add(name, 2 * count, [&](uint8_t* p, size_t n) {
            for (size_t i = 0; i + 1 < n; i += 2) {
                const uint16_t b = floatToBf16(center + half * uniform(rng_));
                std::memcpy(p + i, &b, 2);
            }
        });
    }

    int addRandomBytes(const std::string& name, uint64_t count, uint8_t mask, uint8_t base) {
        return add(name, count, [&](uint8_t* p, size_t n) {
            for (size_t i = 0; i < n; i += 8) {
                const uint64_t r = splitmix(rng_);
                for (size_t j = 0; j < 8 && i + j < n; ++j)
                    p[i + j] = static_cast<uint8_t>(((r >> (8 * j)) & mask) + base);
            }
        });
    }

   private:
    void write(const uint8_t* p, size_t n) {
        if (std::fwrite(p, 1, n, file_) != n) throw std::runtime_error("synthetic model: cannot write " + path_);
        offset_ += n;
    }
    std::string path_;
    std::FILE* file_ = nullptr;
    uint64_t offset_ = 0;
    uint64_t rng_;
    std::vector<TensorRange> ranges_;
};

// A linear weight [rows, cols] with rms 1/sqrt(cols) in `format`.
LinearRef addLinear(Writer& w, const std::string& name, WeightFormat format, int rows, int cols) {
    LinearRef ref;
    ref.format = format;
    ref.rows = rows;
    ref.cols = cols;
    const uint64_t n = static_cast<uint64_t>(rows) * cols;
    const float rms = 1.0f / std::sqrt(static_cast<float>(cols));
    switch (format) {
        case WeightFormat::BF16:
            ref.weight = w.addBf16(name + ".weight", n, 0.0f, rms);
            ref.weightDtype = TensorDtype::BF16;
            break;
        case WeightFormat::FP8:
            // Codes with exponent field 0..7 (|v| < 2, no NaN): rms ≈ 0.57.
            ref.weight = w.addRandomBytes(name + ".weight", n, 0xbf, 0);
            ref.weightDtype = TensorDtype::F8_E4M3;
            ref.scale = w.addFloat(name + ".weight_scale", rms / 0.57f);
            ref.scaleDtype = TensorDtype::F32;
            break;
        case WeightFormat::NVFP4:
            // Uniform codes (rms 2.93) and block scales 0.5 .. 1.875 (rms ≈ 1.14): the global divisor sets the rms.
            ref.weight = w.addRandomBytes(name + ".weight_packed", n / 2, 0xff, 0);
            ref.weightDtype = TensorDtype::U8;
            ref.blockScales = w.addRandomBytes(name + ".weight_scale", n / 16, 0x0f, 0x30);
            ref.scale = w.addFloat(name + ".weight_global_scale", 2.93f * 1.14f / rms);
            ref.scaleDtype = TensorDtype::F32;
            break;
    }
    return ref;
}

NormRef addNorm(Writer& w, const std::string& name, int size) {
    NormRef ref;
    ref.weight = w.addBf16(name + ".weight", static_cast<uint64_t>(size), 1.0f, 0.05f);
    ref.dtype = TensorDtype::BF16;
    ref.size = size;
    return ref;
}

}  // namespace

SyntheticModel::SyntheticModel(const SyntheticModelOptions& o) {
    ModelDims& d = spec_.dims;
    if (o.real) {
        d.hidden = 4096;
        d.vocab = 131072;
        d.heads = 32;
        d.qLora = 1024;
        d.kvLora = 256;
        d.nope = 64;
        d.rope = 64;
        d.v = 128;
        d.experts = 128;
    } else {
        d.hidden = 128;
        d.vocab = 2048;
        d.heads = 4;
        d.qLora = 64;
        d.kvLora = 32;
        d.nope = 16;
        d.rope = 16;
        d.v = 32;
        d.experts = 8;
    }
    const int I = o.real ? 2048 : 64;
    d.layers = o.layers;
    d.topK = 4;
    d.normTopk = true;
    d.routedScale = 1.0f;
    d.rmsEps = 1e-6f;
    d.softmaxScale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(d.nope + d.rope)));
    for (int i = 0; i < d.rope / 2; ++i) d.invFreq.push_back(std::pow(10000.0, -2.0 * i / d.rope));
    d.ropeAttentionFactor = 1.0;
    d.queryScaleBeta = 0.1;
    d.queryScaleOriginalMax = 8192;

    static int counter = 0;
    path_ = tempFolder(o.dir) + "/ms4-synthetic-" +
            std::to_string(
#if defined(__unix__) || defined(__APPLE__)
                getpid()
#else
                0
#endif
                    ) +
            "-" + std::to_string(counter++) + ".bin";
    Writer w(path_, o.seed);
    try {
        spec_.embedding.format = WeightFormat::BF16;
        spec_.embedding.rows = d.vocab;
        spec_.embedding.cols = d.hidden;
        spec_.embedding.weight =
            w.addBf16("tok_embeddings.weight", static_cast<uint64_t>(d.vocab) * d.hidden, 0.0f, 1.0f);
        spec_.embedding.weightDtype = TensorDtype::BF16;
        for (int l = 0; l < o.layers; ++l) {
            const std::string p = "layers." + std::to_string(l) + ".";
            LayerRef r;
            r.attentionNorm = addNorm(w, p + "attention_norm", d.hidden);
            r.wqA = addLinear(w, p + "attention.wq_a", o.attention, d.qLora, d.hidden);
            r.qANorm = addNorm(w, p + "attention.q_a_norm", d.qLora);
            r.wqB = addLinear(w, p + "attention.wq_b", o.attention, d.heads * (d.nope + d.rope), d.qLora);
            r.wkvA = addLinear(w, p + "attention.wkv_a_with_mqa", o.attention, d.kvLora + d.rope, d.hidden);
            r.kvANorm = addNorm(w, p + "attention.kv_a_norm", d.kvLora);
            r.wkvB = addLinear(w, p + "attention.wkv_b", o.attention, d.heads * (d.nope + d.v), d.kvLora);
            r.wo = addLinear(w, p + "attention.wo", o.attention, d.hidden, d.heads * d.v);
            r.ffnNorm = addNorm(w, p + "ffn_norm", d.hidden);
            r.router = addLinear(w, p + "gate", WeightFormat::BF16, d.experts, d.hidden);
            auto expert = [&](const std::string& e) {
                return ExpertRef{addLinear(w, e + "w1", o.experts, I, d.hidden),
                                 addLinear(w, e + "w2", o.experts, d.hidden, I),
                                 addLinear(w, e + "w3", o.experts, I, d.hidden)};
            };
            for (int e = 0; e < d.experts; ++e) r.experts.push_back(expert(p + "experts." + std::to_string(e) + "."));
            r.hasShared = true;
            r.shared = expert(p + "shared_experts.");
            spec_.layers.push_back(r);
        }
        spec_.finalNorm = addNorm(w, "norm", d.hidden);
        spec_.lmHead = addLinear(w, "output", WeightFormat::BF16, d.vocab, d.hidden);
        fileBytes_ = w.finish();
        spec_.kv.layers = o.layers;
        spec_.kv.numBlocks = o.numBlocks;
        spec_.kv.blockSize = o.blockSize;
        spec_.kv.latent = d.kvLora;
        spec_.kv.rope = d.rope;
        spec_.kv.dtype = o.kvDtype;
        spec_.maxStepTokens = o.maxStepTokens;
        spec_.logitRowsPerChunk = o.logitRowsPerChunk;
        store_ = std::make_unique<WeightStore>();
        store_->open(
            {FileSpec{path_, fileBytes_}}, w.ranges(), [](const char*, uint64_t, uint64_t) {}, [] { return false; });
    } catch (...) {
        std::remove(path_.c_str());
        throw;
    }
}

SyntheticModel::~SyntheticModel() {
    store_.reset();
    std::remove(path_.c_str());
}

ModelSpec SyntheticModel::spec(int layers) const {
    ModelSpec s = spec_;
    if (layers >= 0 && layers < static_cast<int>(s.layers.size())) {
        s.layers.resize(layers);
        s.dims.layers = layers;
        s.kv.layers = layers;
    }
    return s;
}

}  // namespace ms4::checks
