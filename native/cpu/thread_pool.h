// A persistent thread pool for the CPU kernels: threads are created once; parallelFor splits [0, n) into
// ranges handed out through an atomic counter (static chunking by default, or fixed-size chunks for uneven
// work); the calling thread takes part; a parallelFor issued from inside a running parallelFor (a worker, or
// the caller while it participates) runs inline, so nesting is safe. Exceptions thrown by `fn` are rethrown in
// the caller after every participant has finished.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace ms4::cpu {

class ThreadPool {
   public:
    using RangeFn = std::function<void(int64_t begin, int64_t end)>;

    // threads <= 0: std::thread::hardware_concurrency() (at least 1). The pool runs threads - 1 workers.
    explicit ThreadPool(int threads = 0);
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    int size() const { return static_cast<int>(workers_.size()) + 1; }

    // Calls fn(begin, end) over disjoint ranges covering [0, n). grain <= 0: static chunking, about one
    // contiguous range per thread; grain > 0: ranges of `grain` items taken by whichever thread is free.
    void parallelFor(int64_t n, const RangeFn& fn, int64_t grain = 0);

   private:
    void workerLoop();
    void runChunks();

    std::vector<std::thread> workers_;
    std::mutex submitMutex_;  // one job at a time when several outside threads share the pool
    std::mutex mu_;
    std::condition_variable cv_;
    std::atomic<uint64_t> generation_{0};
    std::atomic<bool> stop_{false};

    // The current job (written by the submitter before generation_ is bumped).
    const RangeFn* fn_ = nullptr;
    int64_t n_ = 0;
    int64_t grain_ = 1;
    std::atomic<int64_t> next_{0};
    std::atomic<int> pending_{0};  // workers that have not yet finished the current generation
    std::mutex errorMutex_;
    std::exception_ptr error_;
};

}  // namespace ms4::cpu
