// Kernel benchmarks of any Backend on synthetic weights at real sizes, with the weights out of cache (each call
// rotates over enough copies that the bytes touched exceed the L3 many times over), and the memory read bandwidth
// they are compared with.
//   "bandwidth": memory read bandwidth, every thread streaming its share of one buffer (vector loads, all lanes
//                accumulated so no load can be elided); best of `passes`.
//   "linear":    one Backend::linear (GEMV at T = 1) of a [rows, cols] weight in format bf16 | fp8 | nvfp4.
//   "moeLayer":  one Backend::moe: 4 routed experts (router over exactly those 4, top-4) + the shared expert,
//                gate/up [I, D] and down [D, I] each.
//   "visionEncoder": one PixtralEncoder::encode of a `columns` × `rows`-token image at the real tower sizes
//                (synthetic BF16 weights, `layers` layers sharing one layer's weights); flops from the encoder.
//   "visionAttention": one Backend::visionAttention over a `patchRows` × `patchCols` image, 16 heads of 64.
//   "mlaDecode": one Backend::mlaAttentionAbsorbed for `seqs` decoding tokens (default 1), each over a context
//                of `ctx` entries of a BF16 (or kv "f32") latent cache, block size 16, real dims (H 32, L 256,
//                R 64); bytes = cache bytes read, flops = 2 · H · (2L + R) · ctx per token.
//   "model":     decode steps and prefill of a synthetic model (checks/model_checks.h, runModelBench).
//   "fmaPeak":   the fp32 FMA peak of the run's threads: each thread runs independent FMA chains on registers
//                (`width` 256 or 512 bits, default the widest the CPU has); flops = 2 · lanes per FMA.
// Params (all optional): device ("cpu" | "cuda" | "cuda:N"), threads, path ("portable" | "avx2" | "avx512"), act
// ("f32" | "int16" | "int8"), T, rows, cols, format, D, I, ctx, seqs, kv, minBytes (bytes of distinct weights to
// rotate over, default 512 MiB), iters, bytes, passes. Returns { bytes (per call), seconds (mean per call),
// bestSeconds, gbps, bestGbps, calls, ... }.
// On the CPU each call is timed alone. On a CUDA device "bandwidth" is the device-to-device copy bandwidth (bytes read
// plus written) and a pass of calls over every copy is captured into a CUDA graph and replayed, timed with device
// events, so the numbers are the kernels' own time without launch overhead (bestSeconds: the best replay).
#include "checks/kernel_bench.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "backend/create_backend.h"
#include "checks/check_harness.h"
#include "checks/model_checks.h"
#include "cpu/aligned.h"
#include "cpu/cpu_features.h"
#include "cpu/thread_pool.h"
#include "cuda_bridge.h"
#include "model/pixtral.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define MS4_BENCH_AVX2 1
#endif

namespace ms4::checks {

double BenchParams::num(const std::string& k, double d) const {
    const auto it = nums.find(k);
    return it == nums.end() ? d : it->second;
}

std::string BenchParams::str(const std::string& k, const std::string& d) const {
    const auto it = strs.find(k);
    return it == strs.end() ? d : it->second;
}

void BenchResult::set(const std::string& k, double v) { values.push_back({k, v, "", false}); }
void BenchResult::set(const std::string& k, const std::string& v) { values.push_back({k, 0, v, true}); }
double BenchResult::number(const std::string& k) const {
    for (const Value& v : values)
        if (v.key == k && !v.isString) return v.number;
    throw std::runtime_error("kernelBench: no result " + k);
}

namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

uint64_t mix(uint64_t& s) {  // splitmix64
    uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

// The `threads` param, else every hardware thread.
int benchThreads(const BenchParams& p) {
    const int threads = static_cast<int>(p.num("threads", 0));
    return threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

// n values in [-1, 1] in steps of 1e-3.
std::vector<float> randomFloats(size_t n, uint64_t seed) {
    std::vector<float> v(n);
    for (float& f : v) f = static_cast<float>(static_cast<int64_t>(mix(seed) % 2001) - 1000) * 1e-3f;
    return v;
}

// Every slot of every layer of `cache`, written through the backend in chunks.
void fillCache(Backend& be, KvCache& cache, uint64_t seed) {
    const KvCacheShape& s = cache.shape;
    const int slots = s.numBlocks * s.blockSize, chunk = 1 << 14;
    std::vector<int32_t> mapping(chunk);
    for (int layer = 0; layer < s.layers; ++layer) {
        for (int first = 0; first < slots; first += chunk) {
            const int n = std::min(chunk, slots - first);
            for (int i = 0; i < n; ++i) mapping[i] = first + i;
            StepInputs in;
            in.numTokens = n;
            in.slotMapping = mapping.data();
            const std::unique_ptr<StepContext> step = be.beginStep(in);
            BackendFloats values(be, randomFloats(static_cast<size_t>(n) * s.width(), seed++));
            be.kvWrite(cache, layer, values.get(), s.width(), values.get() + s.latent, s.width(), *step);
        }
    }
}

// ---- memory read bandwidth ----
#ifdef MS4_BENCH_AVX2
__attribute__((target("avx2"))) uint64_t readSumAvx2(const uint8_t* p, size_t n) {
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    size_t i = 0;
    for (; i + 128 <= n; i += 128) {
        a0 = _mm256_add_epi64(a0, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i)));
        a1 = _mm256_add_epi64(a1, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 32)));
        a2 = _mm256_add_epi64(a2, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 64)));
        a3 = _mm256_add_epi64(a3, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 96)));
    }
    alignas(32) uint64_t lanes[4];
    _mm256_store_si256(reinterpret_cast<__m256i*>(lanes),
                       _mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3)));
    uint64_t s = lanes[0] + lanes[1] + lanes[2] + lanes[3];
    for (; i < n; ++i) s += p[i];
    return s;
}
#endif

uint64_t readSumScalar(const uint8_t* p, size_t n) {
    uint64_t a[4] = {0, 0, 0, 0};
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        for (int j = 0; j < 4; ++j) {
            uint64_t v;
            std::memcpy(&v, p + i + 8 * j, 8);
            a[j] += v;
        }
    }
    uint64_t s = a[0] + a[1] + a[2] + a[3];
    for (; i < n; ++i) s += p[i];
    return s;
}

BenchResult benchBandwidth(const BenchParams& p, int threads) {
    const size_t bytes = static_cast<size_t>(p.num("bytes", 1024.0 * 1024 * 1024)) / 4096 * 4096;
    const int passes = std::max(1, static_cast<int>(p.num("passes", 5)));
    cpu::ThreadPool pool(threads);
    cpu::AlignedPtr buf = cpu::alignedAlloc(bytes, "the bandwidth buffer", cpu::Pages::Huge);
    const size_t per = (bytes / threads + 4095) / 4096 * 4096;
    pool.parallelFor(threads, [&](int64_t b, int64_t e) {  // first touch by the thread that reads it
        for (int64_t t = b; t < e; ++t) {
            const size_t off = t * per, n = std::min(bytes, off + per) - std::min(bytes, off);
            for (size_t i = 0; i < n; ++i) buf.get()[off + i] = static_cast<uint8_t>(i * 131 + t);
        }
    });
    const bool avx2 = cpuFeatures().avx2;
    std::vector<uint64_t> sums(threads);
    double best = 1e30, total = 0;
    uint64_t check = 0;
    for (int pass = 0; pass < passes; ++pass) {
        const auto t0 = Clock::now();
        pool.parallelFor(threads, [&](int64_t b, int64_t e) {
            for (int64_t t = b; t < e; ++t) {
                const size_t off = std::min(bytes, t * per), n = std::min(bytes, off + per) - off;
#ifdef MS4_BENCH_AVX2
                sums[t] = avx2 ? readSumAvx2(buf.get() + off, n) : readSumScalar(buf.get() + off, n);
#else
                sums[t] = readSumScalar(buf.get() + off, n);
#endif
            }
        });
        const double s = secondsSince(t0);
        best = std::min(best, s);
        total += s;
        for (uint64_t v : sums) check += v;
    }
    BenchResult r;
    r.set("bytes", static_cast<double>(bytes));
    r.set("threads", threads);
    r.set("passes", passes);
    r.set("bestSeconds", best);
    r.set("seconds", total / passes);
    r.set("bestGbps", bytes / best / 1e9);
    r.set("gbps", bytes / (total / passes) / 1e9);
    r.set("checksum", static_cast<double>(check % 1000003));  // keeps every load observable
    return r;
}

// ---- fp32 FMA peak ----
// `iters` rounds of 12 independent FMA chains (more than latency × throughput on current cores), all in registers.
#ifdef MS4_BENCH_AVX2
__attribute__((target("avx2,fma"))) float fmaLoop256(int64_t iters, float seed) {
    __m256 a[12];
    const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    for (int i = 0; i < 12; ++i) a[i] = _mm256_set1_ps(seed + static_cast<float>(i));
    for (int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 12
        for (int i = 0; i < 12; ++i) a[i] = _mm256_fmadd_ps(a[i], m, c);
    }
    __m256 s = a[0];
    for (int i = 1; i < 12; ++i) s = _mm256_add_ps(s, a[i]);
    alignas(32) float l[8];
    _mm256_store_ps(l, s);
    return l[0] + l[7];
}
__attribute__((target("avx512f"))) float fmaLoop512(int64_t iters, float seed) {
    __m512 a[12];
    const __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
    for (int i = 0; i < 12; ++i) a[i] = _mm512_set1_ps(seed + static_cast<float>(i));
    for (int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 12
        for (int i = 0; i < 12; ++i) a[i] = _mm512_fmadd_ps(a[i], m, c);
    }
    __m512 s = a[0];
    for (int i = 1; i < 12; ++i) s = _mm512_add_ps(s, a[i]);
    alignas(64) float l[16];
    _mm512_store_ps(l, s);
    return l[0] + l[15];
}
#endif

BenchResult benchFmaPeak(const BenchParams& p, int threads) {
#ifdef MS4_BENCH_AVX2
    const CpuFeatures& f = cpuFeatures();
    const int width = static_cast<int>(p.num("width", f.avx512f ? 512 : 256));
    if (width != 256 && width != 512) throw std::runtime_error("kernelBench: fmaPeak width must be 256 or 512");
    if (!f.fma || (width == 512 && !f.avx512f)) throw std::runtime_error("kernelBench: this CPU has no such FMA");
    const int64_t iters = static_cast<int64_t>(p.num("iters", 2e7));
    const int passes = std::max(1, static_cast<int>(p.num("passes", 5)));
    cpu::ThreadPool pool(threads);
    std::vector<float> sink(threads);
    double best = 1e30, total = 0;
    for (int pass = 0; pass < passes; ++pass) {
        const auto t0 = Clock::now();
        pool.parallelFor(threads, [&](int64_t b, int64_t e) {
            for (int64_t t = b; t < e; ++t) {
                sink[t] =
                    width == 512 ? fmaLoop512(iters, static_cast<float>(t)) : fmaLoop256(iters, static_cast<float>(t));
            }
        });
        const double s = secondsSince(t0);
        best = std::min(best, s);
        total += s;
    }
    const double flops = 2.0 * (width / 32) * 12.0 * static_cast<double>(iters) * threads;
    BenchResult r;
    r.set("width", width);
    r.set("threads", threads);
    r.set("passes", passes);
    r.set("bestSeconds", best);
    r.set("seconds", total / passes);
    r.set("bestGflops", flops / best / 1e9);
    r.set("gflops", flops / (total / passes) / 1e9);
    r.set("checksum", static_cast<double>(sink[0]));
    return r;
#else
    (void)p;
    (void)threads;
    throw std::runtime_error("kernelBench: fmaPeak needs an x86-64 build");
#endif
}

// ---- synthetic weights ----
struct Source {
    std::vector<uint8_t> data, scales;
    LinearSource src;
    Source(WeightFormat f, int rows, int cols, uint64_t seed) {
        src.format = f;
        src.rows = rows;
        src.cols = cols;
        const size_t n = static_cast<size_t>(rows) * cols;
        uint64_t s = seed;
        auto fill = [&](std::vector<uint8_t>& v) {
            for (size_t i = 0; i + 8 <= v.size(); i += 8) {
                const uint64_t r = mix(s);
                std::memcpy(v.data() + i, &r, 8);
            }
        };
        switch (f) {
            case WeightFormat::BF16:
                data.resize(2 * n);
                for (size_t i = 0; i < n; ++i) {  // |w| in [2^-8, 2^-4), random sign and mantissa
                    const uint16_t v = static_cast<uint16_t>(((mix(s) & 0x8000) | (0x3b80 + (mix(s) & 0x1ff))));
                    std::memcpy(data.data() + 2 * i, &v, 2);
                }
                break;
            case WeightFormat::FP8:
                data.resize(n);
                fill(data);
                for (uint8_t& b : data) b &= 0xbf;  // no NaN codes
                src.scale = 0.01f;
                break;
            case WeightFormat::NVFP4:
                data.resize(n / 2);
                fill(data);
                scales.resize(n / 16);
                for (uint8_t& b : scales) b = static_cast<uint8_t>(0x28 + mix(s) % 32);
                src.scale = 448.0f * 6.0f;
                break;
        }
        src.data = data.data();
        src.blockScales = scales.empty() ? nullptr : scales.data();
    }
};

WeightFormat parseFormat(const std::string& f) {
    if (f == "bf16") return WeightFormat::BF16;
    if (f == "fp8") return WeightFormat::FP8;
    if (f == "nvfp4") return WeightFormat::NVFP4;
    throw std::runtime_error("kernelBench: unknown format \"" + f + "\" (bf16 | fp8 | nvfp4)");
}

// "cuda" / "cuda:N" → the device index; -1 for the CPU.
int cudaDevice(const BenchParams& p) {
    const std::string d = p.str("device", "cpu");
    if (d == "cpu") return -1;
    if (d == "cuda") return 0;
    if (d.rfind("cuda:", 0) == 0 && d.size() > 5 && d.find_first_not_of("0123456789", 5) == std::string::npos) {
        return std::stoi(d.substr(5));
    }
    throw std::runtime_error("kernelBench: device must be \"cpu\", \"cuda\" or \"cuda:N\", not \"" + d + "\"");
}

std::unique_ptr<Backend> makeBackend(const BenchParams& p) {
    BackendOptions o;
    const int device = cudaDevice(p);
    if (device >= 0) {
        o.device = "cuda";
        o.deviceIndex = device;
        return createBackend(o);
    }
    o.device = "cpu";
    o.cpu.threads = benchThreads(p);
    o.cpu.path = p.str("path", "");
    o.cpu.nvfp4Activations = p.str("act", "");
    return createBackend(o);
}

void setCommon(BenchResult& r, const Backend& be, const BenchParams& p, size_t bytes, const std::vector<double>& times,
               size_t distinct) {
    double total = 0, best = 1e30;
    for (double t : times) {
        total += t;
        best = std::min(best, t);
    }
    const double mean = total / times.size();
    r.set("kernelPath", be.kernelPath());
    r.set("act", be.nvfp4ActivationsName());
    r.set("threads", benchThreads(p));
    r.set("bytes", static_cast<double>(bytes));
    r.set("distinctBytes", static_cast<double>(distinct));
    r.set("calls", static_cast<double>(times.size()));
    r.set("seconds", mean);
    r.set("bestSeconds", best);
    r.set("gbps", bytes / mean / 1e9);
    r.set("bestGbps", bytes / best / 1e9);
}

// Seconds per call of call(i) for i over `count` distinct inputs: on the CPU `iters` calls timed one by one; on a CUDA
// device a graph of one pass (count calls) replayed max(3, iters / count) times, each replay's time / count.
std::vector<double> timeCalls(Backend& be, const BenchParams& p, int count, int defaultIters,
                              const std::function<void(int)>& call) {
    const int iters = static_cast<int>(p.num("iters", defaultIters));
    std::vector<double> times;
    if (cudaDevice(p) >= 0) {
        const int reps = std::max(3, iters / count);
        const std::vector<double> ms = cudaGraphMilliseconds(
            be,
            [&] {
                for (int i = 0; i < count; ++i) call(i);
            },
            reps);
        for (double t : ms) times.push_back(t / 1e3 / count);
        return times;
    }
    for (int i = 0; i < iters; ++i) {
        const auto t0 = Clock::now();
        call(i % count);
        be.synchronize();
        times.push_back(secondsSince(t0));
    }
    return times;
}

BenchResult benchLinear(const BenchParams& p) {
    std::unique_ptr<Backend> be = makeBackend(p);
    const WeightFormat f = parseFormat(p.str("format", "nvfp4"));
    const int rows = static_cast<int>(p.num("rows", 4096)), cols = static_cast<int>(p.num("cols", 4096));
    const int T = static_cast<int>(p.num("T", 1));
    const double minBytes = p.num("minBytes", 512.0 * 1024 * 1024);
    Source src(f, rows, cols, 12345);
    std::vector<std::unique_ptr<LinearWeights>> copies;
    size_t distinct = 0;
    while (distinct < minBytes || copies.size() < 2) {
        copies.push_back(be->prepareLinear(src.src));
        distinct += copies.back()->bytes;
    }
    BackendFloats x(*be, randomFloats(static_cast<size_t>(T) * cols, 7)), y(*be, static_cast<size_t>(T) * rows);
    for (auto& c : copies) be->linear(*c, x.get(), cols, T, y.get(), rows);  // warm-up: page faults, pool
    const std::vector<double> times =
        timeCalls(*be, p, static_cast<int>(copies.size()), std::max<int>(3 * copies.size(), 24),
                  [&](int i) { be->linear(*copies[i], x.get(), cols, T, y.get(), rows); });
    BenchResult r;
    r.set("format", p.str("format", "nvfp4"));
    r.set("rows", rows);
    r.set("cols", cols);
    r.set("T", T);
    setCommon(r, *be, p, copies[0]->bytes, times, distinct);
    const double flops = 2.0 * rows * cols * T;
    const double mean = r.number("seconds"), best = r.number("bestSeconds");
    r.set("gflops", flops / mean / 1e9);
    r.set("bestGflops", flops / best / 1e9);
    return r;
}

BenchResult benchMoe(const BenchParams& p) {
    std::unique_ptr<Backend> be = makeBackend(p);
    const WeightFormat f = parseFormat(p.str("format", "nvfp4"));
    const int D = static_cast<int>(p.num("D", 4096)), I = static_cast<int>(p.num("I", 2048));
    const int T = static_cast<int>(p.num("T", 1));
    const double minBytes = p.num("minBytes", 512.0 * 1024 * 1024);
    Source gateSrc(f, I, D, 1), upSrc(f, I, D, 2), downSrc(f, D, I, 3), routerSrc(WeightFormat::BF16, 4, D, 4);
    struct Set {
        std::vector<std::unique_ptr<LinearWeights>> owned;
        MoeWeights w;
    };
    std::vector<std::unique_ptr<Set>> sets;
    size_t distinct = 0, perCall = 0;
    while (distinct < minBytes || sets.size() < 2) {
        auto set = std::make_unique<Set>();
        auto prep = [&](const Source& s) {
            set->owned.push_back(be->prepareLinear(s.src));
            return set->owned.back().get();
        };
        set->w.router = prep(routerSrc);
        set->w.experts.resize(4);
        for (ExpertWeights& e : set->w.experts) {
            e.gate = prep(gateSrc);
            e.up = prep(upSrc);
            e.down = prep(downSrc);
        }
        set->w.hasShared = true;
        set->w.shared.gate = prep(gateSrc);
        set->w.shared.up = prep(upSrc);
        set->w.shared.down = prep(downSrc);
        set->w.topK = 4;
        set->w.normTopk = true;
        set->w.routedScale = 1.0f;
        size_t b = 0;
        for (auto& l : set->owned) b += l->bytes;
        perCall = b;
        distinct += b;
        sets.push_back(std::move(set));
    }
    BackendFloats x(*be, randomFloats(static_cast<size_t>(T) * D, 9)), y(*be, static_cast<size_t>(T) * D);
    for (auto& set : sets) be->moe(set->w, x.get(), T, D, y.get());
    const std::vector<double> times =
        timeCalls(*be, p, static_cast<int>(sets.size()), std::max<int>(3 * sets.size(), 24),
                  [&](int i) { be->moe(sets[i]->w, x.get(), T, D, y.get()); });
    BenchResult r;
    r.set("format", p.str("format", "nvfp4"));
    r.set("D", D);
    r.set("I", I);
    r.set("T", T);
    r.set("experts", 5);
    setCommon(r, *be, p, perCall, times, distinct);
    return r;
}

BenchResult benchMlaDecode(const BenchParams& p) {
    std::unique_ptr<Backend> be = makeBackend(p);
    const int ctx = static_cast<int>(p.num("ctx", 4096)), seqs = static_cast<int>(p.num("seqs", 1));
    const std::string kv = p.str("kv", "bf16");
    if (kv != "bf16" && kv != "f32") throw std::runtime_error("kernelBench: kv must be \"bf16\" or \"f32\"");
    if (ctx < 1 || seqs < 1) throw std::runtime_error("kernelBench: ctx and seqs must be positive");
    // Mistral Small 4 attention: heads, nope, rope, v, latent, softmax scale
    const MlaDims d{32, 64, 64, 128, 256, static_cast<float>(1.0 / std::sqrt(128.0))};
    const int bs = 16, blocksPerSeq = (ctx + bs - 1) / bs;
    KvCacheShape shape;
    shape.layers = 1;
    shape.blockSize = bs;
    shape.latent = d.latent;
    shape.rope = d.rope;
    shape.dtype = kv == "bf16" ? KvDtype::BF16 : KvDtype::F32;
    const size_t bytesPerCall = static_cast<size_t>(seqs) * ctx * shape.width() * shape.bytesPerValue();
    const double minBytes = p.num("minBytes", 256.0 * 1024 * 1024);
    const int sets = std::max(2, static_cast<int>(std::ceil(minBytes / bytesPerCall)));  // batches to rotate over
    shape.numBlocks = sets * seqs * blocksPerSeq;
    std::unique_ptr<KvCache> cache = be->allocKvCache(shape);
    fillCache(*be, *cache, 11);
    std::vector<int32_t> seqStarts(seqs + 1), contextLens(seqs, ctx);
    for (int i = 0; i <= seqs; ++i) seqStarts[i] = i;
    // One step per batch of `seqs` sequences, each batch over its own blocks (the calls rotate over them).
    std::vector<std::vector<int32_t>> tables(sets, std::vector<int32_t>(static_cast<size_t>(seqs) * blocksPerSeq));
    std::vector<std::unique_ptr<StepContext>> steps;
    for (int k = 0; k < sets; ++k) {
        for (size_t i = 0; i < tables[k].size(); ++i) tables[k][i] = static_cast<int32_t>(k * tables[k].size() + i);
        StepInputs in;
        in.numTokens = seqs;
        in.numSeqs = seqs;
        in.seqStarts = seqStarts.data();
        in.contextLens = contextLens.data();
        in.blockTables = tables[k].data();
        in.maxBlocksPerSeq = blocksPerSeq;
        steps.push_back(be->beginStep(in));
    }
    const int qk = d.nope + d.rope;
    BackendFloats q(*be, randomFloats(static_cast<size_t>(seqs) * d.heads * qk, 12)),
        qLat(*be, randomFloats(static_cast<size_t>(seqs) * d.heads * d.latent, 13)),
        oLat(*be, static_cast<size_t>(seqs) * d.heads * d.latent);
    auto call = [&](int k) {
        be->mlaAttentionAbsorbed(qLat.get(), q.get(), d.heads * qk, *cache, 0, *steps[k], d, oLat.get());
    };
    for (int k = 0; k < sets; ++k) call(k);  // warm-up
    be->synchronize();
    const std::vector<double> times = timeCalls(*be, p, sets, std::max(2 * sets, 16), call);
    const double flops = 2.0 * d.heads * (2.0 * d.latent + d.rope) * ctx * seqs;
    BenchResult r;
    r.set("format", kv);
    r.set("ctx", ctx);
    r.set("seqs", seqs);
    r.set("flops", flops);
    setCommon(r, *be, p, bytesPerCall, times, static_cast<size_t>(sets) * bytesPerCall);
    double total = 0, best = 1e30;
    for (double t : times) {
        total += t;
        best = std::min(best, t);
    }
    r.set("gflops", flops / (total / times.size()) / 1e9);
    r.set("bestGflops", flops / best / 1e9);
    return r;
}

// A Pixtral tower at the real sizes (hidden 1024, 16 heads of 64, FFN 4096, patch 14, merge 2, projector into 4096)
// on synthetic BF16 weights; one layer's weights serve as every layer (the work is the same, the memory is not
// multiplied by `layers`).
struct SyntheticTower {
    VisionDims dims;
    std::vector<std::unique_ptr<Source>> sources;
    PixtralEncoder encoder;

    static VisionDims realDims(int layers) {
        VisionDims d;
        d.hidden = 1024;
        d.layers = layers;
        d.heads = 16;
        d.headDim = 64;
        d.intermediate = 4096;
        d.channels = 3;
        d.patchSize = 14;
        d.merge = 2;
        d.textHidden = 4096;
        d.preMmNorm = true;
        return d;
    }

    static PixtralWeights weights(Backend& be, const VisionDims& d) {
        uint64_t seed = 1000;
        auto linear = [&](int rows, int cols) {
            Source src(WeightFormat::BF16, rows, cols, seed++);
            return be.prepareLinear(src.src);
        };
        auto ones = [&](int n) { return uploadFloats(&be, std::vector<float>(n, 1.0f)); };
        PixtralWeights w;
        const int D = d.hidden, I = d.intermediate;
        w.patchConv = linear(D, d.channels * d.patchSize * d.patchSize);
        w.lnPre = ones(D);
        auto layer = std::make_shared<PixtralLayer>();
        layer->attentionNorm = ones(D);
        layer->ffnNorm = ones(D);
        layer->wq = linear(D, D);
        layer->wk = linear(D, D);
        layer->wv = linear(D, D);
        layer->wo = linear(D, D);
        layer->w1 = linear(I, D);
        layer->w2 = linear(D, I);
        layer->w3 = linear(I, D);
        for (int l = 0; l < d.layers; ++l) w.layers.push_back(layer);
        w.preMmNorm = ones(D);
        w.merging = linear(D, D * d.merge * d.merge);
        w.wIn = linear(d.textHidden, D);
        w.wOut = linear(d.textHidden, d.textHidden);
        return w;
    }

    SyntheticTower(Backend& be, int layers) : dims(realDims(layers)), encoder(dims, be, weights(be, dims)) {}
};

// "visionEncoder": one PixtralEncoder::encode of one image of `columns` × `rows` tokens (2× as many patches per
// side), `layers` layers (default 24). flops = PixtralEncoder::flops.
BenchResult benchVisionEncoder(const BenchParams& p) {
    std::unique_ptr<Backend> be = makeBackend(p);
    const int layers = static_cast<int>(p.num("layers", 24));
    const int columns = static_cast<int>(p.num("columns", 8)), rows = static_cast<int>(p.num("rows", 8));
    if (columns < 1 || rows < 1 || layers < 0) throw std::runtime_error("visionEncoder: bad grid or layer count");
    SyntheticTower tower(*be, layers);
    const VisionDims& d = tower.dims;
    const std::vector<int32_t> patchRows{rows * d.merge}, patchCols{columns * d.merge};
    VisionInputs in;
    in.numImages = 1;
    in.patchRows = patchRows.data();
    in.patchCols = patchCols.data();
    in.channels = d.channels;
    in.patchSize = d.patchSize;
    in.merge = d.merge;
    const std::vector<float> pixels =
        randomFloats(static_cast<size_t>(patchRows[0]) * patchCols[0] * d.channels * d.patchSize * d.patchSize, 3);
    std::vector<float> out(static_cast<size_t>(rows) * columns * d.textHidden);
    const int iters = static_cast<int>(p.num("iters", 1));
    std::vector<double> times;
    for (int i = 0; i < iters; ++i) {
        const auto t0 = Clock::now();
        tower.encoder.encode(in, pixels.data(), out.data());
        times.push_back(secondsSince(t0));
    }
    const double flops = tower.encoder.flops(patchRows, patchCols);
    BenchResult r;
    r.set("columns", columns);
    r.set("rows", rows);
    r.set("patches", static_cast<double>(patchRows[0]) * patchCols[0]);
    r.set("layers", layers);
    r.set("flops", flops);
    setCommon(r, *be, p, 0, times, 0);
    r.set("gflops", flops / r.number("seconds") / 1e9);
    r.set("bestGflops", flops / r.number("bestSeconds") / 1e9);
    return r;
}

// "visionAttention": one Backend::visionAttention over one image of `patchRows` × `patchCols` patches, real heads
// (16 × 64); flops = 4 · n² · hidden (scores and the weighted sum).
BenchResult benchVisionAttention(const BenchParams& p) {
    std::unique_ptr<Backend> be = makeBackend(p);
    const int heads = 16, hd = 64, D = heads * hd;
    const std::vector<int32_t> pr{static_cast<int32_t>(p.num("patchRows", 16))},
        pc{static_cast<int32_t>(p.num("patchCols", 16))};
    VisionInputs in;
    in.numImages = 1;
    in.patchRows = pr.data();
    in.patchCols = pc.data();
    in.channels = 3;
    in.patchSize = 14;
    const int64_t n = static_cast<int64_t>(pr[0]) * pc[0];
    BackendFloats qkv(*be, randomFloats(static_cast<size_t>(n) * 3 * D, 5)), out(*be, static_cast<size_t>(n) * D);
    const std::unique_ptr<VisionContext> ctx = be->beginVision(in);
    const auto call = [&]() {
        be->visionAttention(qkv.get(), qkv.get() + D, qkv.get() + 2 * D, 3 * D, heads, hd, 0.125f, *ctx, out.get(), D);
        be->synchronize();
    };
    call();
    const int iters = static_cast<int>(p.num("iters", 3));
    std::vector<double> times;
    for (int i = 0; i < iters; ++i) {
        const auto t0 = Clock::now();
        call();
        times.push_back(secondsSince(t0));
    }
    const double flops = 4.0 * static_cast<double>(n) * n * D;
    BenchResult r;
    r.set("patches", static_cast<double>(n));
    r.set("flops", flops);
    setCommon(r, *be, p, 0, times, 0);
    r.set("gflops", flops / r.number("seconds") / 1e9);
    r.set("bestGflops", flops / r.number("bestSeconds") / 1e9);
    return r;
}

}  // namespace

BenchResult runKernelBench(const std::string& name, const BenchParams& p) {
    if (name == "bandwidth") {
        const int device = cudaDevice(p);
        if (device < 0) return benchBandwidth(p, benchThreads(p));
        const size_t bytes = static_cast<size_t>(p.num("bytes", 4.0 * 1024 * 1024 * 1024));
        const int passes = std::max(1, static_cast<int>(p.num("passes", 10)));
        const CudaBandwidth bw = cudaCopyBandwidth(device, bytes, passes);
        BenchResult r;
        r.set("device", p.str("device", "cuda"));
        r.set("bytes", static_cast<double>(bytes));
        r.set("passes", passes);
        r.set("bestGbps", bw.bestGbps);
        r.set("gbps", bw.meanGbps);
        return r;
    }
    if (name == "fmaPeak") return benchFmaPeak(p, benchThreads(p));
    if (name == "linear") return benchLinear(p);
    if (name == "model") return runModelBench([&p] { return makeBackend(p); }, p);
    if (name == "moeLayer") return benchMoe(p);
    if (name == "mlaDecode") return benchMlaDecode(p);
    if (name == "visionEncoder") return benchVisionEncoder(p);
    if (name == "visionAttention") return benchVisionAttention(p);
    throw std::runtime_error(
        "unknown bench \"" + name +
        "\" (bandwidth | fmaPeak | linear | moeLayer | mlaDecode | model | visionEncoder | visionAttention)");
}

}  // namespace ms4::checks
