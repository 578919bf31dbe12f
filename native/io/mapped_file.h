// A read-only memory mapping of a whole file. Errors are thrown as std::runtime_error naming the file.
// Reads of the mapping are guarded (io/fault_guard.h): a file truncated while mapped reads as zeros past its new end
// instead of killing the process with SIGBUS, and checkUnchanged() then reports it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace ms4 {

// Which file, and which version of it: what fstat says when the file is mapped.
struct FileIdentity {
    uint64_t device = 0;
    uint64_t inode = 0;
    uint64_t size = 0;
    int64_t mtimeNs = 0;  // last modification, nanoseconds since the epoch
};

class MappedFile {
   public:
    // Maps `path` read-only. Throws if the file cannot be opened or mapped.
    static std::unique_ptr<MappedFile> open(const std::string& path);
    ~MappedFile();
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    const uint8_t* data() const { return data_; }
    size_t size() const { return size_; }
    const std::string& path() const { return path_; }
    const FileIdentity& identity() const { return identity_; }

    // Throws, naming the file, when it changed since it was mapped: a read of the mapping faulted (the file was
    // truncated under it), or its size or modification time differ now. Safe to call from any thread.
    void checkUnchanged() const;
    // True once a read of the mapping faulted (cheap: polled between weights while loading).
    bool faulted() const;

    // Hint that [offset, offset + length) will be read soon / is no longer needed.
    void adviseWillNeed(size_t offset, size_t length) const;
    void adviseDontNeed(size_t offset, size_t length) const;

   private:
    MappedFile(std::string path, const uint8_t* data, size_t size, void* handle, int fd, const FileIdentity& identity);
    std::string path_;
    const uint8_t* data_;
    size_t size_;
    void* handle_;  // Windows mapping handle; unused on POSIX
    int fd_;        // POSIX: kept open so checkUnchanged() looks at the mapped file, not whatever the path names now
    FileIdentity identity_;
    int guard_ = -1;  // io/fault_guard.h handle of the mapping
};

}  // namespace ms4
