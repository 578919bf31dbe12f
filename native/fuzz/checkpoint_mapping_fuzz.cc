// libFuzzer target: the native side of a checkpoint (io/weight_store.h, model/weight_sources.h, the CPU backend's
// prepareLinear). The input is a file's bytes plus a load plan (expected size, tensor byte ranges) and a linear
// weight's description (format, shape, tensor indices, dtypes), all hostile. The file is mapped as a load maps it; the
// target then reads every accepted tensor, turns the weight into a LinearSource and repacks it on the CPU backend, and
// reads a norm and a scalar. Sometimes the file is truncated after it is mapped: the reads must not fault the process
// (io/fault_guard.h) and WeightStore::checkUnchanged must report it. Every failure must be an exception; a crash,
// a read outside an array or undefined behaviour is a finding. Build and run: scripts/fuzz/native-fuzz.sh mapping.
#include <fuzzer/FuzzedDataProvider.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "backend/create_backend.h"
#include "backend/input_checks.h"
#include "io/weight_store.h"
#include "model/weight_sources.h"

namespace {

ms4::Backend& backend() {
    static std::unique_ptr<ms4::Backend> be = [] {
        ms4::BackendOptions options;
        options.cpu.threads = 1;
        options.cpu.path = "portable";
        options.cpu.nvfp4Activations = "f32";
        options.cpu.hugePages = false;
        return ms4::createBackend(options);
    }();
    return *be;
}

ms4::TensorDtype dtype(FuzzedDataProvider& p) {
    static const ms4::TensorDtype all[] = {ms4::TensorDtype::F32, ms4::TensorDtype::BF16, ms4::TensorDtype::F16,
                                           ms4::TensorDtype::F8_E4M3, ms4::TensorDtype::U8};
    return p.PickValueInArray(all);
}

uint64_t dtypeBytes(ms4::TensorDtype d) {
    return d == ms4::TensorDtype::F32 ? 4 : d == ms4::TensorDtype::BF16 || d == ms4::TensorDtype::F16 ? 2 : 1;
}

uint64_t offsetNear(FuzzedDataProvider& p, uint64_t fileSize) {
    switch (p.ConsumeIntegralInRange(0, 3)) {
        case 0:
            return p.ConsumeIntegralInRange<uint64_t>(0, fileSize + 8);
        case 1:
            return fileSize - std::min<uint64_t>(fileSize, p.ConsumeIntegralInRange<uint64_t>(0, 16));
        case 2:
            return p.ConsumeIntegral<uint64_t>();
        default:
            return UINT64_MAX - p.ConsumeIntegralInRange<uint64_t>(0, 16);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
    FuzzedDataProvider p(bytes, size);
    const size_t tensorCount = p.ConsumeIntegralInRange<size_t>(0, 6);
    const bool truncateAfterMapping = p.ConsumeIntegralInRange(0, 7) == 0;
    const bool sizeLies = p.ConsumeIntegralInRange(0, 15) == 0;
    const bool plausible = p.ConsumeBool();
    ms4::LinearRef ref;
    ref.format = static_cast<ms4::WeightFormat>(p.ConsumeIntegralInRange(0, 2));
    ref.rows = p.ConsumeIntegralInRange(1, 8);
    ref.cols = 16 * p.ConsumeIntegralInRange(1, 3) + (p.ConsumeIntegralInRange(0, 7) == 0 ? 1 : 0);
    ref.weight = p.ConsumeIntegralInRange(-1, 6);
    ref.weightDtype = dtype(p);
    ref.blockScales = p.ConsumeIntegralInRange(-1, 6);
    ref.scale = p.ConsumeIntegralInRange(-1, 6);
    ref.scaleDtype = dtype(p);
    ms4::NormRef norm;
    norm.weight = p.ConsumeIntegralInRange(-1, 6);
    norm.dtype = dtype(p);
    norm.size = p.ConsumeIntegralInRange(1, 64);

    // The file: the rest of the input, at least one page so truncation can cut mapped pages.
    std::vector<uint8_t> content = p.ConsumeRemainingBytes<uint8_t>();
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    if (content.size() < 2 * page) content.resize(2 * page + content.size() % 97, 0x3c);
    const uint64_t fileSize = content.size();
    std::vector<ms4::TensorRange> tensors(tensorCount);
    FuzzedDataProvider plan(content.data(), std::min<size_t>(content.size(), 256));
    for (size_t i = 0; i < tensorCount; ++i) {
        tensors[i].name = "t" + std::to_string(i);
        tensors[i].file = plan.ConsumeIntegralInRange<uint32_t>(0, 1);
        tensors[i].offset = offsetNear(plan, fileSize);
        tensors[i].length = plan.ConsumeBool() ? plan.ConsumeIntegralInRange<uint64_t>(0, 512)
                                               : fileSize - std::min(fileSize, tensors[i].offset);
    }
    if (plausible && tensorCount >= 3) {
        // As a valid plan lays it out: the weight, its block scales and its scale back to back, of the sizes the
        // weight's shape and dtypes need (the fuzzer then only has to break one thing at a time).
        const uint64_t values = static_cast<uint64_t>(ref.rows) * static_cast<uint64_t>(ref.cols);
        const uint64_t weightBytes = ref.format == ms4::WeightFormat::NVFP4 ? values / 2
                                     : ref.format == ms4::WeightFormat::FP8 ? values
                                                                            : values * dtypeBytes(ref.weightDtype);
        const uint64_t lengths[] = {weightBytes, values / 16, dtypeBytes(ref.scaleDtype)};
        ref.weight = 0;
        ref.blockScales = 1;
        ref.scale = 2;
        norm.weight = 0;
        uint64_t offset = plan.ConsumeIntegralInRange<uint64_t>(0, 64);
        for (size_t i = 0; i < 3; ++i) {
            tensors[i] = {"t" + std::to_string(i), 0, offset, lengths[i]};
            offset += lengths[i];
        }
    }

    const int fd = memfd_create("ms4-fuzz-checkpoint", MFD_CLOEXEC);
    if (fd < 0) return 0;
    if (write(fd, content.data(), content.size()) != static_cast<ssize_t>(content.size())) {
        close(fd);
        return 0;
    }
    const std::string path = "/proc/self/fd/" + std::to_string(fd);
    ms4::WeightStore store;
    try {
        store.open(
            {ms4::FileSpec(path, sizeLies ? fileSize + 1 : fileSize)}, tensors, [](const char*, uint64_t, uint64_t) {},
            [] { return false; });
        if (truncateAfterMapping && ftruncate(fd, static_cast<off_t>(page / 2)) != 0) __builtin_trap();
        volatile uint8_t sink = 0;
        for (size_t i = 0; i < store.tensorCount(); ++i) {
            const uint8_t* data = store.tensorData(i);
            for (uint64_t b = 0; b < store.tensor(i).length; ++b) sink = sink + data[b];
        }
        (void)sink;
        std::vector<uint8_t> scratch;
        try {
            const ms4::LinearSource src = ms4::linearSource(store, ref, scratch, "fuzz");
            ms4::checkLinearSource(src);
            std::unique_ptr<ms4::LinearWeights> w = backend().prepareLinear(src);
            if (w == nullptr) __builtin_trap();
        } catch (const std::exception&) {
        }
        try {
            const std::vector<float> values = ms4::normWeights(store, norm, "fuzz norm");
            if (values.size() != static_cast<size_t>(norm.size)) __builtin_trap();
            (void)ms4::scalarValue(store, ref.scale, ref.scaleDtype, "fuzz scalar");
        } catch (const std::exception&) {
        }
        bool reported = false;
        try {
            store.checkUnchanged();
        } catch (const std::runtime_error&) {
            reported = true;
        }
        // A truncation under the mapping is always reported (the size differs even when no read faulted).
        if (truncateAfterMapping && !reported) __builtin_trap();
    } catch (const std::exception&) {
    }
    store.close();
    close(fd);
    return 0;
}
