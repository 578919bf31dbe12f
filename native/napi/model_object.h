// NativeModel: the JS handle over a Mistral4Model. load() repacks weights on a worker thread; step() runs one
// forward (+ sampling) and encodeImages() one vision-encoder pass on a worker thread, one call at a time, and resolve
// with typed arrays. Errors become rejected Promises; an environment shutting down stops the work early and settles
// nothing (napi/env_state.h).
#pragma once
#include <napi.h>

#include <atomic>
#include <memory>

#include "model/mistral4.h"

namespace ms4 {

// What a NativeModel shares with its in-flight load or step. The work may outlive the JS object (collected
// while the work runs, or finalized when its environment shuts down), so it holds this, never the
// ModelObject. `model` is read and written on the JS thread only; the flags are also read by workers.
struct ModelState {
    std::shared_ptr<Mistral4Model> model;
    int maxStepTokens = 0;  // from the spec of the load (the scratch arena's token capacity)
    std::atomic<bool> busy{false};
    std::atomic<bool> cancel{false};
};

class ModelObject : public Napi::ObjectWrap<ModelObject> {
   public:
    static Napi::Function Define(Napi::Env env);
    explicit ModelObject(const Napi::CallbackInfo& info);

    std::shared_ptr<ModelState> state() const { return state_; }
    std::shared_ptr<Mistral4Model> model() const { return state_->model; }
    std::atomic<bool>& busy() { return state_->busy; }
    std::atomic<bool>& cancel() { return state_->cancel; }

   private:
    Napi::Value Load(const Napi::CallbackInfo& info);   // load(weights, spec, backend, onProgress?) -> Promise<void>
    Napi::Value Abort(const Napi::CallbackInfo& info);  // abort(): a running load stops at its next weight
    Napi::Value Step(const Napi::CallbackInfo& info);   // step(batch) -> Promise<result>
    // encodeImages({ patchRows, patchCols, pixels }) -> Promise<Float32Array [tokens, hidden]>
    Napi::Value EncodeImages(const Napi::CallbackInfo& info);
    Napi::Value Info(const Napi::CallbackInfo& info);
    Napi::Value Dispose(const Napi::CallbackInfo& info);

    std::shared_ptr<ModelState> state_ = std::make_shared<ModelState>();
    bool disposed_ = false;
};

}  // namespace ms4
