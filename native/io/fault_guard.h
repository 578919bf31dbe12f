// Reads of a mapped checkpoint file that cannot kill the process. When a mapped file is truncated (or rewritten
// shorter) by someone else, the kernel raises SIGBUS on the first read of a page past its new end; Node.js leaves
// SIGBUS at its default action, which ends the process. While a range is guarded, a SIGBUS inside it puts
// zero-filled anonymous pages over the rest of the range (from the faulting page on), so the read goes on and sees
// zeros, and marks the range as faulted. The loader checks the mark (and the file itself, MappedFile::checkUnchanged)
// once the reads are done and fails the load with an error. A SIGBUS anywhere else goes to the handler that was
// installed before (or to the default action). POSIX only; on Windows the functions do nothing.
#pragma once
#include <cstddef>

namespace ms4::fault_guard {

// Starts guarding [base, base + size) (page-aligned base, as mmap returns it). Returns a handle for the calls below.
// Throws std::runtime_error when the registry (kMaxGuardedRanges ranges at once, across the process) is full.
int guard(const void* base, size_t size);

// Stops guarding. Call before unmapping the range.
void release(int handle);

// True once a read in the range faulted (its pages from the fault on now read as zeros).
bool faulted(int handle);

// Faults caught so far in this process, in every range (for tests and diagnostics).
unsigned long faultCount();

constexpr int kMaxGuardedRanges = 4096;

}  // namespace ms4::fault_guard
