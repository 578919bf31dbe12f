#include "cpu/thread_pool.h"

#include <algorithm>

namespace ms4::cpu {

namespace {

thread_local bool tlInsideParallel = false;  // set in workers, and in a caller while it runs a job

// Spin iterations before a worker sleeps on the condition variable (decode issues many small jobs in a row).
constexpr int kWorkerSpins = 20000;
constexpr int kCallerSpinsBeforeYield = 2000;

inline void cpuRelax() {
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
    __builtin_ia32_pause();
#elif defined(__aarch64__) && (defined(__GNUC__) || defined(__clang__))
    asm volatile("yield");
#endif
}

}  // namespace

ThreadPool::ThreadPool(int threads) {
    if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    workers_.reserve(threads - 1);
    for (int i = 0; i < threads - 1; ++i) workers_.emplace_back([this] { workerLoop(); });
}

ThreadPool::~ThreadPool() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        stop_.store(true);
        generation_.fetch_add(1, std::memory_order_release);
    }
    cv_.notify_all();
    for (std::thread& t : workers_) t.join();
}

void ThreadPool::runChunks() {
    for (;;) {
        const int64_t begin = next_.fetch_add(grain_, std::memory_order_relaxed);
        if (begin >= n_) return;
        const int64_t end = std::min(n_, begin + grain_);
        try {
            (*fn_)(begin, end);
        } catch (...) {
            std::lock_guard<std::mutex> lock(errorMutex_);
            if (!error_) error_ = std::current_exception();
            next_.store(n_, std::memory_order_relaxed);  // stop handing out work
        }
    }
}

void ThreadPool::workerLoop() {
    tlInsideParallel = true;
    uint64_t seen = 0;
    for (;;) {
        int spins = 0;
        while (generation_.load(std::memory_order_acquire) == seen) {
            if (++spins < kWorkerSpins) {
                cpuRelax();
                continue;
            }
            std::unique_lock<std::mutex> lock(mu_);
            cv_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
        }
        seen = generation_.load(std::memory_order_acquire);
        if (stop_.load()) return;
        runChunks();
        pending_.fetch_sub(1, std::memory_order_acq_rel);
    }
}

void ThreadPool::parallelFor(int64_t n, const RangeFn& fn, int64_t grain) {
    if (n <= 0) return;
    const int threads = size();
    if (grain <= 0) grain = (n + threads - 1) / threads;
    if (tlInsideParallel || workers_.empty() || n <= grain) {
        fn(0, n);  // nested, single-threaded, or one range: inline
        return;
    }
    std::lock_guard<std::mutex> submit(submitMutex_);
    fn_ = &fn;
    n_ = n;
    grain_ = grain;
    next_.store(0, std::memory_order_relaxed);
    error_ = nullptr;
    pending_.store(static_cast<int>(workers_.size()), std::memory_order_relaxed);
    {
        std::lock_guard<std::mutex> lock(mu_);
        generation_.fetch_add(1, std::memory_order_release);
    }
    cv_.notify_all();

    tlInsideParallel = true;
    runChunks();
    tlInsideParallel = false;
    for (int spins = 0; pending_.load(std::memory_order_acquire) != 0; ++spins) {
        if (spins < kCallerSpinsBeforeYield) {
            cpuRelax();
        } else {
            std::this_thread::yield();
        }
    }
    fn_ = nullptr;
    if (error_) {
        std::exception_ptr e = error_;
        error_ = nullptr;
        std::rethrow_exception(e);
    }
}

}  // namespace ms4::cpu
