// CUDA_CHECK: turns a CUDA error into a C++ exception with file:line (never exits the process).
#pragma once
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

#define CUDA_CHECK(expr)                                                                                              \
    do {                                                                                                              \
        cudaError_t err_ = (expr);                                                                                    \
        if (err_ != cudaSuccess) {                                                                                    \
            throw std::runtime_error(std::string("CUDA error ") + cudaGetErrorName(err_) + " (" +                     \
                                     cudaGetErrorString(err_) + ") at " + __FILE__ + ":" + std::to_string(__LINE__) + \
                                     " in " #expr);                                                                   \
        }                                                                                                             \
    } while (0)
