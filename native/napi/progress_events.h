// Load progress reported from a worker thread to a JS callback ({ phase, done, total }).
#pragma once
#include <napi.h>

namespace ms4 {

struct ProgressEvent {
    const char* phase;  // a string literal
    double done;
    double total;
};

// Calls `callback` once per event; a callback that throws does not take the load down (the error is dropped).
inline void deliverProgress(Napi::Env env, Napi::FunctionReference& callback, const ProgressEvent* events,
                            size_t count) {
    if (callback.IsEmpty()) return;
    Napi::HandleScope scope(env);
    for (size_t i = 0; i < count; ++i) {
        Napi::Object ev = Napi::Object::New(env);
        ev.Set("phase", events[i].phase);
        ev.Set("done", events[i].done);
        ev.Set("total", events[i].total);
        try {
            callback.Call({ev});
        } catch (const Napi::Error&) {
        }
    }
}

}  // namespace ms4
