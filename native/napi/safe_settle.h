// Settling a Promise from an async completion (AsyncWorker::OnOK / OnError) without ever throwing.
//
// A completion can run while its environment is shutting down (see env_state.h): JavaScript is stopped, so
// every N-API call that may run it fails, node-addon-api turns the failure into a Napi::Error, and a C++
// exception leaving a completion ends the whole process (std::terminate, exit 134). So: nothing is built or
// settled once JavaScript cannot run (no one can observe the Promise any more), and a failure while building
// the result (out of memory, or the environment stopping meanwhile) rejects the Promise instead of escaping.
#pragma once
#include <napi.h>

#include <exception>
#include <utility>

#include "napi/env_state.h"

namespace ms4 {

// Rejects with `error`; a rejection that fails (the environment stopped meanwhile) is dropped.
inline void rejectSafely(Napi::Env env, const Napi::Promise::Deferred& deferred, const Napi::Error& error) noexcept {
    if (!canRunJavaScript(env)) return;
    try {
        deferred.Reject(error.Value());
    } catch (...) {
    }
}

// Rejects with a new Error carrying `message`.
inline void rejectSafely(Napi::Env env, const Napi::Promise::Deferred& deferred, const char* message) noexcept {
    if (!canRunJavaScript(env)) return;
    try {
        deferred.Reject(Napi::Error::New(env, message).Value());
    } catch (...) {
    }
}

// Resolves with build()'s value (built only while JavaScript can run); rejects with the error when building
// or resolving throws.
template <typename Build>
void resolveSafely(Napi::Env env, const Napi::Promise::Deferred& deferred, Build&& build) noexcept {
    if (!canRunJavaScript(env)) return;
    try {
        deferred.Resolve(std::forward<Build>(build)());
    } catch (const Napi::Error& e) {
        rejectSafely(env, deferred, e);
    } catch (const std::exception& e) {
        rejectSafely(env, deferred, e.what());
    } catch (...) {
        rejectSafely(env, deferred, "unknown native error while returning a result");
    }
}

}  // namespace ms4
