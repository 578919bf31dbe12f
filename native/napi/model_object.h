// NativeModel: the JS handle over a Mistral4Model. load() repacks weights on a worker thread; step() runs one
// forward (+ sampling) and encodeImages() one vision-encoder pass on a worker thread, one call at a time, and resolve
// with typed arrays. Errors become rejected Promises.
#pragma once
#include <napi.h>

#include <atomic>
#include <memory>

#include "model/mistral4.h"

namespace ms4 {

class ModelObject : public Napi::ObjectWrap<ModelObject> {
   public:
    static Napi::Function Define(Napi::Env env);
    explicit ModelObject(const Napi::CallbackInfo& info);

    std::shared_ptr<Mistral4Model> model() const { return model_; }
    void setModel(std::shared_ptr<Mistral4Model> m) { model_ = std::move(m); }
    std::atomic<bool>& busy() { return busy_; }
    std::atomic<bool>& cancel() { return cancel_; }

   private:
    Napi::Value Load(const Napi::CallbackInfo& info);  // load(weights, spec, onProgress?) -> Promise<void>
    Napi::Value Step(const Napi::CallbackInfo& info);  // step(batch) -> Promise<result>
    // encodeImages({ patchRows, patchCols, pixels }) -> Promise<Float32Array [tokens, hidden]>
    Napi::Value EncodeImages(const Napi::CallbackInfo& info);
    Napi::Value Info(const Napi::CallbackInfo& info);
    Napi::Value Dispose(const Napi::CallbackInfo& info);

    std::shared_ptr<Mistral4Model> model_;
    std::atomic<bool> busy_{false};
    std::atomic<bool> cancel_{false};
    bool disposed_ = false;
};

}  // namespace ms4
