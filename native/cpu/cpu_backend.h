// The CPU backend: Backend implemented with one table of kernels (CpuKernels) picked at run time from CPUID:
// plain C++ ("portable"), AVX2+FMA+F16C ("avx2"), or the AVX2 kernels with AVX-512 VNNI NVFP4 kernels ("avx512").
// Prepared weights and the KV cache live in 64-byte aligned memory the backend owns.
//
// Prepared weight layouts (CpuLinear), rows padded with zeros so kernels have no K tail:
//   BF16   uint16 [rows][kPad], kPad = cols rounded up to 32 (64-byte rows)
//   FP8    uint8  [rows][kPad], kPad = cols rounded up to 64; value = fp8(code) · scale
//   NVFP4  per row, kPad/128 chunks of 72 bytes: 64 bytes of nibbles (byte j: low nibble = element j of the
//          chunk, high nibble = element j + 64) then the chunk's 8 FP8 block scales (block b = elements
//          16b..16b+15); kPad = cols rounded up to 128, padding has zero codes and zero scales;
//          value = e2m1(code) · (fp8(scale) / globalScale)   (docs/cpu-backend.md#weight-layouts)
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "backend/backend.h"
#include "backend/create_backend.h"
#include "cpu/aligned.h"
#include "cpu/quantized_activations.h"
#include "cpu/scratch.h"
#include "cpu/thread_pool.h"

namespace ms4 {

namespace cpu {

constexpr int kNvfp4Chunk = 128;      // weights per repacked chunk
constexpr int kNvfp4ChunkBytes = 72;  // 64 bytes of nibbles + 8 block scales
constexpr int kTokenBlock = 4;        // tokens a linear kernel handles per pass over a weight row
constexpr int kGemmMinTokens = 16;    // from this T on, linear uses CpuKernels::linearGemm when the path has one
// Weight streams are prefetched this far ahead (into L1) by the vector kernels: measured on the 2-core Zen 3 VM, a
// GEMV streaming from DRAM gains ~10 % (BF16) to ~15 % (NVFP4, quantized activations) over the hardware
// prefetcher alone.
constexpr int kPrefetchBytes = 2048;

class CpuLinear : public LinearWeights {
   public:
    int kPad = 0;         // cols padded (see above); kernels read x rows of kPad values
    size_t rowBytes = 0;  // bytes per prepared row
    AlignedPtr data;
    float scale = 1.0f;           // FP8: per-tensor multiplier
    std::vector<float> rowScale;  // FP8 per-channel: one multiplier per row, applied to each output (else empty)
    float globalScale = 1.0f;     // NVFP4: divisor
    float invGlobalScale = 1.0f;
    // FP8: fp8(v) · scale; NVFP4: fp8(v) / globalScale — exactly the factors ref::weightAt multiplies by.
    float table[256] = {};

    const uint8_t* row(int r) const { return data.get() + static_cast<size_t>(r) * rowBytes; }
};

class CpuKvCache : public KvCache {
   public:
    CpuKvCache(const KvCacheShape& s, Pages pages);
    AlignedPtr data;  // per layer contiguous [numBlocks·blockSize][L + R], F32 or BF16
    size_t layerValues() const { return static_cast<size_t>(shape.numBlocks) * shape.blockSize * shape.width(); }
    size_t slotCount() const { return static_cast<size_t>(shape.numBlocks) * shape.blockSize; }
    // First value of `slot` in `layer` (F32: float*, BF16: uint16_t*, as raw bytes).
    uint8_t* slotPtr(int layer, int64_t slot) const {
        return data.get() + (static_cast<size_t>(layer) * layerValues() + static_cast<size_t>(slot) * shape.width()) *
                                shape.bytesPerValue();
    }
};

// One kernel path: the primitive kernels the ops are built from.
struct CpuKernels {
    const char* name;  // "portable", "avx2", "avx512", "avx512-emulated"
    // y[t, r - r0] = Σ_k W[r, k] x[t, k] for r in [r0, r1), t < T <= kTokenBlock; x rows hold w.kPad values.
    void (*linearRows)(const CpuLinear& w, const float* x, int xStride, int T, float* y, int yStride, int r0, int r1);
    // NVFP4 only, quantized activations: as linearRows for any T, with x rows in the q8 / q16 layout (row t at
    // xq + t · xqStride); the kernel picks its own token blocks (a token's arithmetic never depends on them).
    void (*linearRowsQ8)(const CpuLinear& w, const uint8_t* xq, size_t xqStride, int T, float* y, int yStride, int r0,
                         int r1);
    void (*linearRowsQ16)(const CpuLinear& w, const uint8_t* xq, size_t xqStride, int T, float* y, int yStride, int r0,
                          int r1);
    const ActivationLayout* q8Layout;   // the activation rows linearRowsQ8 reads
    const ActivationLayout* q16Layout;  // the activation rows linearRowsQ16 reads
    // Optional (nullptr: linearRows per token block): linearRows for T >= kGemmMinTokens as a GEMM; must give every
    // y[t, r] bit for bit what linearRows gives it (batch invariance).
    void (*linearGemm)(const CpuLinear& w, const float* x, int xStride, int T, float* y, int yStride, int r0, int r1);
    float (*dot)(const float* a, const float* b, int n);
    float (*dotBf16)(const float* a, const uint16_t* b, int n);
    void (*axpy)(float* y, float a, const float* x, int n);  // y += a·x
    void (*axpyBf16)(float* y, float a, const uint16_t* x, int n);
    double (*sumSquares)(const float* x, int n);  // Σ x², double accumulation
    // Vision attention tiles (cpu/vision_attention.cc): s[i, j] = Σ_d q[i·qStride + d] · kt[d·ktStride + j] for
    // i < nq, j < nk (nk a multiple of 16; kt holds the tile's keys transposed, zero padded), and
    // o[i·oStride + d] += Σ_j p[i·pStride + j] · v[j·vStride + d] for i < nq, d < headDim.
    void (*attnScores)(const float* q, int qStride, int nq, const float* kt, int ktStride, int nk, int headDim,
                       float* s, int sStride);
    void (*attnAccumulate)(const float* p, int pStride, int nq, const float* v, int vStride, int nk, int headDim,
                           float* o, int oStride);
    // One online-softmax step over a score tile, per row i < nq: m' = max(m[i], max_j<nk s[i, j]);
    // c = e^(scale·(m[i] − m')) (0 when m[i] = −∞); o[i, :headDim] *= c; l[i] = l[i]·c + Σ_j p_j with
    // p_j = e^(scale·(s[i, j] − m')) written over s[i, j]; m[i] = m'.
    void (*attnSoftmax)(float* s, int sStride, int nq, int nk, float scale, float* m, float* l, float* o, int oStride,
                        int headDim);
};

// The portable attention tiles (the other tables fall back on them for shapes their vector code does not cover).
void attnScoresPortable(const float* q, int qStride, int nq, const float* kt, int ktStride, int nk, int headDim,
                        float* s, int sStride);
void attnAccumulatePortable(const float* p, int pStride, int nq, const float* v, int vStride, int nk, int headDim,
                            float* o, int oStride);
void attnSoftmaxPortable(float* s, int sStride, int nq, int nk, float scale, float* m, float* l, float* o, int oStride,
                         int headDim);

const CpuKernels& portableKernels();
const CpuKernels* avx2Kernels();  // nullptr when not compiled in (non-x86)
// AVX2 kernels with the NVFP4 quantized-activation kernels on AVX-512 VNNI (vpdpbusd / vpdpwssd); nullptr when not
// compiled in. The "emulated" table runs the same kernel source through SIMDe's portable AVX-512 (a test path:
// compiled only when SIMDe's headers are present at build time, never chosen automatically).
const CpuKernels* avx512Kernels();
const CpuKernels* avx512EmulatedKernels();

// Dequantization of prepared row r into out[0..kPad) (padding reads as zero), without a per-channel FP8 row
// scale: what the linear kernels multiply by (linearRowsPadded applies row scales to their outputs).
void decodeRow(const CpuLinear& w, int r, float* out);
// The exact weights of row r: decodeRow times the row's per-channel scale, if any.
void decodeRowExact(const CpuLinear& w, int r, float* out);
// NVFP4 checkpoint layout → repacked rows (see the layout above); `out` holds rows·(kPad/128)·72 bytes.
void repackNvfp4(const LinearSource& src, int kPad, uint8_t* out);

// wkv_b for the MLA ops: float32 [H·(nope+v), L], dequantized exactly (cpu::decodeRow) at load.
class CpuMlaUp : public MlaUpWeights {
   public:
    AlignedPtr data;
    const float* values() const { return reinterpret_cast<const float*>(data.get()); }
};

// A step on the CPU: views of the caller's host arrays (valid for the step), checked once at beginStep, and the
// per-token facts the attention ops need (sequence of each token, entries it sees).
class CpuStepContext : public StepContext {
   public:
    explicit CpuStepContext(const StepInputs& in) : StepContext(in), in(in) {}
    const StepInputs in;
    std::vector<int> seqOf;    // [T] sequence of each token
    std::vector<int> visible;  // [T] cache entries each token sees
};

// A vision pass on the CPU: the checked layout and each patch's grid row and column.
class CpuVisionContext : public VisionContext {
   public:
    explicit CpuVisionContext(VisionLayout l)
        : VisionContext(l.numImages(), l.numPatches(), l.numTokens(), l.channels, l.patchSize, l.merge),
          layout(std::move(l)) {}
    const VisionLayout layout;
    std::vector<int> row, col;  // [numPatches]
};

}  // namespace cpu

class CpuBackend : public Backend {
   public:
    CpuBackend(int threads, const cpu::CpuKernels& kernels, cpu::Nvfp4Activations acts = cpu::Nvfp4Activations::F32,
               bool hugePages = true);

    const char* name() const override { return "cpu"; }
    std::string kernelPath() const override { return std::string("cpu-") + k_.name; }
    std::string nvfp4ActivationsName() const override { return cpu::nvfp4ActivationsName(acts_); }
    int threads() const { return pool_.size(); }
    cpu::ThreadPool& pool() { return pool_; }

    float* allocFloats(size_t count) override;
    void freeFloats(float* p) override;
    void upload(float* dst, const float* src, size_t count) override;
    void download(float* dst, const float* src, size_t count) override;
    void synchronize() override {}

    std::unique_ptr<LinearWeights> prepareLinear(const LinearSource& src) override;
    std::unique_ptr<MlaUpWeights> prepareMlaUp(const LinearSource& wkvb, const MlaDims& d) override;
    std::unique_ptr<KvCache> allocKvCache(const KvCacheShape& shape) override;
    void downloadKvLayer(const KvCache& cache, int layer, float* out) override;

    std::unique_ptr<StepContext> beginStep(const StepInputs& in) override;

    void linear(const LinearWeights& w, const float* x, int xStride, int T, float* y, int yStride) override;
    void embedTokens(const LinearWeights& table, const StepContext& step, float* out) override;
    void gatherLogitRows(const float* x, int xStride, int width, const StepContext& step, int first, int count,
                         float* out) override;
    void rmsNorm(const float* x, int xStride, const float* w, int T, int n, float eps, float* y, int yStride) override;
    void ropeInterleaved(float* x, int heads, int tokenStride, int headStride, const StepContext& step,
                         const RopeParams& rope) override;
    void queryScale(float* x, int n, int stride, const StepContext& step, const QueryScaling& s) override;
    void kvWrite(KvCache& cache, int layer, const float* latent, int latentStride, const float* kpe, int kpeStride,
                 const StepContext& step) override;
    void mlaAbsorbQuery(const float* q, int qTokenStride, const MlaUpWeights& wkvb, int T, float* qLat) override;
    void mlaAttentionAbsorbed(const float* qLat, const float* q, int qTokenStride, const KvCache& cache, int layer,
                              const StepContext& step, const MlaDims& d, float* oLat) override;
    void mlaAbsorbOutput(const float* oLat, const MlaUpWeights& wkvb, int T, float* out) override;
    void mlaAttentionExpanded(const float* q, int qTokenStride, const KvCache& cache, int layer,
                              const StepContext& step, const MlaUpWeights& wkvb, float* out) override;
    void moe(const MoeWeights& w, const float* x, int T, int D, float* y) override;
    void addInPlace(float* y, const float* x, size_t n) override;

    std::unique_ptr<VisionContext> beginVision(const VisionInputs& in) override;
    void patchRows(const float* pixels, const VisionContext& v, float* out, int outStride) override;
    void rope2d(float* x, int heads, int tokenStride, int headStride, const VisionContext& v,
                const Rope2dParams& rope) override;
    void visionAttention(const float* q, const float* k, const float* v, int stride, int heads, int headDim,
                         float scale, const VisionContext& ctx, float* out, int outStride) override;
    void siluMul(float* a, int aStride, const float* b, int bStride, int T, int n) override;
    void gelu(float* x, int stride, int T, int n) override;
    void mergePatches(const float* x, int width, const VisionContext& v, float* out) override;
    void addBias(float* y, int yStride, const float* bias, int T, int n) override;

    // linear() over rows [r0, r1) only, on the calling thread: y[t, r - r0] (y points at output column r0);
    // x rows must hold w.kPad values (zero padded).
    void linearRowsPadded(const cpu::CpuLinear& w, const float* x, int xStride, int T, float* y, int yStride, int r0,
                          int r1) const;
    // linearRowsPadded with x already quantized in this backend's activation mode (w must be NVFP4).
    void linearRowsQuantized(const cpu::CpuLinear& w, const uint8_t* xq, size_t xqStride, int T, float* y, int yStride,
                             int r0, int r1) const;
    // Whether NVFP4 weights take quantized (int16 / int8) activations on this backend (see Nvfp4Activations).
    bool nvfp4Quantized() const { return acts_ != cpu::Nvfp4Activations::F32; }
    // The quantized activation rows of this backend's mode and kernel path (nvfp4Quantized() only).
    size_t activationRowBytes(int kPad) const { return activationLayout().rowBytes(kPad); }
    void quantizeActivations(const float* x, int kPad, uint8_t* out) const {
        activationLayout().quantize(x, kPad, out);
    }
    cpu::Nvfp4Activations nvfp4Activations() const { return acts_; }
    const cpu::CpuKernels& kernels() const { return k_; }
    // Pages for long-lived blocks (weights, the KV pool): huge-page advice unless turned off.
    cpu::Pages longLivedPages() const { return hugePages_ ? cpu::Pages::Huge : cpu::Pages::Normal; }

   private:
    const cpu::ActivationLayout& activationLayout() const {
        return acts_ == cpu::Nvfp4Activations::Int8 ? *k_.q8Layout : *k_.q16Layout;
    }
    const cpu::CpuKernels& k_;
    cpu::Nvfp4Activations acts_;
    bool hugePages_;
    cpu::ThreadPool pool_;
    cpu::ScratchPool scratch_;  // per-step buffers of linear and moe, kept between steps (cpu/scratch.h)
};

// A CPU backend for `options` (threads, kernel path, NVFP4 activations, huge pages): see CpuBackendOptions.
// Throws when the path or the activation mode is unknown or this CPU / build cannot run the path.
std::unique_ptr<CpuBackend> createCpuBackend(const CpuBackendOptions& options);
// The NVFP4 activation mode on kernel path `path`: `requested` ("f32" | "int16" | "int8"), or for "" / "auto" the
// path's default: int16 on the vector paths (2x the exact path's speed, error ~1e-5), f32 on portable (the exact
// oracle). Throws on an unknown value.
cpu::Nvfp4Activations resolveNvfp4Activations(const std::string& path, const std::string& requested);
// The kernel path to run for `requested` ("portable" / "avx2" / "avx512" / "avx512-emulated"), or for "" / "auto"
// the best this CPU runs (avx512 > avx2 > portable, by CPUID; never the emulated test path); throws when the CPU or
// build cannot run the requested path.
std::string resolveCpuPath(const std::string& requested);
// The kernel table of a path resolveCpuPath returned.
const cpu::CpuKernels& cpuKernelsFor(const std::string& path);

// The prepared (CPU-layout) form of a weight, or an error when it came from another backend.
const cpu::CpuLinear& asCpuLinear(const LinearWeights& w);
const cpu::CpuMlaUp& asCpuMlaUp(const MlaUpWeights& w);
const cpu::CpuKvCache& asCpuKvCache(const KvCache& c);
const cpu::CpuStepContext& asCpuStep(const StepContext& s);
const cpu::CpuVisionContext& asCpuVision(const VisionContext& v);

}  // namespace ms4
