// opChecks(filter?, path?): every CpuBackend op against its reference op (ref/) on deterministic random data.
#pragma once
#include <string>
#include <vector>

#ifndef MS4_OP_CHECKS_STANDALONE
#include <napi.h>
#endif

namespace ms4 {

struct OpCheckResult {
    std::string op;
    std::string params;      // printable, e.g. "linear(format=nvfp4,T=3,rows=96,cols=80)"
    double error = 0;        // ‖cpu − ref‖₂ / ‖ref‖₂ (absolute when ‖ref‖₂ = 0)
    double maxAbsError = 0;  // max |cpu − ref|
    double bound = 0;        // error must not exceed this
    bool ok = false;
};

// Runs the cases whose params contain `filter` ("" = all) on a CpuBackend of kernel path `path` ("" = what
// createCpuBackend picks: MS4_CPU_PATH, else the best CPUID allows; "auto", "portable", "avx2"); throws
// std::runtime_error for an unknown or unsupported path.
std::vector<OpCheckResult> runOpChecks(const std::string& filter, const std::string& path);

#ifndef MS4_OP_CHECKS_STANDALONE
// JS: opChecks(filter?: string, path?: "portable" | "avx2") → { op, params, error, maxAbsError, bound, ok }[]
Napi::Value OpChecks(const Napi::CallbackInfo& info);
#endif

}  // namespace ms4
