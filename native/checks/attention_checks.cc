// Checks of the paged latent cache write, the absorbed-form query/output projections, both MLA attention forms over
// batches of sequences spread across shuffled pool blocks, and the absorbed form's batch invariance.
#include <algorithm>
#include <cmath>

#include "checks/bounds.h"
#include "checks/op_cases.h"
#include "ref/ref_ops.h"

namespace ms4::checks {

namespace {

const char* dtypeName(KvDtype d) { return d == KvDtype::F32 ? "f32" : "bf16"; }

// The whole cache as floats, layer after layer, read through the backend.
std::vector<float> readCache(Backend& be, const KvCache& cache) {
    const size_t perLayer = static_cast<size_t>(cache.shape.numBlocks) * cache.shape.blockSize * cache.shape.width();
    std::vector<float> out(perLayer * cache.shape.layers);
    for (int l = 0; l < cache.shape.layers; ++l) be.downloadKvLayer(cache, l, out.data() + perLayer * l);
    return out;
}

struct NamedDims {
    const char* name;
    MlaDims d;
};

NamedDims dimsAt(int index) {
    switch (index) {
        case kTinyDims:  // the tiny model: heads, nope, rope, v, latent, softmax scale
            return {"tiny", MlaDims{4, 16, 16, 32, 32, static_cast<float>(1.0 / std::sqrt(32.0))}};
        case kOddDims:  // sizes that leave vector tails everywhere
            return {"odd", MlaDims{2, 24, 8, 20, 40, static_cast<float>(1.0 / std::sqrt(32.0))}};
        default:  // Mistral Small 4 attention
            return {"real", MlaDims{32, 64, 64, 128, 256, static_cast<float>(1.0 / std::sqrt(128.0))}};
    }
}

struct NamedBatch {
    const char* name;
    std::vector<std::pair<int, int>> seqs;  // (new tokens, context length after this step)
    float qScale;                           // larger → sharper softmax
};

// Short batches, then long contexts: several partitions of the absorbed kernel per token, partial last partitions,
// and a sequence whose context is exactly a multiple of the partition size.
const std::vector<NamedBatch>& batches() {
    static const std::vector<NamedBatch> all = {
        {"decode", {{1, 5}, {1, 17}, {1, 33}}, 1.0f},
        {"mixed", {{17, 17}, {3, 40}, {1, 9}}, 1.0f},
        {"long", {{3, 150}}, 3.0f},
        {"long1", {{1, 2048}}, 1.0f},
        {"long3", {{1, 1999}, {3, 1100}, {2, 257}}, 2.0f},
    };
    return all;
}

// A step over shuffled pool blocks, and a cache (backend and reference) filled with random entries.
struct AttentionCase {
    StepArrays step;
    std::unique_ptr<KvCache> cache;
    std::unique_ptr<ref::RefKvCache> refCache;
};

AttentionCase makeAttentionCase(Checker& c, const NamedBatch& nb, const MlaDims& d, int blockSize, KvDtype dtype,
                                bool bf16Exact, Rng& rng) {
    AttentionCase ac;
    StepArrays& st = ac.step;
    int maxBlocks = 0, totalBlocks = 0;
    st.seqStarts.push_back(0);
    for (const auto& s : nb.seqs) {
        const int blocks = (s.second + blockSize - 1) / blockSize;
        maxBlocks = std::max(maxBlocks, blocks);
        totalBlocks += blocks;
        st.seqStarts.push_back(st.seqStarts.back() + s.first);
        st.contextLens.push_back(s.second);
    }
    const int numBlocks = totalBlocks + 3;
    std::vector<int32_t> order(numBlocks);
    for (int i = 0; i < numBlocks; ++i) order[i] = i;
    for (int i = numBlocks - 1; i > 0; --i) std::swap(order[i], order[rng.below(i + 1)]);
    st.blockTables.assign(nb.seqs.size() * maxBlocks, -1);
    int next = 0;
    for (size_t s = 0; s < nb.seqs.size(); ++s) {
        const int blocks = (nb.seqs[s].second + blockSize - 1) / blockSize;
        for (int b = 0; b < blocks; ++b) st.blockTables[s * maxBlocks + b] = order[next++];
    }
    st.numTokens = st.seqStarts.back();
    st.maxBlocksPerSeq = maxBlocks;

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
    StepArrays fill;  // one "step" writing every slot of the pool
    fill.numTokens = slots;
    fill.slotMapping.resize(slots);
    for (int i = 0; i < slots; ++i) fill.slotMapping[i] = i;
    const std::unique_ptr<StepContext> fillCtx = c.be.beginStep(fill.inputs());
    for (int layer = 0; layer < 2; ++layer) {
        std::vector<float> latent = randomVec(rng, static_cast<size_t>(slots) * d.latent),
                           kpe = randomVec(rng, static_cast<size_t>(slots) * d.rope);
        if (bf16Exact) {  // values a BF16 cache holds exactly: the check then measures the kernels alone
            for (float& v : latent) v = roundBf16(v);
            for (float& v : kpe) v = roundBf16(v);
        }
        BackendFloats dl(c.be, latent), dk(c.be, kpe);
        c.be.kvWrite(*ac.cache, layer, dl.get(), d.latent, dk.get(), d.rope, *fillCtx);
        ref::kvWrite(*ac.refCache, layer, latent.data(), d.latent, kpe.data(), d.rope, fill.slotMapping.data(), slots);
    }
    return ac;
}

// wkv_b as a BF16 checkpoint weight [H·(nope+v), L] with values of magnitude `scale`.
std::unique_ptr<TestWeight> randomWkvb(Rng& rng, const MlaDims& d, float scale) {
    const int rows = d.heads * (d.nope + d.v);
    return std::make_unique<TestWeight>(randomVec(rng, static_cast<size_t>(rows) * d.latent, scale), rows, d.latent);
}

}  // namespace

int attentionBatchCount() { return kLongBatchesFrom; }
int attentionLongBatchCount() { return static_cast<int>(batches().size()) - kLongBatchesFrom; }

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
    StepArrays step;
    step.numTokens = T;
    step.slotMapping.resize(T);
    for (int t = 0; t < T; ++t) step.slotMapping[t] = (t % 5 == 4) ? -1 : order[t];  // every fifth token: no entry
    const int ls = L + 3, ks = R + 1;
    const std::vector<float> latent = randomVec(rng, static_cast<size_t>(T) * ls),
                             kpe = randomVec(rng, static_cast<size_t>(T) * ks);
    BackendFloats dl(c.be, latent), dk(c.be, kpe);
    const std::unique_ptr<StepContext> ctx = c.be.beginStep(step.inputs());
    c.be.kvWrite(*cache, 1, dl.get(), ls, dk.get(), ks, *ctx);
    ref::kvWrite(refCache, 1, latent.data(), ls, kpe.data(), ks, step.slotMapping.data(), T);
    const std::vector<float> got = readCache(c.be, *cache);
    if (wantF32) c.record("kvWrite", pF32, got, refCache.data, dtype == KvDtype::F32 ? kExact : kKvBf16Bound);
    if (wantRne) {
        std::vector<float> rounded = refCache.data;
        for (float& v : rounded) v = roundBf16(v);
        c.record("kvWrite", pRne, got, rounded, kExact);
    }
}

void checkAttention(Checker& c, bool expanded, int dimsIndex, int batchIndex, int blockSize, KvDtype dtype,
                    bool rawBf16) {
    const NamedDims nd = dimsAt(dimsIndex);
    const NamedBatch& nb = batches().at(batchIndex);
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
    const StepInputs in = ac.step.inputs();
    const std::unique_ptr<StepContext> ctx = c.be.beginStep(in);
    const int qk = d.nope + d.rope, qTokenStride = d.heads * qk + 5;
    const std::vector<float> q = randomVec(rng, static_cast<size_t>(T) * qTokenStride, nb.qScale);
    const double bound = rawBf16 ? kAttnBf16Bound : kAttnBound;
    BackendFloats dq(c.be, q);
    if (!expanded) {
        const std::vector<float> qLat = randomVec(rng, static_cast<size_t>(T) * d.heads * d.latent, nb.qScale);
        std::vector<float> want(qLat.size());
        BackendFloats dqLat(c.be, qLat), got(c.be, qLat.size());
        c.be.mlaAttentionAbsorbed(dqLat.get(), dq.get(), qTokenStride, *ac.cache, 1, *ctx, d, got.get());
        ref::mlaAttentionAbsorbed(qLat.data(), q.data(), qTokenStride, *ac.refCache, 1, in, d, want.data());
        c.record(op, params, got.host(), want, bound);
    } else {
        const std::unique_ptr<TestWeight> wkvb = randomWkvb(rng, d, static_cast<float>(1.0 / std::sqrt(d.latent)));
        const std::unique_ptr<MlaUpWeights> up = c.be.prepareMlaUp(wkvb->src, d);
        std::vector<float> want(static_cast<size_t>(T) * d.heads * d.v);
        BackendFloats got(c.be, want.size());
        c.be.mlaAttentionExpanded(dq.get(), qTokenStride, *ac.cache, 1, *ctx, *up, got.get());
        ref::mlaAttentionExpanded(q.data(), qTokenStride, *ac.refCache, 1, in, wkvb->dequantized().data(), d,
                                  want.data());
        c.record(op, params, got.host(), want, bound);
    }
}

// Absorbed attention is batch invariant: every token of a batch (many threads) equals, bit for bit, the same token
// alone in its own one-token step on a one-thread backend of the same kind.
void checkAttentionBatchInvariance(Checker& c, KvDtype dtype) {
    const NamedDims nd = dimsAt(kRealDims);
    const MlaDims& d = nd.d;
    const NamedBatch& nb = batches().at(kLongBatchesFrom + 1);
    const std::string params = std::string("mlaAttentionBatchInvariance(dims=real,batch=") + nb.name +
                               ",block=16,kv=" + dtypeName(dtype) + ")";
    if (!c.wants(params)) return;
    Rng rng(seedOf(params));
    AttentionCase ac = makeAttentionCase(c, nb, d, 16, dtype, true, rng);
    const int T = ac.step.numTokens, qk = d.nope + d.rope, qTokenStride = d.heads * qk;
    const std::vector<float> q = randomVec(rng, static_cast<size_t>(T) * qTokenStride, nb.qScale),
                             qLat = randomVec(rng, static_cast<size_t>(T) * d.heads * d.latent, nb.qScale);
    BackendFloats dq(c.be, q), dqLat(c.be, qLat), batch(c.be, qLat.size()), single(c.be, qLat.size());
    const std::unique_ptr<StepContext> ctx = c.be.beginStep(ac.step.inputs());
    c.be.mlaAttentionAbsorbed(dqLat.get(), dq.get(), qTokenStride, *ac.cache, 1, *ctx, d, batch.get());
    std::unique_ptr<Backend> oneThread = c.singleThread ? c.singleThread() : nullptr;
    Backend& one = oneThread ? *oneThread : c.be;  // shares the cache and buffers with c.be
    const StepArrays& st = ac.step;
    for (size_t s = 0; s < st.contextLens.size(); ++s) {
        const int begin = st.seqStarts[s], n = st.seqStarts[s + 1] - begin;
        for (int k = 0; k < n; ++k) {
            const int t = begin + k;
            StepArrays alone;
            alone.numTokens = 1;
            alone.seqStarts = {0, 1};
            alone.contextLens = {st.contextLens[s] - n + k + 1};
            alone.maxBlocksPerSeq = st.maxBlocksPerSeq;
            alone.blockTables.assign(st.blockTables.begin() + static_cast<std::ptrdiff_t>(s) * st.maxBlocksPerSeq,
                                     st.blockTables.begin() + static_cast<std::ptrdiff_t>(s + 1) * st.maxBlocksPerSeq);
            const std::unique_ptr<StepContext> aloneCtx = one.beginStep(alone.inputs());
            one.mlaAttentionAbsorbed(dqLat.get() + static_cast<size_t>(t) * d.heads * d.latent,
                                     dq.get() + static_cast<size_t>(t) * qTokenStride, qTokenStride, *ac.cache, 1,
                                     *aloneCtx, d, single.get() + static_cast<size_t>(t) * d.heads * d.latent);
        }
    }
    c.record("mlaAttentionBatchInvariance", params, batch.host(), single.host(), kExact);
}

void checkAbsorbProjections(Checker& c, int dimsIndex, int T) {
    const NamedDims nd = dimsAt(dimsIndex);
    const MlaDims& d = nd.d;
    const std::string pq = "mlaAbsorbQuery(dims=" + std::string(nd.name) + ",T=" + str(T) + ")";
    const std::string po = "mlaAbsorbOutput(dims=" + std::string(nd.name) + ",T=" + str(T) + ")";
    const int qk = d.nope + d.rope;
    if (c.wants(pq)) {
        Rng rng(seedOf(pq));
        const int qTokenStride = d.heads * qk + 2;
        const std::vector<float> q = randomVec(rng, static_cast<size_t>(T) * qTokenStride);
        const std::unique_ptr<TestWeight> wkvb = randomWkvb(rng, d, 0.2f);
        const std::unique_ptr<MlaUpWeights> up = c.be.prepareMlaUp(wkvb->src, d);
        std::vector<float> want(static_cast<size_t>(T) * d.heads * d.latent);
        BackendFloats dq(c.be, q), got(c.be, want.size());
        c.be.mlaAbsorbQuery(dq.get(), qTokenStride, *up, T, got.get());
        ref::mlaAbsorbQuery(q.data(), qTokenStride, wkvb->dequantized().data(), d, T, want.data());
        c.record("mlaAbsorbQuery", pq, got.host(), want, kProjBound);
    }
    if (c.wants(po)) {
        Rng rng(seedOf(po));
        const std::vector<float> oLat = randomVec(rng, static_cast<size_t>(T) * d.heads * d.latent);
        const std::unique_ptr<TestWeight> wkvb = randomWkvb(rng, d, 0.2f);
        const std::unique_ptr<MlaUpWeights> up = c.be.prepareMlaUp(wkvb->src, d);
        std::vector<float> want(static_cast<size_t>(T) * d.heads * d.v);
        BackendFloats doLat(c.be, oLat), got(c.be, want.size());
        c.be.mlaAbsorbOutput(doLat.get(), *up, T, got.get());
        ref::mlaAbsorbOutput(oLat.data(), wkvb->dequantized().data(), d, T, want.data());
        c.record("mlaAbsorbOutput", po, got.host(), want, kProjBound);
    }
}

}  // namespace ms4::checks
