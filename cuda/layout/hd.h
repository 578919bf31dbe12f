// MS4_HD: marks the layout and planning functions that both the CUDA kernels (nvcc) and the host (the C++
// compiler, for the CPU-side tests in cuda/layout/host_checks.cc) compile. They are pure integer and bit
// arithmetic, so the host tests run exactly the code the kernels run.
#pragma once

#if defined(__CUDACC__)
#define MS4_HD __host__ __device__ __forceinline__
#else
#define MS4_HD inline
#endif
