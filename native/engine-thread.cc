// The engine thread and the frame of a run (see engine-thread.h).
#include "engine-thread.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "allocator.h"
#include "napi-util.h"
#include "wraps.h"

namespace evonas {
namespace {

class EngineThread {
 public:
  static EngineThread& get() {
    static EngineThread* instance = new EngineThread();  // never destroyed: it may outlive static destructors
    return *instance;
  }
  void post(std::function<void()> task) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      queue_.push_back(std::move(task));
    }
    cv_.notify_one();
  }

 private:
  EngineThread() {
    std::thread([this] {
      for (;;) {
        std::function<void()> task;
        {
          std::unique_lock<std::mutex> lock(mutex_);
          cv_.wait(lock, [this] { return !queue_.empty(); });
          task = std::move(queue_.front());
          queue_.pop_front();
        }
        task();
        releaseCachedBlocks();  // the cache serves one run's steps, then gives its memory back
      }
    }).detach();
  }
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
};

// One run: its promise, its thread-safe function back to JavaScript, and what
// it produced. The engine thread fills `settle`; it is called on the JS thread.
struct Run {
  Napi::Promise::Deferred deferred;
  Napi::ThreadSafeFunction tsfn;
  std::shared_ptr<int> active;
  std::shared_ptr<AddonData::Guard> guard;  // the environment's: calls into `tsfn` only while it is open
  std::string error, code = "ERR_ENGINE_NATIVE";
  Settle settle;
  explicit Run(Napi::Env env) : deferred(Napi::Promise::Deferred::New(env)) {}
};

}  // namespace

Napi::Promise schedule(Napi::Env env, std::shared_ptr<int> active, Napi::Value onProgress,
                       std::function<Settle(const ProgressSink&)> work) {
  auto* run = new Run(env);
  run->active = active;
  run->guard = env.GetInstanceData<AddonData>()->guard;
  Napi::Function cb = onProgress.IsFunction() ? onProgress.As<Napi::Function>()
                                              : Napi::Function::New(env, [](const Napi::CallbackInfo&) {});
  run->tsfn = Napi::ThreadSafeFunction::New(env, cb, "evonas.run", 0, 1);
  ++*active;
  Napi::Promise promise = run->deferred.Promise();
  EngineThread::get().post([run, work = std::move(work)] {
    ProgressSink sink = [run](const Progress& p) {
      auto* copy = new Progress(p);
      std::lock_guard<std::mutex> lock(run->guard->mutex);
      const napi_status s = run->guard->closed
                                ? napi_closing
                                : run->tsfn.NonBlockingCall(copy, [](Napi::Env env, Napi::Function js, Progress* data) {
                                    std::unique_ptr<Progress> own(data);
                                    auto o = Napi::Object::New(env);
                                    o.Set("step", Napi::Number::New(env, static_cast<double>(data->step)));
                                    o.Set("loss", Napi::Number::New(env, data->loss));
                                    o.Set("accuracy", Napi::Number::New(env, data->accuracy));
                                    js.Call({o});
                                  });
      if (s != napi_ok) delete copy;  // JavaScript is shutting down: nobody will read it
    };
    try {
      run->settle = work(sink);
    } catch (const std::exception& e) {
      run->code = errorCode(e);
      run->error = describe(e);
    } catch (...) {
      run->error = "unknown native error";
    }
    // Copy the handles first: once queued, the JS thread may free `run` at any moment. The environment's lock is held
    // from the call to the release, so that its teardown (which frees the thread-safe function) waits for both.
    Napi::ThreadSafeFunction tsfn = run->tsfn;
    const auto guard = run->guard;
    std::lock_guard<std::mutex> lock(guard->mutex);
    if (guard->closed) {  // torn down (a worker thread terminated mid-run): nothing to settle, nothing to release
      delete run;
      return;
    }
    const napi_status s = tsfn.NonBlockingCall(run, [](Napi::Env env, Napi::Function, Run* r) {
      std::unique_ptr<Run> own(r);
      --*r->active;
      if (r->error.empty()) {
        try {
          r->deferred.Resolve(r->settle(env));
        } catch (const Napi::Error& e) {
          r->deferred.Reject(e.Value());
        }
      } else {
        r->deferred.Reject(codedError(env, r->code, r->error).Value());
      }
    });
    // Refused only while the environment closes: its promise can no longer be settled, so free the run here (not
    // `active`, which belongs to the JS thread) instead of leaking it with its result.
    if (s != napi_ok) delete run;
    tsfn.Release();
  });
  return promise;
}

}  // namespace evonas
