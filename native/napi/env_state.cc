#include "napi/env_state.h"

namespace ms4 {

bool canRunJavaScript(napi_env env) {
    bool pending = false;
    if (napi_is_exception_pending(env, &pending) != napi_ok) return false;
    if (pending) return true;  // an exception waiting to reach JavaScript: the environment is running
    napi_value undefinedValue = nullptr;
    napi_value result = nullptr;
    if (napi_get_undefined(env, &undefinedValue) != napi_ok) return false;
    return napi_coerce_to_bool(env, undefinedValue, &result) == napi_ok;
}

void EnvState::install(Napi::Env env) {
    auto* state = new EnvState();
    napi_status status = napi_set_instance_data(env, state, finalize, nullptr);
    if (status != napi_ok) {
        delete state;
        throw Napi::Error::New(env, "could not attach the addon's per-environment state");
    }
    napi_value name = Napi::String::New(env, "ms4:teardown-ping");
    napi_threadsafe_function ping = nullptr;
    // No JS function: onPing runs native code on the JS thread. Queue size 1: pings that find one pending
    // are dropped (napi_queue_full), they would ask the same question.
    status =
        napi_create_threadsafe_function(env, nullptr, nullptr, name, 1, 1, state, onPingClosed, state, onPing, &ping);
    if (status != napi_ok) throw Napi::Error::New(env, "could not create the addon's teardown ping");
    // The ping must not keep the event loop (and so the process or the worker) alive.
    status = napi_unref_threadsafe_function(env, ping);
    if (status != napi_ok) throw Napi::Error::New(env, "could not unref the addon's teardown ping");
    state->ping_.store(ping);

    // process.on("exit", ...): after 'exit' no JavaScript callback runs again in this environment.
    Napi::Value process = env.Global().Get("process");
    if (!process.IsObject()) return;
    Napi::Value on = process.As<Napi::Object>().Get("on");
    if (!on.IsFunction()) return;
    on.As<Napi::Function>().Call(
        process, {Napi::String::New(env, "exit"), Napi::Function::New(env, onProcessExit, "ms4StopNativeWork", state)});
}

// The listener only runs before the environment's teardown, while the state (freed at teardown) exists.
Napi::Value EnvState::onProcessExit(const Napi::CallbackInfo& info) {
    static_cast<EnvState*>(info.Data())->stopping_.store(true, std::memory_order_release);
    return info.Env().Undefined();
}

EnvState& EnvState::of(Napi::Env env) {
    void* data = nullptr;
    if (napi_get_instance_data(env, &data) != napi_ok || data == nullptr) {
        throw Napi::Error::New(env, "the addon's per-environment state is missing");
    }
    return *static_cast<EnvState*>(data);
}

void EnvState::ping() {
    napi_threadsafe_function ping = ping_.load();
    if (ping != nullptr) napi_call_threadsafe_function(ping, nullptr, napi_tsfn_nonblocking);
}

void EnvState::onPing(napi_env env, napi_value, void* context, void*) {
    // env is null when Node empties the queue while closing the function at teardown.
    if (env != nullptr && !canRunJavaScript(env)) {
        static_cast<EnvState*>(context)->stopping_.store(true, std::memory_order_release);
    }
}

// Node closes the function while running the environment's cleanup hooks, after every Execute has finished.
void EnvState::onPingClosed(napi_env, void* data, void*) {
    auto* state = static_cast<EnvState*>(data);
    state->ping_.store(nullptr);
    state->stopping_.store(true, std::memory_order_release);
}

// Runs when the environment is torn down, after the thread-safe function was closed (it holds the env).
void EnvState::finalize(napi_env, void* data, void*) { delete static_cast<EnvState*>(data); }

bool TeardownWatch::stopping() {
    if (env_->stopping()) return true;
    const auto now = std::chrono::steady_clock::now();
    if (now >= nextPing_) {
        nextPing_ = now + kPingInterval;
        env_->ping();
    }
    return false;
}

}  // namespace ms4
