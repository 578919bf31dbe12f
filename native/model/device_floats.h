// A float buffer in backend memory, freed with the backend.
#pragma once
#include <cstddef>
#include <vector>

#include "backend/backend.h"

namespace ms4 {

class DeviceFloats {
   public:
    DeviceFloats() = default;
    DeviceFloats(Backend* b, size_t n) : backend_(b), data_(n ? b->allocFloats(n) : nullptr), size_(n) {}
    DeviceFloats(DeviceFloats&& o) noexcept { *this = std::move(o); }
    DeviceFloats& operator=(DeviceFloats&& o) noexcept {
        reset();
        backend_ = o.backend_;
        data_ = o.data_;
        size_ = o.size_;
        o.data_ = nullptr;
        o.size_ = 0;
        return *this;
    }
    ~DeviceFloats() { reset(); }
    float* get() const { return data_; }
    size_t size() const { return size_; }
    void reset() {
        if (data_) backend_->freeFloats(data_);
        data_ = nullptr;
        size_ = 0;
    }

   private:
    Backend* backend_ = nullptr;
    float* data_ = nullptr;
    size_t size_ = 0;
};

// `host` copied into a new backend buffer.
inline DeviceFloats uploadFloats(Backend* b, const std::vector<float>& host) {
    DeviceFloats d(b, host.size());
    b->upload(d.get(), host.data(), host.size());
    return d;
}

}  // namespace ms4
