// The kernel launchers the CUDA backend's files share (each defined in the file of its op family). All enqueue on
// `stream` and return without waiting; a launch error throws.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "cuda_backend.h"
#include "cuda_check.cuh"
#include "gemm.cuh"
#include "layout/linear_layout.h"

#define MS4_LAUNCH_CHECK() CUDA_CHECK(cudaGetLastError())

namespace ms4::cuda {

// ---- repack.cu ----
// Rows [16·rowTile0, 16·rowTile0 + rows) of a weight, in checkpoint layout in device memory (raw codes, and for NVFP4
// raw block scales), written into the prepared lane records `codes` / `scales` of a weight with `chunks` chunks.
void launchRepack(WeightFormat f, const uint8_t* rawCodes, const uint8_t* rawScales, int rows, int cols, int rowTile0,
                  int chunks, uint8_t* codes, uint8_t* scales, cudaStream_t stream);
// out[i, 0..cols) = row rowIds[i] (or row i when rowIds is null) of a prepared weight, as exact floats.
void launchDecodeRows(const CudaLinear& w, const int32_t* rowIds, int count, float* out, int outStride,
                      cudaStream_t stream);

// ---- linear.cu ----
WeightView viewOf(const CudaLinear& w);
// Writes rows [0, rows) of x (row r = x row rowToken[r], or r when rowToken is null; -1 = a zero row) as the split B
// operand of a weight with `chunks` chunks, and each row's F16x2 scale 2^-e (1 for BF16x3, NaN for a row holding a
// non-finite value). Rows [rows, paddedRows), rounded up to whole split tiles, become zero rows. `out` holds
// splitBytes(split, paddedRows, chunks) bytes, `rowScale` paddedRows floats.
void launchSplit(ActSplit split, const float* x, int xStride, const int32_t* rowToken, int rows, int paddedRows, int K,
                 int chunks, uint32_t* out, float* rowScale, cudaStream_t stream);
// Scratch bytes linearWithScratch needs for T tokens.
size_t linearScratchBytes(const CudaLinear& w, int T);
// y[T, rows] = x[T, cols] · Wᵀ using `scratch` (linearScratchBytes) for the split activations.
void linearWithScratch(const CudaLinear& w, const float* x, int xStride, int T, float* y, int yStride, uint8_t* scratch,
                       cudaStream_t stream);

}  // namespace ms4::cuda
