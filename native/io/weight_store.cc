#include "io/weight_store.h"

#include <stdexcept>

namespace ms4 {

void WeightStore::open(const std::vector<FileSpec>& files, std::vector<TensorRange> tensors, const Progress& progress,
                       const Cancelled& cancelled) {
    close();
    std::vector<std::unique_ptr<MappedFile>> mapped;
    mapped.reserve(files.size());
    for (size_t i = 0; i < files.size(); ++i) {
        if (cancelled()) throw std::runtime_error("aborted");
        auto file = MappedFile::open(files[i].path);
        if (file->size() != files[i].expectedSize) {
            throw std::runtime_error(files[i].path + ": file size changed while loading (expected " +
                                     std::to_string(files[i].expectedSize) + " bytes, found " +
                                     std::to_string(file->size()) + ")");
        }
        if (files[i].hasIdentity) {
            const FileIdentity& want = files[i].identity;
            const FileIdentity& got = file->identity();
            if (got.device != want.device || got.inode != want.inode) {
                throw std::runtime_error(files[i].path + ": the file was replaced after its header was read");
            }
            if (got.mtimeNs != want.mtimeNs) {
                throw std::runtime_error(files[i].path + ": the file was modified after its header was read");
            }
        }
        mapped.push_back(std::move(file));
        progress("map", i + 1, files.size());
    }
    for (const TensorRange& t : tensors) {
        if (t.file >= mapped.size()) {
            throw std::runtime_error("tensor " + t.name + ": file index " + std::to_string(t.file) + " out of range");
        }
        const uint64_t size = mapped[t.file]->size();
        if (t.offset > size || t.length > size - t.offset) {
            throw std::runtime_error(mapped[t.file]->path() + ": tensor " + t.name + ": byte range [" +
                                     std::to_string(t.offset) + ", " + std::to_string(t.offset + t.length) +
                                     ") lies outside the file (" + std::to_string(size) + " bytes)");
        }
    }
    files_ = std::move(mapped);
    tensors_ = std::move(tensors);
}

void WeightStore::prefetch(const Progress& progress, const Cancelled& cancelled) const {
    uint64_t total = 0;
    for (const TensorRange& t : tensors_) total += t.length;
    uint64_t done = 0;
    volatile uint8_t sink = 0;
    constexpr uint64_t kPage = 4096;
    constexpr uint64_t kReportEvery = 64ull << 20;
    uint64_t lastReport = 0;
    for (const TensorRange& t : tensors_) {
        if (cancelled()) throw std::runtime_error("aborted");
        const MappedFile& file = *files_[t.file];
        file.adviseWillNeed(t.offset, t.length);
        const uint8_t* p = file.data() + t.offset;
        for (uint64_t o = 0; o < t.length; o += kPage) sink = sink + p[o];
        done += t.length;
        if (file.faulted()) file.checkUnchanged();
        if (done - lastReport >= kReportEvery || done == total) {
            progress("read", done, total);
            lastReport = done;
        }
    }
    (void)sink;
}

const uint8_t* WeightStore::tensorData(size_t i) const {
    const TensorRange& t = tensors_.at(i);
    return files_.at(t.file)->data() + t.offset;
}

void WeightStore::releaseTensor(size_t i) const {
    const TensorRange& t = tensors_.at(i);
    files_.at(t.file)->adviseDontNeed(t.offset, t.length);
}

void WeightStore::checkUnchanged() const {
    for (const auto& f : files_) f->checkUnchanged();
}

bool WeightStore::faulted() const {
    for (const auto& f : files_) {
        if (f->faulted()) return true;
    }
    return false;
}

uint64_t WeightStore::mappedBytes() const {
    uint64_t total = 0;
    for (const auto& f : files_) total += f->size();
    return total;
}

void WeightStore::close() {
    tensors_.clear();
    files_.clear();
}

}  // namespace ms4
