// The CPU driver of the op checks: one backend per NVFP4 activation mode of the kernel path, the backend-generic
// suites on each, plus the check of the CPU's repacked NVFP4 layout (which no other backend shares).
#include <algorithm>
#include <cmath>
#include <thread>

#include "checks/bounds.h"
#include "checks/op_checks.h"
#include "cpu/cpu_backend.h"
#include "ref/ref_ops.h"

namespace ms4::checks {

namespace {

// Unpacks the repacked NVFP4 bytes by the documented layout (cpu/cpu_backend.h, independently of the backend's
// decoder) and compares with ref::weightAt, padding included (must be zero).
void checkNvfp4Repack(Checker& c, int rows, int cols) {
    const std::string params = "nvfp4Repack(rows=" + str(rows) + ",cols=" + str(cols) + ")";
    if (!c.wants(params)) return;
    Rng rng(seedOf(params));
    TestWeight tw(WeightFormat::NVFP4, rows, cols, rng);
    std::unique_ptr<LinearWeights> lw = c.be.prepareLinear(tw.src);
    const cpu::CpuLinear& w = asCpuLinear(*lw);
    const int kPad = (cols + 127) / 128 * 128;
    std::vector<float> got(static_cast<size_t>(rows) * kPad), want(got.size(), 0.0f);
    const bool layoutOk = w.kPad == kPad && w.rowBytes == static_cast<size_t>(kPad / 128) * 72;
    for (int r = 0; r < rows && layoutOk; ++r) {
        const uint8_t* row = w.row(r);
        for (int k = 0; k < kPad; ++k) {
            const int chunk = k / 128, e = k % 128;
            const uint8_t byte = row[chunk * 72 + (e % 64)];
            const uint8_t code = e < 64 ? (byte & 0x0f) : (byte >> 4);
            const uint8_t scale = row[chunk * 72 + 64 + e / 16];
            got[static_cast<size_t>(r) * kPad + k] =
                ref::e2m1ToFloat(code) * (ref::fp8e4m3ToFloat(scale) / tw.src.scale);
            if (k < cols) want[static_cast<size_t>(r) * kPad + k] = ref::weightAt(tw.src, r, k);
        }
    }
    if (!layoutOk) std::fill(got.begin(), got.end(), NAN);
    c.record("nvfp4Repack", params, got, want, kExact);
}

}  // namespace

std::vector<OpCheckResult> runCpuOpChecks(const std::string& filter, const std::string& path) {
    const std::string resolved = resolveCpuPath(path);
    const int threads = static_cast<int>(std::max(2u, std::thread::hardware_concurrency()));
    std::vector<OpCheckResult> results;
    for (const char* acts : {"f32", "int16", "int8"}) {
        CpuBackendOptions o;
        o.threads = threads;
        o.path = resolved;
        o.nvfp4Activations = acts;
        o.hugePages = false;
        std::unique_ptr<CpuBackend> backend = createCpuBackend(o);
        CpuBackendOptions single = o;
        single.threads = 1;
        Checker c{*backend, filter, [single]() -> std::unique_ptr<Backend> { return createCpuBackend(single); }, {}};
        if (std::string(acts) == "f32") {
            runFullSuite(c);
            for (auto [rows, cols] : {std::pair{96, 80}, {33, 208}, {7, 1040}, {4, 4096}})
                checkNvfp4Repack(c, rows, cols);
        } else {
            runNvfp4Suite(c);
        }
        results.insert(results.end(), c.results.begin(), c.results.end());
    }
    return results;
}

}  // namespace ms4::checks
