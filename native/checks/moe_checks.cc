// Checks of the MoE layer: routing, the routed experts and the shared expert against the reference.
#include "checks/bounds.h"
#include "checks/op_cases.h"
#include "ref/ref_ops.h"

namespace ms4::checks {

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
    std::vector<float> want(x.size());
    BackendFloats dx(c.be, x), got(c.be, x.size());
    c.be.moe(mw, dx.get(), T, D, got.get());
    ref::moe(rm, x.data(), T, D, want.data());
    c.record("moe", params, got.host(), want, activationBound(c.be, f, true));
}

}  // namespace ms4::checks
