#include "napi/weights_object.h"

#include <cstring>
#include <string>
#include <vector>

#include "napi/env_state.h"
#include "napi/progress_events.h"
#include "napi/safe_settle.h"

namespace ms4 {

namespace {

uint64_t toByteCount(const Napi::Value& v, const std::string& what) {
    if (!v.IsNumber()) throw Napi::TypeError::New(v.Env(), what + " must be a number");
    double d = v.As<Napi::Number>().DoubleValue();
    if (!(d >= 0) || d > 9007199254740991.0 || d != static_cast<double>(static_cast<uint64_t>(d))) {
        throw Napi::RangeError::New(v.Env(), what + " must be a non-negative safe integer");
    }
    return static_cast<uint64_t>(d);
}

// A decimal string of an unsigned 64-bit value (device and inode numbers and nanosecond times come from JS as
// strings: they may exceed a double's exact integers).
uint64_t decimalU64(const Napi::Value& v, const std::string& what) {
    if (!v.IsString()) throw Napi::TypeError::New(v.Env(), what + " must be a decimal string");
    const std::string text = v.As<Napi::String>().Utf8Value();
    if (text.empty() || text.size() > 20 || text.find_first_not_of("0123456789") != std::string::npos) {
        throw Napi::RangeError::New(v.Env(), what + " must be a decimal string of at most 20 digits");
    }
    uint64_t value = 0;
    for (char c : text) {
        const uint64_t digit = static_cast<uint64_t>(c - '0');
        if (value > (UINT64_MAX - digit) / 10) throw Napi::RangeError::New(v.Env(), what + " does not fit 64 bits");
        value = value * 10 + digit;
    }
    return value;
}

// Completions never throw and settle nothing once the environment is shutting down (napi/safe_settle.h);
// the load holds the shared store and flags, never the JS object, and stops early when TeardownWatch sees
// its environment shutting down.
class LoadWorker : public Napi::AsyncProgressQueueWorker<ProgressEvent> {
   public:
    LoadWorker(Napi::Env env, WeightsObject* owner, std::vector<FileSpec> files, std::vector<TensorRange> tensors,
               bool prefetch, Napi::Function onProgress)
        : Napi::AsyncProgressQueueWorker<ProgressEvent>(env, "ms4:load"),
          deferred_(Napi::Promise::Deferred::New(env)),
          flags_(owner->loadFlags()),
          store_(owner->store()),
          files_(std::move(files)),
          tensors_(std::move(tensors)),
          prefetch_(prefetch),
          watch_(EnvState::of(env)) {
        if (!onProgress.IsEmpty()) onProgress_ = Napi::Persistent(onProgress);
        flags_->busy = true;
    }

    Napi::Promise promise() { return deferred_.Promise(); }

    void Execute(const ExecutionProgress& progress) override {
        watch_.start();
        try {
            auto report = [&](const char* phase, uint64_t done, uint64_t total) {
                ProgressEvent ev{phase, static_cast<double>(done), static_cast<double>(total)};
                progress.Send(&ev, 1);
            };
            auto cancelled = [&]() { return flags_->cancel.load() || watch_.stopping(); };
            store_->open(files_, std::move(tensors_), report, cancelled);
            if (prefetch_) store_->prefetch(report, cancelled);
        } catch (const std::exception& e) {
            store_->close();
            SetError(e.what());
        } catch (...) {
            store_->close();
            SetError("unknown native error while loading weights");
        }
    }

    void OnProgress(const ProgressEvent* data, size_t count) override {
        deliverProgress(Env(), onProgress_, data, count);
    }

    void OnOK() override {
        flags_->busy = false;
        resolveSafely(Env(), deferred_, [&] { return Env().Undefined(); });
    }

    void OnError(const Napi::Error& e) override {
        flags_->busy = false;
        rejectSafely(Env(), deferred_, e);
    }

   private:
    Napi::Promise::Deferred deferred_;
    std::shared_ptr<WeightsLoadFlags> flags_;
    Napi::FunctionReference onProgress_;
    std::shared_ptr<WeightStore> store_;
    std::vector<FileSpec> files_;
    std::vector<TensorRange> tensors_;
    bool prefetch_;
    TeardownWatch watch_;
};

}  // namespace

Napi::Function WeightsObject::Define(Napi::Env env) {
    return DefineClass(env, "NativeWeights",
                       {
                           InstanceMethod<&WeightsObject::Load>("load"),
                           InstanceMethod<&WeightsObject::ReadTensor>("readTensor"),
                           InstanceMethod<&WeightsObject::Abort>("abort"),
                           InstanceMethod<&WeightsObject::Dispose>("dispose"),
                           InstanceMethod<&WeightsObject::Stats>("stats"),
                       });
}

namespace {
const napi_type_tag kWeightsTag = {0x6d73345f77656967ULL, 0x6874735f74616731ULL};
}

WeightsObject::WeightsObject(const Napi::CallbackInfo& info) : Napi::ObjectWrap<WeightsObject>(info) {
    info.This().As<Napi::Object>().TypeTag(&kWeightsTag);
}

WeightsObject* WeightsObject::FromValue(const Napi::Value& value) {
    if (!value.IsObject()) return nullptr;
    Napi::Object o = value.As<Napi::Object>();
    if (!o.CheckTypeTag(&kWeightsTag)) return nullptr;
    return WeightsObject::Unwrap(o);
}

Napi::Value WeightsObject::Load(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (disposed_) throw Napi::Error::New(env, "NativeWeights has been disposed");
    if (flags_->busy) throw Napi::Error::New(env, "NativeWeights is already loading or in use by a model load");
    if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "load(plan): plan must be an object");
    Napi::Object plan = info[0].As<Napi::Object>();
    Napi::Value filesValue = plan.Get("files");
    Napi::Value tensorsValue = plan.Get("tensors");
    if (!filesValue.IsArray() || !tensorsValue.IsArray()) {
        throw Napi::TypeError::New(env, "load(plan): plan.files and plan.tensors must be arrays");
    }
    Napi::Array filesArray = filesValue.As<Napi::Array>();
    std::vector<FileSpec> files(filesArray.Length());
    for (uint32_t i = 0; i < filesArray.Length(); ++i) {
        Napi::Value fv = filesArray.Get(i);
        if (!fv.IsObject()) throw Napi::TypeError::New(env, "plan.files[" + std::to_string(i) + "] must be an object");
        Napi::Object f = fv.As<Napi::Object>();
        if (!f.Get("path").IsString()) throw Napi::TypeError::New(env, "plan.files[i].path must be a string");
        files[i].path = f.Get("path").As<Napi::String>().Utf8Value();
        files[i].expectedSize = toByteCount(f.Get("size"), "plan.files[i].size");
        Napi::Value identity = f.Get("identity");
        if (!identity.IsUndefined() && !identity.IsNull()) {
            if (!identity.IsObject()) throw Napi::TypeError::New(env, "plan.files[i].identity must be an object");
            Napi::Object id = identity.As<Napi::Object>();
            files[i].hasIdentity = true;
            files[i].identity.device = decimalU64(id.Get("dev"), "plan.files[i].identity.dev");
            files[i].identity.inode = decimalU64(id.Get("ino"), "plan.files[i].identity.ino");
            const uint64_t mtime = decimalU64(id.Get("mtimeNs"), "plan.files[i].identity.mtimeNs");
            if (mtime > static_cast<uint64_t>(INT64_MAX)) {
                throw Napi::RangeError::New(env, "plan.files[i].identity.mtimeNs is out of range");
            }
            files[i].identity.mtimeNs = static_cast<int64_t>(mtime);
            files[i].identity.size = files[i].expectedSize;
        }
    }
    Napi::Array tensorsArray = tensorsValue.As<Napi::Array>();
    std::vector<TensorRange> tensors(tensorsArray.Length());
    for (uint32_t i = 0; i < tensorsArray.Length(); ++i) {
        Napi::Value tv = tensorsArray.Get(i);
        if (!tv.IsObject()) throw Napi::TypeError::New(env, "plan.tensors[i] must be an object");
        Napi::Object t = tv.As<Napi::Object>();
        if (!t.Get("name").IsString()) throw Napi::TypeError::New(env, "plan.tensors[i].name must be a string");
        tensors[i].name = t.Get("name").As<Napi::String>().Utf8Value();
        const uint64_t file = toByteCount(t.Get("file"), "plan.tensors[i].file");
        if (file >= files.size()) {
            throw Napi::RangeError::New(env, "plan.tensors[" + std::to_string(i) + "].file = " + std::to_string(file) +
                                                 " names no file of the plan (" + std::to_string(files.size()) +
                                                 " files)");
        }
        tensors[i].file = static_cast<uint32_t>(file);
        tensors[i].offset = toByteCount(t.Get("offset"), "plan.tensors[i].offset");
        tensors[i].length = toByteCount(t.Get("length"), "plan.tensors[i].length");
    }
    bool prefetch = plan.Get("prefetch").ToBoolean();
    Napi::Function onProgress;
    if (info.Length() > 1 && info[1].IsFunction()) onProgress = info[1].As<Napi::Function>();
    flags_->cancel = false;
    auto* worker = new LoadWorker(env, this, std::move(files), std::move(tensors), prefetch, onProgress);
    Napi::Promise promise = worker->promise();
    worker->Queue();
    return promise;
}

Napi::Value WeightsObject::ReadTensor(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (disposed_) throw Napi::Error::New(env, "NativeWeights has been disposed");
    if (flags_->busy) throw Napi::Error::New(env, "NativeWeights is loading");
    uint64_t index = toByteCount(info[0], "index");
    if (index >= store_->tensorCount()) throw Napi::RangeError::New(env, "tensor index out of range");
    const TensorRange& t = store_->tensor(index);
    uint64_t offset = info.Length() > 1 && !info[1].IsUndefined() ? toByteCount(info[1], "offset") : 0;
    uint64_t length = info.Length() > 2 && !info[2].IsUndefined() ? toByteCount(info[2], "length")
                                                                  : t.length - std::min(offset, t.length);
    if (offset > t.length || length > t.length - offset) {
        throw Napi::RangeError::New(env, "readTensor: range outside tensor " + t.name);
    }
    Napi::Buffer<uint8_t> out = Napi::Buffer<uint8_t>::New(env, length);
    if (length) std::memcpy(out.Data(), store_->tensorData(index) + offset, length);
    // A file truncated under its mapping reads as zeros past its end (io/fault_guard.h): say so instead.
    try {
        if (store_->fileOf(index).faulted()) store_->fileOf(index).checkUnchanged();
    } catch (const std::exception& e) {
        throw Napi::Error::New(env, e.what());
    }
    return out;
}

Napi::Value WeightsObject::Abort(const Napi::CallbackInfo& info) {
    flags_->cancel = true;
    return info.Env().Undefined();
}

Napi::Value WeightsObject::Dispose(const Napi::CallbackInfo& info) {
    if (flags_->busy) {
        flags_->cancel = true;
        throw Napi::Error::New(info.Env(),
                               "NativeWeights is loading (or a model is loading from it); abort and await the load "
                               "before dispose");
    }
    store_->close();
    disposed_ = true;
    return info.Env().Undefined();
}

Napi::Value WeightsObject::Stats(const Napi::CallbackInfo& info) {
    Napi::Object out = Napi::Object::New(info.Env());
    bool readable = !flags_->busy;
    out.Set("mappedBytes", readable ? static_cast<double>(store_->mappedBytes()) : 0.0);
    out.Set("tensorCount", readable ? static_cast<double>(store_->tensorCount()) : 0.0);
    out.Set("disposed", disposed_);
    return out;
}

}  // namespace ms4
