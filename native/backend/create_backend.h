// Builds the Backend a model runs on, from the device kind and that device's own settings. The only file that
// knows every backend; the model receives the result (model/mistral4.h) and never names a device.
#pragma once
#include <memory>
#include <string>

#include "backend/backend.h"

namespace ms4 {

struct CpuBackendOptions {
    int threads = 0;               // worker threads; <= 0: hardware concurrency
    std::string path;              // "portable" | "avx2" | "avx512" | "avx512-emulated"; "" = the best the CPU runs
    std::string nvfp4Activations;  // "f32" | "int16" | "int8"; "" = the path's default (int16, f32 on portable)
    bool hugePages = true;         // advise transparent huge pages for weights and the KV pool (Linux)
};

struct BackendOptions {
    std::string device = "cpu";  // "cpu" | "cuda"
    int deviceIndex = 0;         // cuda: which device
    CpuBackendOptions cpu;
};

// Throws std::runtime_error naming the option when the device or a setting cannot be honoured.
std::unique_ptr<Backend> createBackend(const BackendOptions& options);

}  // namespace ms4
