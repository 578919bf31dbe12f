#include "io/fault_guard.h"

#include <atomic>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <string>

#ifndef _WIN32
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#endif

namespace ms4::fault_guard {

#ifdef _WIN32
int guard(const void*, size_t) { return -1; }
void release(int) {}
bool faulted(int) { return false; }
unsigned long faultCount() { return 0; }
#else

namespace {

// A guarded range; end == 0 marks a free slot. The signal handler only reads these (lock-free atomics).
struct Range {
    std::atomic<uintptr_t> begin{0};
    std::atomic<uintptr_t> end{0};
    std::atomic<bool> faulted{false};
};

Range g_ranges[kMaxGuardedRanges];
std::atomic<unsigned long> g_faults{0};
std::mutex g_registry;  // taken by guard() and release(), never by the handler
struct sigaction g_previous;
bool g_installed = false;
uintptr_t g_pageSize = 4096;

static_assert(std::atomic<uintptr_t>::is_always_lock_free, "the SIGBUS handler needs lock-free atomics");
static_assert(std::atomic<bool>::is_always_lock_free, "the SIGBUS handler needs lock-free atomics");

// A SIGBUS that is not ours: the handler that was there before gets it. With the default action (or SIG_IGN, which
// the kernel does not honour for a fault), the default is restored and the faulting instruction runs again, so the
// process ends as it would have without this guard.
void passOn(int sig, siginfo_t* info, void* context) {
    if ((g_previous.sa_flags & SA_SIGINFO) != 0 && g_previous.sa_sigaction != nullptr) {
        g_previous.sa_sigaction(sig, info, context);
        return;
    }
    if ((g_previous.sa_flags & SA_SIGINFO) == 0 && g_previous.sa_handler != SIG_DFL &&
        g_previous.sa_handler != SIG_IGN) {
        g_previous.sa_handler(sig);
        return;
    }
    struct sigaction fallback;
    std::memset(&fallback, 0, sizeof fallback);
    fallback.sa_handler = SIG_DFL;
    sigemptyset(&fallback.sa_mask);
    sigaction(SIGBUS, &fallback, nullptr);
}

void onSigbus(int sig, siginfo_t* info, void* context) {
    const uintptr_t address = reinterpret_cast<uintptr_t>(info->si_addr);
    for (Range& r : g_ranges) {
        const uintptr_t end = r.end.load(std::memory_order_acquire);
        if (end == 0) continue;
        const uintptr_t begin = r.begin.load(std::memory_order_relaxed);
        if (address < begin || address >= end) continue;
        // Everything from the faulting page to the end of the range becomes zeros: a truncated file faults on every
        // page past its new end, and one replacement keeps a large read from taking one signal per page.
        const uintptr_t page = address & ~(g_pageSize - 1);
        void* zeros =
            mmap(reinterpret_cast<void*>(page), end - page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        if (zeros == MAP_FAILED) break;
        r.faulted.store(true, std::memory_order_release);
        g_faults.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    passOn(sig, info, context);
}

void installOnce() {
    if (g_installed) return;
    g_pageSize = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
    struct sigaction action;
    std::memset(&action, 0, sizeof action);
    action.sa_sigaction = onSigbus;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
    sigemptyset(&action.sa_mask);
    if (sigaction(SIGBUS, &action, &g_previous) != 0) {
        throw std::runtime_error(std::string("cannot install the SIGBUS guard of mapped files (") +
                                 std::strerror(errno) + ")");
    }
    g_installed = true;
}

Range& at(int handle) {
    if (handle < 0 || handle >= kMaxGuardedRanges) throw std::logic_error("fault_guard: bad handle");
    return g_ranges[handle];
}

}  // namespace

int guard(const void* base, size_t size) {
    if (base == nullptr || size == 0) return -1;
    std::lock_guard<std::mutex> lock(g_registry);
    installOnce();
    for (int i = 0; i < kMaxGuardedRanges; ++i) {
        Range& r = g_ranges[i];
        if (r.end.load(std::memory_order_relaxed) != 0) continue;
        r.faulted.store(false, std::memory_order_relaxed);
        r.begin.store(reinterpret_cast<uintptr_t>(base), std::memory_order_relaxed);
        r.end.store(reinterpret_cast<uintptr_t>(base) + size, std::memory_order_release);
        return i;
    }
    throw std::runtime_error("more than " + std::to_string(kMaxGuardedRanges) +
                             " checkpoint files are mapped at once in this process");
}

void release(int handle) {
    if (handle < 0) return;
    std::lock_guard<std::mutex> lock(g_registry);
    Range& r = at(handle);
    r.end.store(0, std::memory_order_release);
    r.begin.store(0, std::memory_order_relaxed);
    r.faulted.store(false, std::memory_order_relaxed);
}

bool faulted(int handle) { return handle >= 0 && at(handle).faulted.load(std::memory_order_acquire); }

unsigned long faultCount() { return g_faults.load(std::memory_order_relaxed); }

#endif

}  // namespace ms4::fault_guard
