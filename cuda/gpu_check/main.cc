// ms4-gpu-check: everything the CUDA backend has to prove on a GPU, in one program that needs no Node.js, printing
// one JSON object (docs/cuda-backend.md#proof-on-a-gpu):
//   layoutChecks  the CUDA layouts and plans on the host (cuda/layout/host_checks.cc);
//   opChecks      every CUDA op against the reference ops with the CPU's bounds, and the device repack;
//   modelChecks   synthetic 2-layer models in all three weight formats and both KV dtypes, CPU (exact path) vs CUDA:
//                 prefill logits, 64-token greedy continuations, batch invariance (alone vs with 15 others);
//   bench         copy bandwidth, NVFP4 / BF16 / FP8 GEMV and GEMM, one MoE layer, MLA decode at 4k and 32k (graph
//                 replays, as a fraction of the copy bandwidth), and decode / prefill of a real-size 2-layer model
//                 with the 36-layer estimate.
// Usage: ms4-gpu-check [--device N] [--skip-bench] [--only layout|ops|model|bench] [--filter TEXT] [--out FILE]
// (--filter keeps the layout, op and model check cases whose params contain TEXT, e.g. "moe(" or "format=nvfp4").
// Exit status 0 when every check passed (benchmarks do not count), 1 otherwise.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "backend/create_backend.h"
#include "checks/kernel_bench.h"
#include "checks/model_checks.h"
#include "checks/op_checks.h"
#include "cuda_bridge.h"

namespace {

using ms4::checks::BenchParams;
using ms4::checks::BenchResult;
using ms4::checks::OpCheckResult;

std::string quote(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
        } else {
            out += c;
        }
    }
    return out + "\"";
}

std::string number(double v) {
    if (!std::isfinite(v)) return "null";
    std::ostringstream o;
    o.precision(6);
    o << v;
    return o.str();
}

// A check suite's summary: cases, failures (the first 20 in full), and per op the worst error and its bound.
std::string summarize(const std::vector<OpCheckResult>& results) {
    struct Worst {
        int cases = 0, failed = 0;
        double error = -1, bound = 0;
        std::string params;
    };
    std::map<std::string, Worst> byOp;
    std::ostringstream failures;
    int failed = 0;
    for (const OpCheckResult& r : results) {
        Worst& w = byOp[r.op];
        ++w.cases;
        if (!r.ok) {
            ++w.failed;
            if (failed < 20) {
                failures << (failed ? "," : "") << "{\"params\":" << quote(r.params) << ",\"error\":" << number(r.error)
                         << ",\"maxAbsError\":" << number(r.maxAbsError) << ",\"bound\":" << number(r.bound) << "}";
            }
            ++failed;
        }
        if (!(r.error <= w.error)) {
            w.error = r.error;
            w.bound = r.bound;
            w.params = r.params;
        }
    }
    std::ostringstream o;
    o << "{\"cases\":" << results.size() << ",\"failed\":" << failed << ",\"ops\":{";
    bool first = true;
    for (const auto& [op, w] : byOp) {
        o << (first ? "" : ",") << quote(op) << ":{\"cases\":" << w.cases << ",\"failed\":" << w.failed
          << ",\"worstError\":" << number(w.error) << ",\"bound\":" << number(w.bound)
          << ",\"worstCase\":" << quote(w.params) << "}";
        first = false;
    }
    o << "},\"failures\":[" << failures.str() << "]}";
    return o.str();
}

std::string benchJson(const BenchResult& r, double bandwidthGbps) {
    std::ostringstream o;
    o << "{";
    bool first = true;
    double gbps = NAN;
    for (const BenchResult::Value& v : r.values) {
        o << (first ? "" : ",") << quote(v.key) << ":" << (v.isString ? quote(v.text) : number(v.number));
        if (v.key == "gbps") gbps = v.number;
        first = false;
    }
    if (std::isfinite(gbps) && bandwidthGbps > 0) o << ",\"pctOfCopyBandwidth\":" << number(100 * gbps / bandwidthGbps);
    o << "}";
    return o.str();
}

struct Options {
    int device = 0;
    bool bench = true;
    std::string only;
    std::string filter;
    std::string out;
};

double since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
    Options opt;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--device" && i + 1 < argc) {
            opt.device = std::stoi(argv[++i]);
        } else if (a == "--skip-bench") {
            opt.bench = false;
        } else if (a == "--only" && i + 1 < argc) {
            opt.only = argv[++i];
        } else if (a == "--filter" && i + 1 < argc) {
            opt.filter = argv[++i];
        } else if (a == "--out" && i + 1 < argc) {
            opt.out = argv[++i];
        } else {
            std::cerr
                << "usage: ms4-gpu-check [--device N] [--skip-bench] [--only layout|ops|model|bench] [--out FILE]\n";
            return 2;
        }
    }
    auto wanted = [&](const char* phase) { return opt.only.empty() || opt.only == phase; };
    const std::string device = "cuda:" + std::to_string(opt.device);
    std::ostringstream json;
    bool allPassed = true;
    json << "{";

    const ms4::CudaStatus status = ms4::queryCuda();
    json << "\"cuda\":{\"runtimeVersion\":" << status.runtimeVersion << ",\"driverVersion\":" << status.driverVersion
         << ",\"architectures\":" << quote(status.architectures) << ",\"error\":" << quote(status.error)
         << ",\"devices\":[";
    for (size_t i = 0; i < status.devices.size(); ++i) {
        const ms4::CudaDeviceInfo& d = status.devices[i];
        json << (i ? "," : "") << "{\"index\":" << d.index << ",\"name\":" << quote(d.name)
             << ",\"computeCapability\":\"" << d.computeMajor << "." << d.computeMinor
             << "\",\"totalMemory\":" << number(static_cast<double>(d.totalMemory))
             << ",\"freeMemory\":" << number(static_cast<double>(d.freeMemory))
             << ",\"multiprocessors\":" << d.multiprocessors << ",\"usable\":" << (d.usable ? "true" : "false")
             << ",\"unusableReason\":" << quote(d.unusableReason) << "}";
    }
    json << "]}";

    // Each phase records its result or its error, and its time; a failing phase does not stop the others.
    auto phase = [&](const char* name, const std::function<std::string()> body) {
        const auto t0 = std::chrono::steady_clock::now();
        std::string value;
        try {
            value = body();
        } catch (const std::exception& e) {
            value = "{\"error\":" + quote(e.what()) + "}";
            allPassed = false;
        }
        json << "," << quote(name) << ":" << value << "," << quote(std::string(name) + "Seconds") << ":"
             << number(since(t0));
        std::cerr << "[ms4-gpu-check] " << name << " done in " << number(since(t0)) << " s\n";
    };
    auto checkSuite = [&](const std::vector<OpCheckResult>& r) {
        for (const OpCheckResult& c : r) allPassed = allPassed && c.ok;
        if (r.empty()) allPassed = false;
        return summarize(r);
    };
    if (wanted("layout"))
        phase("layoutChecks", [&] { return checkSuite(ms4::checks::runCudaLayoutChecks(opt.filter)); });
    if (wanted("ops")) phase("opChecks", [&] { return checkSuite(ms4::runCudaOpChecks(opt.filter, opt.device)); });
    if (wanted("model")) {
        phase("modelChecks", [&] {
            ms4::BackendOptions cpu, gpu;
            cpu.device = "cpu";
            cpu.cpu.threads = static_cast<int>(std::max(2u, std::thread::hardware_concurrency()));
            cpu.cpu.nvfp4Activations = "f32";
            cpu.cpu.hugePages = false;
            gpu.device = "cuda";
            gpu.deviceIndex = opt.device;
            return checkSuite(ms4::checks::runModelChecks([cpu] { return ms4::createBackend(cpu); },
                                                          [gpu] { return ms4::createBackend(gpu); }, opt.filter));
        });
    }
    if (opt.bench && wanted("bench")) {
        double bandwidth = 0;
        phase("bandwidth", [&] {
            BenchParams p;
            p.strs["device"] = device;
            const BenchResult r = ms4::checks::runKernelBench("bandwidth", p);
            bandwidth = r.number("bestGbps");
            return benchJson(r, 0);
        });
        struct Case {
            const char* label;
            const char* bench;
            std::map<std::string, double> nums;
            std::map<std::string, std::string> strs;
        };
        const std::vector<Case> cases = {
            {"nvfp4 gemv 4096x4096 (T=1)", "linear", {{"rows", 4096}, {"cols", 4096}, {"T", 1}}, {{"format", "nvfp4"}}},
            {"nvfp4 gemv 4096x4096 (T=8)", "linear", {{"rows", 4096}, {"cols", 4096}, {"T", 8}}, {{"format", "nvfp4"}}},
            {"nvfp4 gemm 4096x4096 (T=512)",
             "linear",
             {{"rows", 4096}, {"cols", 4096}, {"T", 512}},
             {{"format", "nvfp4"}}},
            {"bf16 gemv 4096x4096 (T=1)", "linear", {{"rows", 4096}, {"cols", 4096}, {"T", 1}}, {{"format", "bf16"}}},
            {"bf16 gemv 131072x4096, the lm_head (T=1)",
             "linear",
             {{"rows", 131072}, {"cols", 4096}, {"T", 1}},
             {{"format", "bf16"}}},
            {"fp8 gemv 4096x4096 (T=1)", "linear", {{"rows", 4096}, {"cols", 4096}, {"T", 1}}, {{"format", "fp8"}}},
            {"moe layer 4+1 experts, D 4096, I 2048 (T=1)", "moeLayer", {{"D", 4096}, {"I", 2048}, {"T", 1}}, {}},
            {"moe layer 4+1 experts, D 4096, I 2048 (T=8)", "moeLayer", {{"D", 4096}, {"I", 2048}, {"T", 8}}, {}},
            {"mla decode attention, ctx 4096, bf16 cache (T=1)", "mlaDecode", {{"ctx", 4096}}, {{"kv", "bf16"}}},
            {"mla decode attention, ctx 32768, bf16 cache (T=1)", "mlaDecode", {{"ctx", 32768}}, {{"kv", "bf16"}}},
            {"mla decode attention, ctx 4096, bf16 cache (64 sequences)",
             "mlaDecode",
             {{"ctx", 4096}, {"seqs", 64}},
             {{"kv", "bf16"}}},
        };
        phase("kernels", [&] {
            std::ostringstream o;
            o << "[";
            for (size_t i = 0; i < cases.size(); ++i) {
                BenchParams p;
                p.nums = cases[i].nums;
                p.strs = cases[i].strs;
                p.strs["device"] = device;
                p.nums["minBytes"] = 1024.0 * 1024 * 1024;
                std::string row;
                try {
                    row = benchJson(ms4::checks::runKernelBench(cases[i].bench, p), bandwidth);
                } catch (const std::exception& e) {
                    row = "{\"error\":" + quote(e.what()) + "}";
                }
                o << (i ? "," : "") << "{\"kernel\":" << quote(cases[i].label) << ",\"result\":" << row << "}";
                std::cerr << "[ms4-gpu-check]   " << cases[i].label << "\n";
            }
            o << "]";
            return o.str();
        });
        phase("model", [&] {
            BenchParams p;
            p.strs["device"] = device;
            p.strs["batches"] = "1,8,64";
            p.nums["real"] = 1;
            p.nums["layers"] = 2;
            p.nums["ctx"] = 1024;
            p.nums["prompt"] = 512;
            return benchJson(ms4::checks::runKernelBench("model", p), 0);
        });
    }
    json << ",\"ok\":" << (allPassed ? "true" : "false") << "}";
    std::cout << json.str() << std::endl;
    if (!opt.out.empty()) std::ofstream(opt.out) << json.str() << "\n";
    return allPassed ? 0 : 1;
}
