// Per-step scratch buffers that outlive the step: a prefill step's MoE needs ~100 MB of gathered inputs, hidden rows
// and outputs (T = 512 tokens, 5 experts each), and a fresh allocation of that size per call costs a page fault and
// the kernel's zeroing of every page, every layer: measured on the 2-core VM, with std::vector's own zero fill, about
// a third of a 512-token prefill. The pool keeps freed buffers for the next call; they are freed with the backend.
// Buffers are 64-byte aligned on ordinary pages and their contents are undefined.
#pragma once
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

#include "cpu/aligned.h"

namespace ms4::cpu {

class ScratchPool {
    struct Buffer {
        AlignedPtr data;
        size_t bytes = 0;
    };

   public:
    // A buffer of at least `bytes`, returned to the pool when the lease ends. Safe from any thread: concurrent leases
    // get different buffers.
    class Lease {
       public:
        Lease() = default;
        Lease(ScratchPool* pool, Buffer b) : pool_(pool), buffer_(std::move(b)) {}
        Lease(Lease&& o) noexcept : pool_(o.pool_), buffer_(std::move(o.buffer_)) { o.pool_ = nullptr; }
        Lease& operator=(Lease&& o) noexcept {
            release();
            pool_ = o.pool_;
            buffer_ = std::move(o.buffer_);
            o.pool_ = nullptr;
            return *this;
        }
        Lease(const Lease&) = delete;
        Lease& operator=(const Lease&) = delete;
        ~Lease() { release(); }
        uint8_t* get() const { return buffer_.data.get(); }
        template <typename T>
        T* as() const {
            return reinterpret_cast<T*>(buffer_.data.get());
        }

       private:
        void release() {
            if (pool_ != nullptr && buffer_.data) pool_->giveBack(std::move(buffer_));
            pool_ = nullptr;
        }
        ScratchPool* pool_ = nullptr;
        Buffer buffer_;
    };

    // The smallest free buffer that holds `bytes`, else a new one (the largest free buffer is dropped first when
    // it is too small, so the pool holds at most as many buffers as were ever leased at once).
    Lease take(size_t bytes, const char* what) {
        Buffer b;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            int best = -1, largest = -1;
            for (int i = 0; i < static_cast<int>(free_.size()); ++i) {
                if (free_[i].bytes >= bytes && (best < 0 || free_[i].bytes < free_[best].bytes)) best = i;
                if (largest < 0 || free_[i].bytes > free_[largest].bytes) largest = i;
            }
            const int pick = best >= 0 ? best : largest;
            if (pick >= 0) {
                b = std::move(free_[pick]);
                free_.erase(free_.begin() + pick);
            }
        }
        if (b.bytes < bytes) {
            b.data = alignedAlloc(bytes, what);  // the old (too small) buffer, if any, is freed here
            b.bytes = bytes;
        }
        return Lease(this, std::move(b));
    }

   private:
    void giveBack(Buffer b) {
        std::lock_guard<std::mutex> lock(mutex_);
        free_.push_back(std::move(b));
    }
    std::mutex mutex_;
    std::vector<Buffer> free_;
};

}  // namespace ms4::cpu
