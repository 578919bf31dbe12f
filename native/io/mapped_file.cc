#include "io/mapped_file.h"

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <utility>

#ifdef _WIN32
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#else
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

#include "io/fault_guard.h"

namespace ms4 {

namespace {
#ifndef _WIN32
FileIdentity identityOf(const struct stat& st) {
    FileIdentity id;
    id.device = static_cast<uint64_t>(st.st_dev);
    id.inode = static_cast<uint64_t>(st.st_ino);
    id.size = static_cast<uint64_t>(st.st_size);
#ifdef __APPLE__
    const struct timespec& mtime = st.st_mtimespec;
#else
    const struct timespec& mtime = st.st_mtim;
#endif
    id.mtimeNs = static_cast<int64_t>(mtime.tv_sec) * 1000000000 + mtime.tv_nsec;
    return id;
}
#endif

[[noreturn]] void fail(const std::string& path, const char* what) {
#ifdef _WIN32
    throw std::runtime_error(path + ": " + what + " (error " + std::to_string(GetLastError()) + ")");
#else
    throw std::runtime_error(path + ": " + what + " (" + std::strerror(errno) + ")");
#endif
}
}  // namespace

MappedFile::MappedFile(std::string path, const uint8_t* data, size_t size, void* handle, int fd,
                       const FileIdentity& identity)
    : path_(std::move(path)), data_(data), size_(size), handle_(handle), fd_(fd), identity_(identity) {}

bool MappedFile::faulted() const { return fault_guard::faulted(guard_); }

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
        return std::unique_ptr<MappedFile>(new MappedFile(path, nullptr, 0, nullptr, -1, FileIdentity{}));
    }
    HANDLE mapping = CreateFileMappingA(file, nullptr, PAGE_READONLY, 0, 0, nullptr);
    CloseHandle(file);
    if (!mapping) fail(path, "cannot create file mapping");
    void* data = MapViewOfFile(mapping, FILE_MAP_READ, 0, 0, 0);
    if (!data) {
        CloseHandle(mapping);
        fail(path, "cannot map file");
    }
    FileIdentity identity;
    identity.size = static_cast<uint64_t>(size.QuadPart);
    return std::unique_ptr<MappedFile>(new MappedFile(path, static_cast<const uint8_t*>(data),
                                                      static_cast<size_t>(size.QuadPart), mapping, -1, identity));
}

MappedFile::~MappedFile() {
    if (data_) UnmapViewOfFile(data_);
    if (handle_) CloseHandle(static_cast<HANDLE>(handle_));
}

void MappedFile::checkUnchanged() const {}

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
    const FileIdentity identity = identityOf(st);
    size_t size = static_cast<size_t>(st.st_size);
    if (size == 0) return std::unique_ptr<MappedFile>(new MappedFile(path, nullptr, 0, nullptr, fd, identity));
    void* data = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (data == MAP_FAILED) {
        const int error = errno;
        ::close(fd);
        errno = error;
        fail(path, "cannot map file");
    }
    std::unique_ptr<MappedFile> file(
        new MappedFile(path, static_cast<const uint8_t*>(data), size, nullptr, fd, identity));
    file->guard_ = fault_guard::guard(data, size);
    return file;
}

MappedFile::~MappedFile() {
    fault_guard::release(guard_);
    if (data_) munmap(const_cast<uint8_t*>(data_), size_);
    if (fd_ >= 0) ::close(fd_);
}

void MappedFile::checkUnchanged() const {
    if (faulted()) {
        throw std::runtime_error(path_ + ": the file was truncated while it was being loaded (a read of its mapping " +
                                 "went past its end); nothing it held was used");
    }
    if (fd_ < 0) return;
    struct stat st;
    if (fstat(fd_, &st) != 0) fail(path_, "cannot stat file");
    const FileIdentity now = identityOf(st);
    if (now.size != identity_.size) {
        throw std::runtime_error(path_ + ": the file changed size while it was being loaded (" +
                                 std::to_string(identity_.size) + " bytes when mapped, " + std::to_string(now.size) +
                                 " now)");
    }
    if (now.mtimeNs != identity_.mtimeNs) {
        throw std::runtime_error(path_ + ": the file was modified while it was being loaded");
    }
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
