// Reference vision encoder ops (docs/model.md#vision-tower): plain loops, double arithmetic.
#include <cmath>
#include <vector>

#include "ref/ref_ops.h"

namespace ms4::ref {

void patchRows(const float* pixels, const VisionLayout& l, float* out, int outStride) {
    const int ps = l.patchSize, C = l.channels;
    size_t planeOffset = 0;  // first pixel of the current image
    for (int i = 0; i < l.numImages(); ++i) {
        const int H = l.rows[i] * ps, W = l.cols[i] * ps;
        for (int r = 0; r < l.rows[i]; ++r) {
            for (int c = 0; c < l.cols[i]; ++c) {
                float* row = out + static_cast<size_t>(l.imageStart[i] + r * l.cols[i] + c) * outStride;
                for (int ch = 0; ch < C; ++ch) {
                    for (int ky = 0; ky < ps; ++ky) {
                        for (int kx = 0; kx < ps; ++kx) {
                            row[(ch * ps + ky) * ps + kx] =
                                pixels[planeOffset + (static_cast<size_t>(ch) * H + r * ps + ky) * W + c * ps + kx];
                        }
                    }
                }
            }
        }
        planeOffset += static_cast<size_t>(C) * H * W;
    }
}

void rope2d(float* x, int heads, int tokenStride, int headStride, const VisionLayout& l, const Rope2dParams& rope) {
    const int half = static_cast<int>(rope.rowFreq.size());
    for (int i = 0; i < l.numImages(); ++i) {
        for (int p = 0; p < l.rows[i] * l.cols[i]; ++p) {
            const int row = p / l.cols[i], col = p % l.cols[i];
            float* patch = x + static_cast<size_t>(l.imageStart[i] + p) * tokenStride;
            for (int pair = 0; pair < half + static_cast<int>(rope.colFreq.size()); ++pair) {
                const double angle = pair < half ? row * rope.rowFreq[pair] : col * rope.colFreq[pair - half];
                const double cs = std::cos(angle), sn = std::sin(angle);
                for (int h = 0; h < heads; ++h) {
                    float* v = patch + static_cast<size_t>(h) * headStride + 2 * pair;
                    const double a = v[0], b = v[1];
                    v[0] = static_cast<float>(a * cs - b * sn);
                    v[1] = static_cast<float>(b * cs + a * sn);
                }
            }
        }
    }
}

void visionAttention(const float* q, const float* k, const float* v, int stride, int heads, int headDim, float scale,
                     const VisionLayout& l, float* out, int outStride) {
    std::vector<double> scores, acc(headDim);
    for (int i = 0; i < l.numImages(); ++i) {
        const int s0 = l.imageStart[i], n = l.imageStart[i + 1] - s0;
        scores.resize(n);
        for (int h = 0; h < heads; ++h) {
            for (int t = s0; t < s0 + n; ++t) {
                const float* qt = q + static_cast<size_t>(t) * stride + static_cast<size_t>(h) * headDim;
                double mx = -INFINITY;
                for (int j = 0; j < n; ++j) {
                    const float* kj = k + static_cast<size_t>(s0 + j) * stride + static_cast<size_t>(h) * headDim;
                    double dot = 0;
                    for (int d = 0; d < headDim; ++d) dot += static_cast<double>(qt[d]) * kj[d];
                    scores[j] = dot * scale;
                    mx = std::max(mx, scores[j]);
                }
                double sum = 0;
                for (int j = 0; j < n; ++j) sum += (scores[j] = std::exp(scores[j] - mx));
                std::fill(acc.begin(), acc.end(), 0.0);
                for (int j = 0; j < n; ++j) {
                    const float* vj = v + static_cast<size_t>(s0 + j) * stride + static_cast<size_t>(h) * headDim;
                    for (int d = 0; d < headDim; ++d) acc[d] += scores[j] * vj[d];
                }
                float* o = out + static_cast<size_t>(t) * outStride + static_cast<size_t>(h) * headDim;
                for (int d = 0; d < headDim; ++d) o[d] = static_cast<float>(acc[d] / sum);
            }
        }
    }
}

void siluMul(float* a, int aStride, const float* b, int bStride, int T, int n) {
    for (int t = 0; t < T; ++t) {
        for (int i = 0; i < n; ++i) {
            const double z = a[static_cast<size_t>(t) * aStride + i];
            a[static_cast<size_t>(t) * aStride + i] =
                static_cast<float>(z / (1.0 + std::exp(-z)) * b[static_cast<size_t>(t) * bStride + i]);
        }
    }
}

void gelu(float* x, int stride, int T, int n) {
    for (int t = 0; t < T; ++t) {
        for (int i = 0; i < n; ++i) {
            const double z = x[static_cast<size_t>(t) * stride + i];
            x[static_cast<size_t>(t) * stride + i] = static_cast<float>(0.5 * z * (1.0 + std::erf(z / std::sqrt(2.0))));
        }
    }
}

void mergePatches(const float* x, int width, const VisionLayout& l, float* out) {
    const int m = l.merge, outWidth = width * m * m;
    for (int i = 0; i < l.numImages(); ++i) {
        const int blockCols = l.cols[i] / m;
        for (int b = 0; b < (l.rows[i] / m) * blockCols; ++b) {
            const int br = b / blockCols, bc = b % blockCols;
            float* o = out + static_cast<size_t>(l.tokenStart[i] + b) * outWidth;
            for (int c = 0; c < width; ++c) {
                for (int dy = 0; dy < m; ++dy) {
                    for (int dx = 0; dx < m; ++dx) {
                        const int patch = l.imageStart[i] + (br * m + dy) * l.cols[i] + bc * m + dx;
                        o[(c * m + dy) * m + dx] = x[static_cast<size_t>(patch) * width + c];
                    }
                }
            }
        }
    }
}

void addBias(float* y, int yStride, const float* bias, int T, int n) {
    for (int t = 0; t < T; ++t) {
        for (int i = 0; i < n; ++i) y[static_cast<size_t>(t) * yStride + i] += bias[i];
    }
}

}  // namespace ms4::ref
