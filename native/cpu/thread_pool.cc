#include "cpu/thread_pool.h"

#include <algorithm>

namespace ms4::cpu {

struct ThreadPool::Job {
    const RangeFn* fn = nullptr;  // valid while some range is unfinished (the caller waits for that)
    int64_t n = 0;
    int64_t grain = 1;
    std::atomic<int64_t> next{0};  // first unclaimed item
    std::atomic<int> inFlight{0};  // participants between "about to claim" and "done with the claimed range"
    std::mutex errorMutex;
    std::exception_ptr error;
};

namespace {

thread_local bool tlInsideParallel = false;  // set in workers, and in a caller while it runs a job

// Pause-loop iterations before a worker sleeps (tens of µs: bridges the gaps between a step's many small jobs
// without burning a core when idle), and before a waiting caller starts yielding its time slice.
constexpr int kWorkerSpins = 1000;
constexpr int kCallerSpinsBeforeYield = 200;

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
        generation_.fetch_add(1);
    }
    cv_.notify_all();
    for (std::thread& t : workers_) t.join();
}

// Claims and runs ranges until none is left. inFlight is raised before each claim and lowered after the claimed
// range has run, so a caller that has seen the counter exhausted and inFlight == 0 knows every range finished.
void ThreadPool::runChunks(Job& job) {
    for (;;) {
        job.inFlight.fetch_add(1);
        const int64_t begin = job.next.fetch_add(job.grain);
        if (begin >= job.n) {
            job.inFlight.fetch_sub(1);
            return;
        }
        const int64_t end = std::min(job.n, begin + job.grain);
        try {
            (*job.fn)(begin, end);
        } catch (...) {
            std::lock_guard<std::mutex> lock(job.errorMutex);
            if (!job.error) job.error = std::current_exception();
            job.next.store(job.n);  // hand out nothing more
        }
        job.inFlight.fetch_sub(1);
    }
}

void ThreadPool::workerLoop() {
    tlInsideParallel = true;
    uint64_t seen = 0;
    for (;;) {
        int spins = 0;
        while (generation_.load() == seen) {
            if (++spins < kWorkerSpins) {
                cpuRelax();
                continue;
            }
            std::unique_lock<std::mutex> lock(mu_);
            cv_.wait(lock, [&] { return generation_.load() != seen; });
        }
        std::shared_ptr<Job> job;
        {
            std::lock_guard<std::mutex> lock(mu_);
            seen = generation_.load();
            job = current_;
        }
        if (stop_.load()) return;
        if (job) runChunks(*job);
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
    auto job = std::make_shared<Job>();
    job->fn = &fn;
    job->n = n;
    job->grain = grain;
    {
        std::lock_guard<std::mutex> lock(mu_);
        current_ = job;
        generation_.fetch_add(1);
    }
    cv_.notify_all();

    tlInsideParallel = true;
    runChunks(*job);
    tlInsideParallel = false;
    for (int spins = 0; job->inFlight.load() != 0; ++spins) {
        if (spins < kCallerSpinsBeforeYield) {
            cpuRelax();
        } else {
            std::this_thread::yield();
        }
    }
    {
        std::lock_guard<std::mutex> lock(mu_);
        current_.reset();  // late workers may still hold the job; they find it exhausted
    }
    if (job->error) std::rethrow_exception(job->error);
}

}  // namespace ms4::cpu
