// The op-check harness: deterministic random data, checkpoint-layout test weights, backend memory for inputs and
// outputs, and the recorder that compares a backend's result with the reference op's (‖got − want‖₂ / ‖want‖₂
// against a stated bound). Written against Backend& only, so every backend is checked by the same cases.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"

namespace ms4::checks {

struct OpCheckResult {
    std::string op;
    std::string params;      // printable, e.g. "linear(format=nvfp4,T=3,rows=96,cols=80)"
    double error = 0;        // ‖got − ref‖₂ / ‖ref‖₂ (absolute when ‖ref‖₂ = 0)
    double maxAbsError = 0;  // max |got − ref|
    double bound = 0;        // error must not exceed this
    bool ok = false;
};

class Rng {
   public:
    explicit Rng(uint64_t seed) : s_(seed) {}
    uint64_t next();  // splitmix64
    double uniform();
    float normal();
    int below(int n);

   private:
    uint64_t s_;
};

uint64_t seedOf(const std::string& s);  // FNV-1a: each case's data depends only on its params
std::vector<float> randomVec(Rng& rng, size_t n, float scale = 1.0f);
float roundBf16(float f);
const char* formatName(WeightFormat f);
std::string str(int v);

// A checkpoint-layout weight with its backing bytes (not movable: src points into the vectors).
struct TestWeight {
    std::vector<uint8_t> data, scales;
    LinearSource src;
    TestWeight(const TestWeight&) = delete;
    TestWeight(WeightFormat f, int rows, int cols, Rng& rng);
    // A BF16 weight holding `values` rounded to BF16 (used where a reference takes float weights).
    TestWeight(const std::vector<float>& values, int rows, int cols);
    // The dequantized weight, row-major [rows, cols] (what the reference ops multiply by).
    std::vector<float> dequantized() const;
};

// Floats in a backend's memory: filled from the host, read back with host().
class BackendFloats {
   public:
    BackendFloats(Backend& be, size_t n);
    BackendFloats(Backend& be, const std::vector<float>& host);
    ~BackendFloats();
    BackendFloats(const BackendFloats&) = delete;
    BackendFloats& operator=(const BackendFloats&) = delete;
    float* get() const { return data_; }
    std::vector<float> host() const;

   private:
    Backend& be_;
    float* data_;
    size_t size_;
};

// A step's host arrays (StepInputs views them).
struct StepArrays {
    std::vector<int32_t> tokens, positions, slotMapping, seqStarts, contextLens, blockTables, logitRows, inputRows;
    std::vector<float> inputEmbeddings;
    int numTokens = 0;
    int maxBlocksPerSeq = 0;
    int embeddingWidth = 0;
    StepInputs inputs() const;
};

struct Checker {
    Backend& be;
    std::string filter;
    // A backend of the same kind and settings running on one thread (nullptr: the thread-invariance halves of
    // the batch-invariance checks compare with `be` itself).
    std::function<std::unique_ptr<Backend>()> singleThread;
    std::vector<OpCheckResult> results;

    bool wants(const std::string& params) const { return filter.empty() || params.find(filter) != std::string::npos; }
    void record(const std::string& op, const std::string& params, const float* got, const float* want, size_t n,
                double bound);
    // As above over whole vectors; vectors of different sizes fail the check.
    void record(const std::string& op, const std::string& params, const std::vector<float>& got,
                const std::vector<float>& want, double bound);
};

}  // namespace ms4::checks
