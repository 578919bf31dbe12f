#include "checks/model_checks.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>

#include "checks/bounds.h"
#include "checks/synthetic_model.h"
#include "model/mistral4.h"

namespace ms4::checks {

namespace {

// A sequence's blocks (consecutive pool blocks) and how many entries it has cached.
struct Sequence {
    int firstBlock = 0;
    int len = 0;
};

// One step's arrays built sequence by sequence.
class StepBuilder {
   public:
    StepBuilder(int blockSize, int maxBlocks) : blockSize_(blockSize), maxBlocks_(maxBlocks) { starts_.push_back(0); }

    // Appends `tokens` as new tokens of `s`; logit rows for all of them (allLogits) or the last one.
    void add(Sequence& s, const std::vector<int32_t>& tokens, bool allLogits) {
        for (size_t i = 0; i < tokens.size(); ++i) {
            const int pos = s.len + static_cast<int>(i);
            if (allLogits || i + 1 == tokens.size()) logitRows_.push_back(static_cast<int32_t>(tokens_.size()));
            tokens_.push_back(tokens[i]);
            positions_.push_back(pos);
            slots_.push_back((s.firstBlock + pos / blockSize_) * blockSize_ + pos % blockSize_);
        }
        s.len += static_cast<int>(tokens.size());
        starts_.push_back(static_cast<int32_t>(tokens_.size()));
        lens_.push_back(s.len);
        for (int b = 0; b < maxBlocks_; ++b) tables_.push_back(s.firstBlock + b);
    }

    StepInputs inputs() const {
        StepInputs in;
        in.numTokens = static_cast<int>(tokens_.size());
        in.tokens = tokens_.data();
        in.positions = positions_.data();
        in.slotMapping = slots_.data();
        in.numSeqs = static_cast<int>(lens_.size());
        in.seqStarts = starts_.data();
        in.contextLens = lens_.data();
        in.blockTables = tables_.data();
        in.maxBlocksPerSeq = maxBlocks_;
        in.numLogitRows = static_cast<int>(logitRows_.size());
        in.logitRows = logitRows_.data();
        return in;
    }
    int logitRows() const { return static_cast<int>(logitRows_.size()); }

   private:
    int blockSize_, maxBlocks_;
    std::vector<int32_t> tokens_, positions_, slots_, starts_, lens_, tables_, logitRows_;
};

std::vector<float> run(Mistral4Model& m, const StepBuilder& b) {
    std::vector<float> logits(static_cast<size_t>(b.logitRows()) * m.dims().vocab);
    m.forward(b.inputs(), logits.data());
    return logits;
}

// The best id of row r and the gap to the second best.
std::pair<int32_t, float> best(const std::vector<float>& logits, int vocab, int r) {
    const float* row = logits.data() + static_cast<size_t>(r) * vocab;
    int top = 0;
    for (int v = 1; v < vocab; ++v) top = row[v] > row[top] ? v : top;
    float second = -INFINITY;
    for (int v = 0; v < vocab; ++v) second = v == top ? second : std::max(second, row[v]);
    return {top, row[top] - second};
}

float maxAbs(const std::vector<float>& v, size_t from, size_t n) {
    float m = 0;
    for (size_t i = from; i < from + n; ++i) m = std::max(m, std::fabs(v[i]));
    return m;
}

std::unique_ptr<Mistral4Model> loadModel(const SyntheticModel& sm, const BackendFactory& make, int layers = -1) {
    return std::make_unique<Mistral4Model>(
        sm.spec(layers), make(), sm.store(), [](const char*, uint64_t, uint64_t) {}, [] { return false; });
}

const char* dtypeName(KvDtype d) { return d == KvDtype::F32 ? "f32" : "bf16"; }

void prefillAndGreedy(Checker& c, const SyntheticModel& sm, const BackendFactory& reference,
                      const BackendFactory& candidate, const std::string& params, KvDtype kv, int continuation) {
    const std::string pPrefill = "modelPrefill" + params, pGreedy = "modelGreedy" + params;
    if (!c.wants(pPrefill) && !c.wants(pGreedy)) return;
    const std::unique_ptr<Mistral4Model> a = loadModel(sm, reference), b = loadModel(sm, candidate);
    const int vocab = a->dims().vocab, bs = sm.spec().kv.blockSize;
    const int maxBlocks = (40 + continuation + bs - 1) / bs;
    std::vector<int32_t> prompt(40);
    for (int i = 0; i < 40; ++i) prompt[i] = (i * 7919 + 13) % vocab;
    Sequence sa, sb;
    StepBuilder stepA(bs, maxBlocks), stepB(bs, maxBlocks);
    stepA.add(sa, prompt, true);
    stepB.add(sb, prompt, true);
    std::vector<float> la = run(*a, stepA), lb = run(*b, stepB);
    // Bounds as the forward tests': float32 rounding through 2 layers, plus BF16 cache rounding where the two
    // backends' latents straddle a rounding boundary.
    if (c.wants(pPrefill)) c.record("modelPrefill", pPrefill, lb, la, kv == KvDtype::F32 ? 1e-4 : 2e-2);
    if (!c.wants(pGreedy)) return;
    std::vector<float> gotTokens, wantTokens;
    int32_t nextA = best(la, vocab, 39).first, nextB = best(lb, vocab, 39).first;
    for (int i = 0; i < continuation; ++i) {
        if (nextA != nextB) {
            const float gap = best(la, vocab, la.size() / vocab - 1).second;
            if (gap < 1e-4f * maxAbs(la, la.size() - vocab, vocab)) break;  // a tie: the comparison ends here
        }
        wantTokens.push_back(static_cast<float>(nextA));
        gotTokens.push_back(static_cast<float>(nextB));
        if (nextA != nextB || sa.len + 1 > maxBlocks * bs) break;
        StepBuilder da(bs, maxBlocks), db(bs, maxBlocks);
        da.add(sa, {nextA}, false);
        db.add(sb, {nextB}, false);
        la = run(*a, da);
        lb = run(*b, db);
        nextA = best(la, vocab, 0).first;
        nextB = best(lb, vocab, 0).first;
    }
    c.record("modelGreedy", pGreedy, gotTokens, wantTokens, kExact);
}

void batchInvariance(Checker& c, const SyntheticModel& sm, const BackendFactory& candidate, const std::string& params) {
    const std::string p = "modelBatchInvariance" + params;
    if (!c.wants(p)) return;
    constexpr int kSeqs = 16, kSteps = 8, kBlocksPerSeq = 4;
    const std::unique_ptr<Mistral4Model> alone = loadModel(sm, candidate), together = loadModel(sm, candidate);
    const int vocab = alone->dims().vocab, bs = sm.spec().kv.blockSize;
    std::vector<Sequence> sa(kSeqs), st(kSeqs);
    std::vector<int32_t> next(kSeqs);
    for (int s = 0; s < kSeqs; ++s) {
        sa[s].firstBlock = st[s].firstBlock = s * kBlocksPerSeq;
        std::vector<int32_t> prompt(3 + s);
        for (size_t i = 0; i < prompt.size(); ++i) prompt[i] = static_cast<int32_t>((s * 131 + i * 17 + 5) % vocab);
        StepBuilder pa(bs, kBlocksPerSeq), pt(bs, kBlocksPerSeq);
        pa.add(sa[s], prompt, false);
        pt.add(st[s], prompt, false);
        next[s] = best(run(*alone, pa), vocab, 0).first;
        run(*together, pt);
    }
    std::vector<float> got, want;
    for (int step = 0; step < kSteps; ++step) {
        StepBuilder all(bs, kBlocksPerSeq);
        for (int s = 0; s < kSeqs; ++s) all.add(st[s], {next[s]}, false);
        const std::vector<float> lt = run(*together, all);
        got.insert(got.end(), lt.begin(), lt.end());
        for (int s = 0; s < kSeqs; ++s) {
            StepBuilder one(bs, kBlocksPerSeq);
            one.add(sa[s], {next[s]}, false);
            const std::vector<float> l1 = run(*alone, one);
            want.insert(want.end(), l1.begin(), l1.end());
            next[s] = best(l1, vocab, 0).first;
        }
    }
    c.record("modelBatchInvariance", p, got, want, kExact);
}

}  // namespace

std::vector<OpCheckResult> runModelChecks(const BackendFactory& reference, const BackendFactory& candidate,
                                          const std::string& filter, int continuation) {
    const std::unique_ptr<Backend> candidateBackend = candidate();
    Checker c{*candidateBackend, filter, nullptr, {}};
    for (WeightFormat f : {WeightFormat::NVFP4, WeightFormat::FP8, WeightFormat::BF16}) {
        for (KvDtype kv : {KvDtype::F32, KvDtype::BF16}) {
            const std::string params = std::string("(format=") + formatName(f) + ",kv=" + dtypeName(kv) + ")";
            if (!c.wants("modelPrefill" + params) && !c.wants("modelGreedy" + params) &&
                !c.wants("modelBatchInvariance" + params)) {
                continue;
            }
            SyntheticModelOptions o;
            o.experts = o.attention = f;
            o.kvDtype = kv;
            o.numBlocks = 96;
            o.maxStepTokens = 64;
            o.logitRowsPerChunk = 64;
            o.seed = 7 + static_cast<uint64_t>(f) * 2 + static_cast<uint64_t>(kv);
            const SyntheticModel sm(o);
            prefillAndGreedy(c, sm, reference, candidate, params, kv, continuation);
            batchInvariance(c, sm, candidate, params);
        }
    }
    return c.results;
}

BenchResult runModelBench(const BackendFactory& make, const BenchParams& p) {
    using Clock = std::chrono::steady_clock;
    const bool real = p.num("real", 1) != 0;
    const int layers = std::max(2, static_cast<int>(p.num("layers", 2)));
    const int ctx = static_cast<int>(p.num("ctx", 1024));
    const int steps = std::max(1, static_cast<int>(p.num("steps", 16))),
              prompt = static_cast<int>(p.num("prompt", 512));
    std::vector<int> batches;
    const std::string list = p.str("batches", std::to_string(static_cast<int>(p.num("batch", 1))));
    for (size_t at = 0; at < list.size();) {
        const size_t comma = std::min(list.find(',', at), list.size());
        batches.push_back(std::stoi(list.substr(at, comma - at)));
        at = comma + 1;
    }
    const int maxBatch = *std::max_element(batches.begin(), batches.end());
    if (maxBatch < 1 || *std::min_element(batches.begin(), batches.end()) < 1 || ctx < 1 || prompt < 1) {
        throw std::runtime_error("modelBench: batches, ctx and prompt must be positive");
    }
    make();  // fails before the synthetic file is written when the backend cannot be created
    SyntheticModelOptions o;
    o.real = real;
    o.layers = layers;
    o.blockSize = 16;
    const int blocksPerSeq = (std::max(ctx + steps + 3, prompt) + o.blockSize - 1) / o.blockSize;
    o.numBlocks = maxBatch * blocksPerSeq;
    o.maxStepTokens = std::max(maxBatch, prompt);
    o.logitRowsPerChunk = std::max(1, std::min(maxBatch, 64));
    const SyntheticModel sm(o);
    // Decode steps at context `ctx`: the cache holds zeros where nothing was written; attention costs the same
    // whatever the entries hold.
    auto decodeMs = [&](Mistral4Model& m, int batch) {
        std::vector<Sequence> seqs(batch);
        for (int s = 0; s < batch; ++s) {
            seqs[s].firstBlock = s * blocksPerSeq;
            seqs[s].len = ctx;
        }
        double total = 0;
        for (int i = -2; i < steps; ++i) {  // two warm-up steps
            StepBuilder b(o.blockSize, blocksPerSeq);
            for (int s = 0; s < batch; ++s) {
                b.add(seqs[s], {static_cast<int32_t>((s * 31 + i + 100) % m.dims().vocab)}, false);
            }
            const auto t0 = Clock::now();
            run(m, b);
            if (i >= 0) total += std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
        }
        return total / steps;
    };
    auto prefillMs = [&](Mistral4Model& m) {
        double bestMs = 1e30;
        for (int i = 0; i < 3; ++i) {
            Sequence s;
            StepBuilder b(o.blockSize, blocksPerSeq);
            std::vector<int32_t> tokens(prompt);
            for (int j = 0; j < prompt; ++j) tokens[j] = (j * 7919 + i) % m.dims().vocab;
            b.add(s, tokens, false);
            const auto t0 = Clock::now();
            run(m, b);
            bestMs = std::min(bestMs, std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        }
        return bestMs;
    };
    std::vector<double> oneLayer, full;
    double prefill;
    uint64_t weightBytes;
    std::string kernelPath;
    {
        const std::unique_ptr<Mistral4Model> m = loadModel(sm, make, 1);
        for (int b : batches) oneLayer.push_back(decodeMs(*m, b));
    }
    {
        const std::unique_ptr<Mistral4Model> m = loadModel(sm, make);
        for (int b : batches) full.push_back(decodeMs(*m, b));
        prefill = prefillMs(*m);
        weightBytes = m->weightBytes();
        kernelPath = m->kernelPath();
    }
    BenchResult r;
    r.set("kernelPath", kernelPath);
    r.set("real", real ? 1 : 0);
    r.set("layers", layers);
    r.set("weightBytes", static_cast<double>(weightBytes));
    r.set("ctx", ctx);
    for (size_t i = 0; i < batches.size(); ++i) {
        const std::string b = "_b" + std::to_string(batches[i]);
        const double layerMs = (full[i] - oneLayer[i]) / (layers - 1), estimate = oneLayer[i] + 35 * layerMs;
        r.set("decodeMsPerStep" + b, full[i]);
        r.set("decodeTokensPerSecond" + b, batches[i] * 1000.0 / full[i]);
        r.set("msPerLayer" + b, layerMs);
        r.set("msOutsideLayers" + b, oneLayer[i] - layerMs);
        r.set("estimate36LayersMsPerStep" + b, estimate);
        r.set("estimate36LayersTokensPerSecond" + b, batches[i] * 1000.0 / estimate);
    }
    r.set("prompt", prompt);
    r.set("prefillMs", prefill);
    r.set("prefillTokensPerSecond", prompt * 1000.0 / prefill);
    return r;
}

}  // namespace ms4::checks
