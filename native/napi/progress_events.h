// Load progress reported from a worker thread to a JS callback ({ phase, done, total }).
#pragma once
#include <napi.h>

#include "napi/env_state.h"

namespace ms4 {

struct ProgressEvent {
    const char* phase;  // a string literal
    double done;
    double total;
};

// Calls `callback` once per event. Never throws: a callback that throws does not take the load down (the
// error is dropped), and nothing is delivered once the environment is shutting down (see env_state.h).
inline void deliverProgress(Napi::Env env, Napi::FunctionReference& callback, const ProgressEvent* events,
                            size_t count) noexcept {
    if (callback.IsEmpty()) return;
    for (size_t i = 0; i < count; ++i) {
        if (!canRunJavaScript(env)) return;
        try {
            Napi::HandleScope scope(env);
            Napi::Object ev = Napi::Object::New(env);
            ev.Set("phase", events[i].phase);
            ev.Set("done", events[i].done);
            ev.Set("total", events[i].total);
            callback.Call({ev});
        } catch (...) {
        }
    }
}

}  // namespace ms4
