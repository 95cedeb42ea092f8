// The JavaScript classes (Dataset, Net) and what the entry points share:
// the environment's instance data, the Dataset behind a value.
#pragma once

#include <napi.h>

#include <memory>
#include <mutex>
#include <string>

#include "model.h"

namespace evonas {

// The addon's state in one JavaScript environment (a process's main thread or
// a worker_threads worker each load it once): kept as the environment's
// instance data, never as a process global.
struct AddonData {
  Napi::FunctionReference datasetCtor;
  // Whether the environment is being torn down, under its lock: the engine
  // thread calls into an environment's thread-safe functions only while it
  // is not, because Node frees them at teardown whatever threads still hold
  // them (engine-thread.cc).
  struct Guard {
    std::mutex mutex;
    bool closed = false;
  };
  std::shared_ptr<Guard> guard = std::make_shared<Guard>();
};

// Defines Dataset in `env` and records its constructor in the environment's AddonData.
Napi::Function initDataset(Napi::Env env);
// The Data behind a Dataset object. @throws a coded JavaScript error when `v` is none, or was disposed.
std::shared_ptr<Data> unwrapData(Napi::Env env, const Napi::Value& v);

Napi::Function initNet(Napi::Env env);

// The libtorch library this process loaded (the build's choice: Debian's,
// LIBTORCH's or PyTorch's), found from one of its symbols.
std::string libtorchPath();

}  // namespace evonas
