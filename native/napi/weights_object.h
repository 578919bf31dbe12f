// NativeWeights: the JS handle over a WeightStore. load() maps and validates on a worker thread and
// returns a Promise; errors become rejections, never aborts; an environment shutting down stops the load
// early and settles nothing (napi/env_state.h).
#pragma once
#include <napi.h>

#include <atomic>
#include <memory>

#include "io/weight_store.h"

namespace ms4 {

// The flags a NativeWeights shares with its in-flight load, which may outlive the JS object.
struct WeightsLoadFlags {
    std::atomic<bool> busy{false};
    std::atomic<bool> cancel{false};
};

class WeightsObject : public Napi::ObjectWrap<WeightsObject> {
   public:
    static Napi::Function Define(Napi::Env env);
    // The WeightsObject behind a JS value, or nullptr when it is not a NativeWeights (checked by type tag).
    static WeightsObject* FromValue(const Napi::Value& value);
    explicit WeightsObject(const Napi::CallbackInfo& info);

    // Used by workers: the store, and the flags they share with JS.
    std::shared_ptr<WeightStore> store() const { return store_; }
    std::shared_ptr<WeightsLoadFlags> loadFlags() const { return flags_; }

   private:
    Napi::Value Load(const Napi::CallbackInfo& info);        // load(plan, onProgress?) -> Promise<void>
    Napi::Value ReadTensor(const Napi::CallbackInfo& info);  // readTensor(index, offset?, length?) -> Buffer
    Napi::Value Abort(const Napi::CallbackInfo& info);       // abort(): cancels an in-flight load
    Napi::Value Dispose(const Napi::CallbackInfo& info);     // dispose(): unmaps everything
    Napi::Value Stats(const Napi::CallbackInfo& info);       // stats() -> { mappedBytes, tensorCount }

    std::shared_ptr<WeightStore> store_ = std::make_shared<WeightStore>();
    std::shared_ptr<WeightsLoadFlags> flags_ = std::make_shared<WeightsLoadFlags>();
    bool disposed_ = false;
};

}  // namespace ms4
