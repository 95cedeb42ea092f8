// Where long native work runs: one engine thread per process, and the
// promise-returning frame around each run.
//
// What runs where, and why:
// - The engine thread runs every train, evaluate and predict. libtorch's
//   OpenMP team belongs to the thread that starts a parallel region; runs
//   spread over libuv's pool made several teams that stalled each other
//   (ResNet-20 trained at 460 instead of 680 images/s on 2 cores). One thread
//   also keeps the per-thread settings (threads, autocast) in one place.
// - The JavaScript thread runs the short, synchronous calls whose API returns
//   a value at once: building a net (its initial weights), weights(),
//   setWeights() and gradients() (a test's gradient check). Each is bounded by
//   the net's size, none runs while the net trains (they refuse a busy net),
//   and the thread computes serially (addon.cc, serialOnThisThread) so that
//   it never starts a second OpenMP team beside the engine thread's.
// - The engine thread reaches JavaScript only through each run's thread-safe
//   function, and only while the run's environment is open: Node frees an
//   environment's thread-safe functions at its teardown (a worker_threads
//   worker terminated) whoever still holds them, so a cleanup hook closes the
//   environment's guard first, under the lock the engine thread holds from a
//   run's last call to its release.
#pragma once

#include <napi.h>

#include <functional>
#include <memory>

#include "model.h"

namespace evonas {

using ProgressSink = std::function<void(const Progress&)>;
// What a run leaves for the JavaScript thread: its result as a JavaScript value.
using Settle = std::function<Napi::Value(Napi::Env)>;

// Posts `work` to the engine thread and returns the promise of its result.
// `work` returns the JS-side conversion of its result; `onProgress` (a
// function, or undefined) receives Progress objects. `active` counts the
// net's runs in flight, on the JavaScript thread.
Napi::Promise schedule(Napi::Env env, std::shared_ptr<int> active, Napi::Value onProgress,
                       std::function<Settle(const ProgressSink&)> work);

}  // namespace evonas
