// Reference MoE: softmax routing → top-k (ties to the lower index) → renormalise → × routed scale; SwiGLU
// experts; the shared expert added with weight 1 (docs/model.md#moe).
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "ref/ref_ops.h"

namespace ms4::ref {

namespace {
void expertForward(const RefExpert& e, const float* x, int D, double weight, std::vector<double>& acc) {
    const int I = e.gate.rows;
    std::vector<float> g(I), u(I), h(I), y(D);
    linear(e.gate, x, D, 1, g.data(), I);
    linear(e.up, x, D, 1, u.data(), I);
    for (int i = 0; i < I; ++i) {
        const double gi = g[i];
        h[i] = static_cast<float>(gi / (1.0 + std::exp(-gi)) * u[i]);
    }
    linear(e.down, h.data(), I, 1, y.data(), D);
    for (int i = 0; i < D; ++i) acc[i] += weight * y[i];
}
}  // namespace

void moeRoute(const RefMoe& w, const float* x, int D, std::vector<int>& experts, std::vector<float>& weights) {
    const int E = w.router.rows;
    std::vector<float> logits(E);
    linear(w.router, x, D, 1, logits.data(), E);
    const double maxLogit = *std::max_element(logits.begin(), logits.end());
    std::vector<double> p(E);
    double sum = 0;
    for (int e = 0; e < E; ++e) sum += (p[e] = std::exp(logits[e] - maxLogit));
    for (double& v : p) v /= sum;
    std::vector<int> order(E);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return p[a] > p[b]; });
    experts.assign(order.begin(), order.begin() + w.topK);
    double topSum = 0;
    for (int e : experts) topSum += p[e];
    weights.clear();
    for (int e : experts) {
        const double wk = w.normTopk ? p[e] / (topSum + 1e-20) : p[e];
        weights.push_back(static_cast<float>(wk * w.routedScale));
    }
}

void moe(const RefMoe& w, const float* x, int T, int D, float* y) {
    std::vector<int> experts;
    std::vector<float> weights;
    for (int t = 0; t < T; ++t) {
        const float* xt = x + static_cast<size_t>(t) * D;
        std::vector<double> acc(D, 0.0);
        moeRoute(w, xt, D, experts, weights);
        for (size_t k = 0; k < experts.size(); ++k) expertForward(w.experts[experts[k]], xt, D, weights[k], acc);
        if (w.hasShared) expertForward(w.shared, xt, D, 1.0, acc);
        for (int i = 0; i < D; ++i) y[static_cast<size_t>(t) * D + i] = static_cast<float>(acc[i]);
    }
}

}  // namespace ms4::ref
