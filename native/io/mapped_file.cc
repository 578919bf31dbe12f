#include "io/mapped_file.h"

#include <cerrno>
#include <cstring>
#include <stdexcept>

#ifdef _WIN32
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#else
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

namespace ms4 {

namespace {
[[noreturn]] void fail(const std::string& path, const char* what) {
#ifdef _WIN32
    throw std::runtime_error(path + ": " + what + " (error " + std::to_string(GetLastError()) + ")");
#else
    throw std::runtime_error(path + ": " + what + " (" + std::strerror(errno) + ")");
#endif
}
}  // namespace

MappedFile::MappedFile(std::string path, const uint8_t* data, size_t size, void* handle)
    : path_(std::move(path)), data_(data), size_(size), handle_(handle) {}

#ifdef _WIN32
std::unique_ptr<MappedFile> MappedFile::open(const std::string& path) {
    HANDLE file = CreateFileA(path.c_str(), GENERIC_READ, FILE_SHARE_READ, nullptr, OPEN_EXISTING,
                              FILE_ATTRIBUTE_NORMAL, nullptr);
    if (file == INVALID_HANDLE_VALUE) fail(path, "cannot open file");
    LARGE_INTEGER size;
    if (!GetFileSizeEx(file, &size)) {
        CloseHandle(file);
        fail(path, "cannot read file size");
    }
    if (size.QuadPart == 0) {
        CloseHandle(file);
        return std::unique_ptr<MappedFile>(new MappedFile(path, nullptr, 0, nullptr));
    }
    HANDLE mapping = CreateFileMappingA(file, nullptr, PAGE_READONLY, 0, 0, nullptr);
    CloseHandle(file);
    if (!mapping) fail(path, "cannot create file mapping");
    void* data = MapViewOfFile(mapping, FILE_MAP_READ, 0, 0, 0);
    if (!data) {
        CloseHandle(mapping);
        fail(path, "cannot map file");
    }
    return std::unique_ptr<MappedFile>(
        new MappedFile(path, static_cast<const uint8_t*>(data), static_cast<size_t>(size.QuadPart), mapping));
}

MappedFile::~MappedFile() {
    if (data_) UnmapViewOfFile(data_);
    if (handle_) CloseHandle(static_cast<HANDLE>(handle_));
}

void MappedFile::adviseWillNeed(size_t, size_t) const {}
void MappedFile::adviseDontNeed(size_t, size_t) const {}
#else
std::unique_ptr<MappedFile> MappedFile::open(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail(path, "cannot open file");
    struct stat st;
    if (fstat(fd, &st) != 0) {
        ::close(fd);
        fail(path, "cannot stat file");
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        throw std::runtime_error(path + ": not a regular file");
    }
    size_t size = static_cast<size_t>(st.st_size);
    if (size == 0) {
        ::close(fd);
        return std::unique_ptr<MappedFile>(new MappedFile(path, nullptr, 0, nullptr));
    }
    void* data = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    ::close(fd);
    if (data == MAP_FAILED) fail(path, "cannot map file");
    return std::unique_ptr<MappedFile>(new MappedFile(path, static_cast<const uint8_t*>(data), size, nullptr));
}

MappedFile::~MappedFile() {
    if (data_) munmap(const_cast<uint8_t*>(data_), size_);
}

namespace {
void advise(const uint8_t* base, size_t size, size_t offset, size_t length, int advice) {
    if (!base || offset >= size) return;
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    size_t start = offset / page * page;
    size_t end = offset + length < size ? offset + length : size;
    madvise(const_cast<uint8_t*>(base) + start, end - start, advice);
}
}  // namespace

void MappedFile::adviseWillNeed(size_t offset, size_t length) const {
    advise(data_, size_, offset, length, MADV_WILLNEED);
}
void MappedFile::adviseDontNeed(size_t offset, size_t length) const {
    advise(data_, size_, offset, length, MADV_DONTNEED);
}
#endif

}  // namespace ms4
