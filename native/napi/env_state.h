// Per-environment state of the addon (the main thread and every worker thread that loads it get their own,
// as instance data): whether that environment is shutting down, so native work running for it stops early.
//
// How an environment ends: Node stops JavaScript, waits for every queued or running thread-pool task (our
// AsyncWorkers' Execute), runs their completions with JavaScript disabled, and only then runs the
// environment's cleanup hooks; process.exit() in the main thread joins the thread pool and exits without
// any of them. A cleanup hook therefore comes too late to cut a long load or step short. Two signals come
// in time:
// - process 'exit' (process.exit() in the main thread or in a worker, or the loop running dry): a listener
//   installed at module load marks the environment stopping;
// - worker.terminate() emits nothing, but while Node waits for our tasks it keeps running the event loop,
//   thread-safe function calls included: long work pings the environment through one, and the ping, run on
//   the JS thread, finds that JavaScript can no longer run.
// Work polls TeardownWatch::stopping() between tensors or layers and stops with "aborted"; its completion then
// settles nothing (napi/safe_settle.h).
#pragma once
#include <napi.h>

#include <atomic>
#include <chrono>

namespace ms4 {

// True while `env` can still run JavaScript. Once an environment is shutting down, every N-API call that may
// run JavaScript fails (napi_pending_exception, or napi_cannot_run_js from N-API 10) with no exception
// pending; coercing `undefined` to a boolean is such a call with no side effect. Call on the JS thread.
bool canRunJavaScript(napi_env env);

class EnvState {
   public:
    // Creates this environment's state (once, from the module's Init).
    static void install(Napi::Env env);
    static EnvState& of(Napi::Env env);

    // Any thread: whether the environment was seen shutting down.
    bool stopping() const { return stopping_.load(std::memory_order_acquire); }
    // Any thread: asks the JS thread to check whether the environment is shutting down. Only called from an
    // AsyncWorker's Execute, which Node finishes before it closes the thread-safe function at teardown.
    void ping();

   private:
    EnvState() = default;
    static Napi::Value onProcessExit(const Napi::CallbackInfo& info);
    static void onPing(napi_env env, napi_value, void* context, void*);
    static void onPingClosed(napi_env, void* data, void*);
    static void finalize(napi_env, void* data, void*);

    std::atomic<bool> stopping_{false};
    std::atomic<napi_threadsafe_function> ping_{nullptr};
};

// Polled by one piece of native work from its worker thread (between tensors, between layers): true once the
// environment that queued it is shutting down. Work that has run kFirstPing pings the JS thread, then again
// every kPingInterval, so short work (a decode step) never pings and costs one clock read per poll.
class TeardownWatch {
   public:
    static constexpr std::chrono::milliseconds kFirstPing{20};
    static constexpr std::chrono::milliseconds kPingInterval{100};

    explicit TeardownWatch(EnvState& env) : env_(&env) {}

    // Call when Execute starts.
    void start() { nextPing_ = std::chrono::steady_clock::now() + kFirstPing; }
    bool stopping();

   private:
    EnvState* env_;
    std::chrono::steady_clock::time_point nextPing_{};
};

}  // namespace ms4
