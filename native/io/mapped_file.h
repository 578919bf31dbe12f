// A read-only memory mapping of a whole file. Errors are thrown as std::runtime_error naming the file.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace ms4 {

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

    // Hint that [offset, offset + length) will be read soon / is no longer needed.
    void adviseWillNeed(size_t offset, size_t length) const;
    void adviseDontNeed(size_t offset, size_t length) const;

   private:
    MappedFile(std::string path, const uint8_t* data, size_t size, void* handle);
    std::string path_;
    const uint8_t* data_;
    size_t size_;
    void* handle_;  // Windows mapping handle; unused on POSIX
};

}  // namespace ms4
