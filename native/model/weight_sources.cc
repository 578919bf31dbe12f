#include "model/weight_sources.h"

#include <cmath>
#include <cstring>
#include <stdexcept>

#include "backend/number_formats.h"

namespace ms4 {

TensorDtype parseTensorDtype(const std::string& name) {
    if (name == "BF16") return TensorDtype::BF16;
    if (name == "F16") return TensorDtype::F16;
    if (name == "F32") return TensorDtype::F32;
    if (name == "F8_E4M3") return TensorDtype::F8_E4M3;
    if (name == "U8") return TensorDtype::U8;
    throw std::runtime_error("unsupported tensor dtype " + name);
}

namespace {

float floatAt(const uint8_t* p, TensorDtype dtype, size_t i) {
    switch (dtype) {
        case TensorDtype::F32: {
            float f;
            std::memcpy(&f, p + 4 * i, 4);
            return f;
        }
        case TensorDtype::BF16: {
            uint16_t v;
            std::memcpy(&v, p + 2 * i, 2);
            return bf16ToFloat(v);
        }
        case TensorDtype::F16: {
            uint16_t v;
            std::memcpy(&v, p + 2 * i, 2);
            return halfToFloat(v);
        }
        default:
            throw std::runtime_error("not a floating-point tensor");
    }
}

size_t dtypeBytes(TensorDtype d) {
    switch (d) {
        case TensorDtype::F32:
            return 4;
        case TensorDtype::BF16:
        case TensorDtype::F16:
            return 2;
        default:
            return 1;
    }
}

void checkLength(const WeightStore& store, int tensor, size_t expected, const std::string& name) {
    if (tensor < 0 || static_cast<size_t>(tensor) >= store.tensorCount()) {
        throw std::runtime_error(name + ": tensor index " + std::to_string(tensor) + " out of range");
    }
    if (store.tensor(tensor).length != expected) {
        throw std::runtime_error(name + ": " + store.tensor(tensor).name + " has " +
                                 std::to_string(store.tensor(tensor).length) + " bytes, expected " +
                                 std::to_string(expected));
    }
}

}  // namespace

float scalarValue(const WeightStore& store, int tensor, TensorDtype dtype, const std::string& name) {
    checkLength(store, tensor, dtypeBytes(dtype), name);
    return floatAt(store.tensorData(tensor), dtype, 0);
}

LinearSource linearSource(const WeightStore& store, const LinearRef& ref, std::vector<uint8_t>& scratch,
                          const std::string& name) {
    LinearSource src;
    src.format = ref.format;
    src.rows = ref.rows;
    src.cols = ref.cols;
    const size_t n = static_cast<size_t>(ref.rows) * ref.cols;
    switch (ref.format) {
        case WeightFormat::BF16: {
            checkLength(store, ref.weight, n * dtypeBytes(ref.weightDtype), name);
            const uint8_t* p = store.tensorData(ref.weight);
            if (ref.weightDtype == TensorDtype::BF16) {
                src.data = p;
            } else {
                scratch.resize(2 * n);
                for (size_t i = 0; i < n; ++i) {
                    const uint16_t b = floatToBf16(floatAt(p, ref.weightDtype, i));
                    std::memcpy(scratch.data() + 2 * i, &b, 2);
                }
                src.data = scratch.data();
            }
            break;
        }
        case WeightFormat::FP8: {
            checkLength(store, ref.weight, n, name);
            src.data = store.tensorData(ref.weight);
            // One weight_scale, or one per output row (per-channel FP8), converted to floats in `scratch`.
            const size_t count = store.tensor(ref.scale).length / dtypeBytes(ref.scaleDtype);
            if (count == static_cast<size_t>(ref.rows) && ref.rows > 1) {
                checkLength(store, ref.scale, count * dtypeBytes(ref.scaleDtype), name + " weight_scale");
                scratch.resize(count * sizeof(float));
                const uint8_t* p = store.tensorData(ref.scale);
                for (size_t i = 0; i < count; ++i) {
                    const float v = floatAt(p, ref.scaleDtype, i);
                    std::memcpy(scratch.data() + i * sizeof(float), &v, sizeof(float));
                }
                src.rowScales = reinterpret_cast<const float*>(scratch.data());
            } else {
                src.scale = scalarValue(store, ref.scale, ref.scaleDtype, name + " weight_scale");
            }
            break;
        }
        case WeightFormat::NVFP4:
            if (ref.cols % 16 != 0) throw std::runtime_error(name + ": NVFP4 needs cols divisible by 16");
            checkLength(store, ref.weight, n / 2, name);
            checkLength(store, ref.blockScales, n / 16, name + " block scales");
            src.data = store.tensorData(ref.weight);
            src.blockScales = store.tensorData(ref.blockScales);
            src.scale = scalarValue(store, ref.scale, ref.scaleDtype, name + " weight_global_scale");
            if (!(src.scale > 0) || !std::isfinite(src.scale)) {
                throw std::runtime_error(name + ": weight_global_scale must be a positive finite number");
            }
            break;
    }
    return src;
}

LinearSource permutedRows(const LinearSource& src, const std::vector<int>& from, std::vector<uint8_t>& scratch) {
    if (static_cast<int>(from.size()) != src.rows) throw std::runtime_error("permutedRows: one source row per row");
    const size_t n = static_cast<size_t>(src.cols);
    const size_t rowBytes = src.format == WeightFormat::BF16 ? 2 * n : src.format == WeightFormat::FP8 ? n : n / 2;
    const size_t scaleBytes = src.format == WeightFormat::NVFP4 ? n / 16 : 0;
    scratch.resize((rowBytes + scaleBytes) * src.rows);
    uint8_t* data = scratch.data();
    uint8_t* scales = data + rowBytes * src.rows;
    for (int r = 0; r < src.rows; ++r) {
        const int f = from[r];
        if (f < 0 || f >= src.rows) throw std::runtime_error("permutedRows: source row out of range");
        std::memcpy(data + rowBytes * r, src.data + rowBytes * f, rowBytes);
        if (scaleBytes != 0) std::memcpy(scales + scaleBytes * r, src.blockScales + scaleBytes * f, scaleBytes);
    }
    LinearSource out = src;
    out.data = data;
    out.blockScales = scaleBytes != 0 ? scales : nullptr;
    return out;
}

std::vector<float> normWeights(const WeightStore& store, const NormRef& ref, const std::string& name) {
    checkLength(store, ref.weight, static_cast<size_t>(ref.size) * dtypeBytes(ref.dtype), name);
    std::vector<float> out(ref.size);
    const uint8_t* p = store.tensorData(ref.weight);
    for (int i = 0; i < ref.size; ++i) out[i] = floatAt(p, ref.dtype, i);
    return out;
}

void releaseSource(const WeightStore& store, const LinearRef& ref) {
    for (int t : {ref.weight, ref.blockScales}) {
        if (t >= 0) store.releaseTensor(t);
    }
}

}  // namespace ms4
