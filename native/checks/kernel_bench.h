// Kernel benchmarks of a Backend (see kernel_bench.cc for the list and parameters); bench/kernels/ drives them.
#pragma once
#include <map>
#include <string>
#include <vector>

namespace ms4::checks {

struct BenchParams {
    std::map<std::string, double> nums;
    std::map<std::string, std::string> strs;
    double num(const std::string& k, double d) const;
    std::string str(const std::string& k, const std::string& d) const;
};

// Named numbers and strings, in the order they were set.
struct BenchResult {
    struct Value {
        std::string key;
        double number;
        std::string text;
        bool isString;
    };
    std::vector<Value> values;
    void set(const std::string& k, double v);
    void set(const std::string& k, const std::string& v);
    double number(const std::string& k) const;
};

// Runs bench `name` ("bandwidth" | "linear" | "moeLayer" | "mlaDecode" | "model"); throws std::runtime_error on bad
// params.
BenchResult runKernelBench(const std::string& name, const BenchParams& params);

}  // namespace ms4::checks
