#include "sampling/truncate.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "sampling/fast_exp.h"

namespace ms4 {

namespace {

constexpr int kLastBucket = 254;      // weights below exp(-kLastBucket / 8) share the last bucket
constexpr uint8_t kZeroWeight = 255;  // never a candidate
constexpr double kBucketsPerNat = 8.0;

// Inverse CDF over the tokens `keep` accepts, in id order. `total` must be their weight sum in the same order.
template <typename Keep>
int32_t drawInIdOrder(const float* w, int vocab, double uniform, Keep keep) {
    double total = 0.0;
    for (int i = 0; i < vocab; ++i) {
        if (keep(i)) total += w[i];
    }
    const double target = uniform * total;
    double acc = 0.0;
    int32_t last = -1;
    for (int i = 0; i < vocab; ++i) {
        if (!keep(i)) continue;
        acc += w[i];
        last = i;
        if (acc > target) return i;
    }
    return last;  // rounding at the very top of the range
}

// Rearranges cand[0, n) so that cand[0, m) are the m best tokens where m is the smallest count whose weight
// sum reaches `target`; returns m (1 <= m <= n). Selects in growing chunks and sorts only the last one.
size_t nucleusCount(int32_t* cand, size_t n, const float* w, BetterToken better, double target) {
    size_t done = 0;
    size_t chunk = 64;
    double acc = 0.0;
    while (done < n) {
        const size_t end = std::min(n, done + chunk);
        if (end < n) std::nth_element(cand + done, cand + end, cand + n, better);
        double chunkSum = 0.0;
        for (size_t i = done; i < end; ++i) chunkSum += w[cand[i]];
        if (acc + chunkSum >= target || end == n) {
            std::sort(cand + done, cand + end, better);
            for (size_t i = done; i < end; ++i) {
                acc += w[cand[i]];
                if (acc >= target) return i + 1;
            }
            return end;
        }
        acc += chunkSum;
        done = end;
        chunk *= 4;
    }
    return n;
}

}  // namespace

int32_t sampleTruncated(const float* x, int vocab, float maxLogit, const TruncateParams& p, double uniform,
                        TruncateScratch& s) {
    const size_t V = static_cast<size_t>(vocab);
    float* w = s.w.data();
    // 1 / temperature, capped so that a subnormal temperature cannot turn 0 * inf into NaN.
    const double invT = std::min(1.0 / static_cast<double>(p.temperature), 1e30);
    if (p.temperature != 1.0f) expShifted(x, vocab, maxLogit, static_cast<float>(invT), w);
    const bool select = p.topK > 0 || p.topP < 1.0f || p.minP > 0.0f;
    if (!select) return drawInIdOrder(w, vocab, uniform, [w](int i) { return w[i] > 0.0f; });

    s.bucket.resize(V);
    uint8_t* bucket = s.bucket.data();
    size_t count[kLastBucket + 1] = {};
    double mass[kLastBucket + 1] = {};
    double total = 0.0;
    for (int i = 0; i < vocab; ++i) {
        const float wi = w[i];
        if (wi > 0.0f) {
            const double d = static_cast<double>(maxLogit - x[i]) * invT;
            const int b = d < kLastBucket / kBucketsPerNat ? static_cast<int>(d * kBucketsPerNat) : kLastBucket;
            bucket[i] = static_cast<uint8_t>(b);
            count[b] += 1;
            mass[b] += wi;
            total += wi;
        } else {
            bucket[i] = kZeroWeight;
        }
    }
    size_t positive = 0;
    for (int b = 0; b <= kLastBucket; ++b) positive += count[b];

    // The bucket where the first cut falls; every token in a bucket before it is kept.
    const bool topK = p.topK > 0 && static_cast<size_t>(p.topK) < positive;
    const bool topP = p.topP < 1.0f;
    int cut = kLastBucket;
    if (topK) {
        size_t cum = 0;
        for (int b = 0; b <= kLastBucket; ++b) {
            cum += count[b];
            if (cum >= static_cast<size_t>(p.topK)) {
                cut = b;
                break;
            }
        }
    } else if (topP) {
        const double target = static_cast<double>(p.topP) * total;
        double cum = 0.0;
        for (int b = 0; b <= kLastBucket; ++b) {
            cum += mass[b];
            if (cum >= target) {
                cut = b;
                break;
            }
        }
    }

    std::vector<int32_t>& cand = s.cand;
    cand.clear();
    for (int i = 0; i < vocab; ++i) {
        if (bucket[i] <= cut) cand.push_back(i);
    }
    const BetterToken better{x};
    size_t n = cand.size();
    if (topK) {
        n = static_cast<size_t>(p.topK);
        std::nth_element(cand.begin(), cand.begin() + (n - 1), cand.end(), better);
        if (topP) {
            double kMass = 0.0;
            for (size_t i = 0; i < n; ++i) kMass += w[cand[i]];
            n = nucleusCount(cand.data(), n, w, better, static_cast<double>(p.topP) * kMass);
        }
    } else if (topP) {
        // Buckets before `cut` are all in; the cut falls inside bucket `cut`: sort just that one.
        const auto boundary = std::partition(cand.begin(), cand.end(), [&](int32_t t) { return bucket[t] < cut; });
        const double target = static_cast<double>(p.topP) * total;
        double acc = 0.0;
        for (auto it = cand.begin(); it != boundary; ++it) acc += w[*it];
        std::sort(boundary, cand.end(), better);
        n = static_cast<size_t>(boundary - cand.begin());
        for (auto it = boundary; it != cand.end() && (n == 0 || acc < target); ++it) {
            acc += w[*it];
            ++n;
        }
    }
    if (p.minP > 0.0f) {
        // prob / maxProb == w, since the max has weight 1.
        const float floor = p.minP;
        size_t k = 0;
        for (size_t i = 0; i < n; ++i) {
            if (w[cand[i]] >= floor) cand[k++] = cand[i];
        }
        n = k;  // >= 1: the max has weight 1 >= minP
    }
    if (n == positive) return drawInIdOrder(w, vocab, uniform, [w](int i) { return w[i] > 0.0f; });

    // The kept set is a prefix of the BetterToken order ending at `worst`; draw over it in id order so the
    // result does not depend on how the selections above permuted `cand`.
    const int32_t worst = *std::max_element(cand.begin(), cand.begin() + n, better);
    const int worstBucket = bucket[worst];
    return drawInIdOrder(w, vocab, uniform,
                         [&](int i) { return bucket[i] <= worstBucket && (i == worst || better(i, worst)); });
}

void topTokens(const float* x, int vocab, int n, int32_t* ids, std::vector<int32_t>& scratch) {
    if (n <= 0) return;
    const BetterToken better{x};
    if (n > 64) {
        scratch.resize(static_cast<size_t>(vocab));
        std::iota(scratch.begin(), scratch.end(), 0);
        std::partial_sort(scratch.begin(), scratch.begin() + n, scratch.end(), better);
        std::copy(scratch.begin(), scratch.begin() + n, ids);
        return;
    }
    // A sorted buffer of the best so far; scanning in id order, a later token displaces only on a strictly
    // greater logit, which keeps ties with the lower id.
    int filled = 0;
    for (int i = 0; i < vocab; ++i) {
        if (filled == n && !(x[i] > x[ids[n - 1]])) continue;
        int j = filled < n ? filled++ : n - 1;
        while (j > 0 && x[ids[j - 1]] < x[i]) {
            ids[j] = ids[j - 1];
            --j;
        }
        ids[j] = i;
    }
}

}  // namespace ms4
