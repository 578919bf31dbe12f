// The checkpoint's bytes as seen by native code: mapped safetensors files and the byte range of each tensor.
// TypeScript parses headers and decides what every tensor is (the load plan); this class only maps the
// files and re-checks, defensively, that every range lies inside its file before anything reads it, that each file
// is the one TypeScript parsed, and (checkUnchanged) that no file changed while its bytes were being read.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "io/mapped_file.h"

namespace ms4 {

struct TensorRange {
    std::string name;
    uint32_t file = 0;    // index into WeightStore::files()
    uint64_t offset = 0;  // absolute byte offset in the file
    uint64_t length = 0;  // bytes
};

struct FileSpec {
    FileSpec() = default;
    FileSpec(std::string filePath, uint64_t size) : path(std::move(filePath)), expectedSize(size) {}

    std::string path;
    uint64_t expectedSize = 0;  // the size TS saw when it parsed the header; a mismatch means the file changed
    // The file TS parsed (device, inode, modification time), when given: the mapped file must be that one.
    bool hasIdentity = false;
    FileIdentity identity;
};

class WeightStore {
   public:
    // Progress: (phase, done, total). Phases: "map" (files), "read" (bytes paged in).
    using Progress = std::function<void(const char* phase, uint64_t done, uint64_t total)>;
    using Cancelled = std::function<bool()>;

    // Maps every file and validates every range. Throws std::runtime_error naming the file/tensor on failure.
    void open(const std::vector<FileSpec>& files, std::vector<TensorRange> tensors, const Progress& progress,
              const Cancelled& cancelled);
    // Pages every tensor's bytes in (sequentially, file by file) so that later repacking streams from memory.
    void prefetch(const Progress& progress, const Cancelled& cancelled) const;

    size_t tensorCount() const { return tensors_.size(); }
    const TensorRange& tensor(size_t i) const { return tensors_.at(i); }
    const uint8_t* tensorData(size_t i) const;
    // Drops tensor i's pages from this process (they stay readable: the file is paged in again on access).
    void releaseTensor(size_t i) const;
    // Throws, naming the file, when one changed since it was mapped (MappedFile::checkUnchanged). Reads that went
    // past a truncated file's end read zeros; a load calls this after its last read and before using what it read.
    void checkUnchanged() const;
    // True once a read of any mapped file faulted (a file was truncated under its mapping); cheap, for polling.
    bool faulted() const;
    // Tensor i's file (for the identity checks of callers that copy bytes out).
    const MappedFile& fileOf(size_t i) const { return *files_.at(tensors_.at(i).file); }
    uint64_t mappedBytes() const;
    void close();

   private:
    std::vector<std::unique_ptr<MappedFile>> files_;
    std::vector<TensorRange> tensors_;
};

}  // namespace ms4
