// A persistent thread pool for the CPU kernels: threads are created once; parallelFor splits [0, n) into
// ranges handed out through an atomic counter (static chunking by default, or fixed-size chunks for uneven
// work); the calling thread takes part; a parallelFor issued from inside a running parallelFor (a worker, or
// the caller while it participates) runs inline, so nesting is safe. The caller returns as soon as every range
// has run: it never waits for a worker that is asleep or descheduled (late workers find the job exhausted; the
// job object is shared, so they never touch freed state). Exceptions thrown by `fn` stop the handing out of
// further ranges and are rethrown in the caller once the ranges in flight have finished.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
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
    struct Job;
    void workerLoop();
    static void runChunks(Job& job);

    std::vector<std::thread> workers_;
    std::mutex submitMutex_;  // one job at a time when several outside threads share the pool
    std::mutex mu_;           // guards current_ and sleeping workers
    std::condition_variable cv_;
    std::shared_ptr<Job> current_;
    std::atomic<uint64_t> generation_{0};
    std::atomic<bool> stop_{false};
};

}  // namespace ms4::cpu
