// Node-API binding: Dataset and Net objects. TypeScript validates everything
// first (src/engine); the checks here are a second line of defence. Long work
// runs on one engine thread and reaches JavaScript only through a
// ThreadSafeFunction.
#include <napi.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>

#include "allocator.h"
#include "cpu.h"
#include "fused.h"
#include "model.h"

#ifndef EVONAS_CUDA
#define EVONAS_CUDA 0  // set by the build (scripts/libtorch.mjs) when the libtorch has CUDA
#endif

#include <ATen/Parallel.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <dlfcn.h>
#include <omp.h>
#include <torch/cuda.h>
#include <cstring>

namespace evonas {
namespace {

std::string describe(const std::exception& e) {
  if (auto* c = dynamic_cast<const c10::Error*>(&e)) return c->what_without_backtrace();
  return e.what();
}

Napi::Error codedError(Napi::Env env, const std::string& code, const std::string& message) {
  auto err = Napi::Error::New(env, message);
  err.Set("code", Napi::String::New(env, code));
  return err;
}

// Runs `fn`, turning C++ exceptions into JavaScript errors with a code.
template <typename F>
auto guarded(Napi::Env env, F&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::out_of_range& e) {
    throw codedError(env, "ERR_ENGINE_RANGE", describe(e));
  } catch (const std::invalid_argument& e) {
    throw codedError(env, "ERR_ENGINE_INPUT", describe(e));
  } catch (const std::exception& e) {
    throw codedError(env, "ERR_ENGINE_NATIVE", describe(e));
  }
}

// Field readers. TypeScript (src/engine, the op table) owns every default and
// sends every field; a missing or mistyped one is a bug there, refused here.
Napi::Value field(const Napi::Object& o, const char* key) {
  auto v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) throw std::invalid_argument(std::string("field ") + key + " is required");
  return v;
}

double num(const Napi::Object& o, const char* key) {
  auto v = field(o, key);
  if (!v.IsNumber()) throw std::invalid_argument(std::string("field ") + key + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

int64_t integer(const Napi::Object& o, const char* key) { return static_cast<int64_t>(num(o, key)); }

bool flag(const Napi::Object& o, const char* key) {
  auto v = field(o, key);
  if (!v.IsBoolean()) throw std::invalid_argument(std::string("field ") + key + " must be true or false");
  return v.As<Napi::Boolean>().Value();
}

std::string str(const Napi::Object& o, const char* key) {
  auto v = field(o, key);
  if (!v.IsString()) throw std::invalid_argument(std::string("field ") + key + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

Op parseOp(const std::string& s) {
  static const std::pair<const char*, Op> table[] = {{"conv2d", Op::Conv},
                                                     {"batchnorm", Op::BatchNorm},
                                                     {"relu", Op::Relu},
                                                     {"add", Op::Add},
                                                     {"maxpool", Op::MaxPool},
                                                     {"avgpool", Op::AvgPool},
                                                     {"globalavgpool", Op::GlobalAvgPool},
                                                     {"dense", Op::Dense},
                                                     {"dropout", Op::Dropout},
                                                     {"zero", Op::Zero}};
  for (const auto& [name, op] : table) {
    if (s == name) return op;
  }
  throw std::invalid_argument("unknown op " + s);
}

// The fields each op's entry in the op table sends (src/net/ops.ts, native()).
void readOpFields(const Napi::Object& o, Node& n) {
  switch (n.op) {
    case Op::Conv:
    case Op::MaxPool:
    case Op::AvgPool:
      n.kh = integer(o, "kh");
      n.kw = integer(o, "kw");
      n.sh = integer(o, "sh");
      n.sw = integer(o, "sw");
      n.ph = integer(o, "ph");
      n.pw = integer(o, "pw");
      if (n.kh <= 0 || n.kw <= 0 || n.sh <= 0 || n.sw <= 0 || n.ph < 0 || n.pw < 0)
        throw std::invalid_argument("node " + n.id + ": bad window");
      if (n.op == Op::Conv) n.bias = flag(o, "bias");
      break;
    case Op::BatchNorm:
      n.eps = num(o, "eps");
      n.momentum = num(o, "momentum");
      break;
    case Op::Dense:
      n.inFeatures = integer(o, "inFeatures");
      n.bias = flag(o, "bias");
      break;
    case Op::Dropout:
      n.rate = num(o, "rate");
      break;
    default:
      break;
  }
}

// ---------------------------------------------------------------- Dataset

// The libtorch library this process loaded (the build's choice: Debian's,
// LIBTORCH's or PyTorch's), found from one of its symbols.
std::string libtorchPath() {
  Dl_info dl;
  if (dladdr(reinterpret_cast<void*>(&at::get_num_threads), &dl) && dl.dli_fname) return dl.dli_fname;
  return "unknown";
}

// A CUDA device name checked before anything is built on it, with an error
// that says which of the three is wrong: the build, the machine or the index.
torch::Device checkedDevice(const std::string& name) {
  if (name.rfind("cuda", 0) != 0) throw std::invalid_argument("device " + name + ": expected cpu, cuda or cuda:N");
  if (!EVONAS_CUDA) {
    throw std::invalid_argument("device " + name + ": this evonas was built against a libtorch without CUDA (" +
                                libtorchPath() +
                                "); rebuild it against a CUDA libtorch with LIBTORCH=/path/to/libtorch or "
                                "LIBTORCH_USE_PYTORCH=1 (see the README)");
  }
  if (!torch::cuda::is_available()) {
    const char* visible = std::getenv("CUDA_VISIBLE_DEVICES");
    throw std::invalid_argument("device " + name + ": no CUDA device is visible" +
                                (visible ? std::string(" (CUDA_VISIBLE_DEVICES=") + visible + ")" : std::string()));
  }
  torch::Device d(name);
  const auto count = static_cast<int64_t>(torch::cuda::device_count());
  if (d.has_index() && d.index() >= count) {
    throw std::invalid_argument("device " + name + ": only " + std::to_string(count) + " CUDA device" +
                                (count == 1 ? " is" : "s are") + " visible");
  }
  return d;
}

class DatasetWrap : public Napi::ObjectWrap<DatasetWrap> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(
        env, "Dataset",
        {InstanceAccessor<&DatasetWrap::Mean>("mean"), InstanceAccessor<&DatasetWrap::Std>("std"),
         InstanceAccessor<&DatasetWrap::Count>("count"), InstanceAccessor<&DatasetWrap::MaxLabel>("maxLabel"),
         InstanceMethod<&DatasetWrap::Dispose>("dispose")});
  }

  // new Dataset(images: Uint8Array, labels: Int32Array, n, h, w, c, mean?: Float64Array, std?: Float64Array)
  explicit DatasetWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<DatasetWrap>(info) {
    Napi::Env env = info.Env();
    guarded(env, [&] {
      if (info.Length() < 6 || !info[0].IsTypedArray() || !info[1].IsTypedArray())
        throw std::invalid_argument("Dataset(images: Uint8Array, labels: Int32Array, n, h, w, c[, mean, std])");
      auto images = info[0].As<Napi::Uint8Array>();
      auto labels = info[1].As<Napi::Int32Array>();
      auto d = std::make_shared<Data>();
      d->n = info[2].As<Napi::Number>().Int64Value();
      d->h = info[3].As<Napi::Number>().Int64Value();
      d->w = info[4].As<Napi::Number>().Int64Value();
      d->c = info[5].As<Napi::Number>().Int64Value();
      if (d->n < 0 || d->h <= 0 || d->w <= 0 || d->c <= 0) throw std::invalid_argument("bad dataset shape");
      if (static_cast<int64_t>(images.ElementLength()) != d->n * d->h * d->w * d->c)
        throw std::invalid_argument("images length does not match n*h*w*c");
      if (static_cast<int64_t>(labels.ElementLength()) != d->n)
        throw std::invalid_argument("labels length does not match n");
      // One copy into native memory; the JavaScript buffers may be dropped afterwards.
      d->images = torch::empty({d->n, d->h, d->w, d->c}, torch::kUInt8);
      std::memcpy(d->images.data_ptr<uint8_t>(), images.Data(), images.ByteLength());
      d->labels = torch::empty({d->n}, torch::kLong);
      int64_t* lp = d->labels.data_ptr<int64_t>();
      for (int64_t i = 0; i < d->n; ++i) {
        const int32_t l = labels[static_cast<size_t>(i)];
        if (l < 0) {
          std::ostringstream m;
          m << "label " << l << " at index " << i << " is negative";
          throw std::out_of_range(m.str());
        }
        lp[i] = l;
        if (l > d->maxLabel) d->maxLabel = l;
      }
      if (info.Length() >= 8 && info[6].IsTypedArray() && info[7].IsTypedArray()) {
        auto mean = info[6].As<Napi::Float64Array>();
        auto sd = info[7].As<Napi::Float64Array>();
        if (static_cast<int64_t>(mean.ElementLength()) != d->c || static_cast<int64_t>(sd.ElementLength()) != d->c)
          throw std::invalid_argument("mean and std need one value per channel");
        for (int64_t c = 0; c < d->c; ++c) {
          d->mean.push_back(mean[static_cast<size_t>(c)]);
          d->std.push_back(sd[static_cast<size_t>(c)]);
        }
      } else {
        computeStats(*d);
      }
      data_ = d;
      return 0;
    });
  }

  std::shared_ptr<Data> data() const { return data_; }

 private:
  static void computeStats(Data& d) {
    std::vector<double> sum(d.c, 0), sq(d.c, 0);
    const uint8_t* p = d.images.data_ptr<uint8_t>();
    const int64_t pixels = d.n * d.h * d.w;
    for (int64_t i = 0; i < pixels; ++i) {
      for (int64_t c = 0; c < d.c; ++c) {
        const double v = p[i * d.c + c];
        sum[c] += v;
        sq[c] += v * v;
      }
    }
    for (int64_t c = 0; c < d.c; ++c) {
      const double count = std::max<double>(1, static_cast<double>(pixels));
      const double m = sum[c] / count;
      const double var = std::max(0.0, sq[c] / count - m * m);
      d.mean.push_back(m / 255.0);
      d.std.push_back(std::max(1e-3, std::sqrt(var) / 255.0));
    }
  }

  Napi::Value vec(Napi::Env env, const std::vector<double>& v) {
    auto a = Napi::Array::New(env, v.size());
    for (size_t i = 0; i < v.size(); ++i) a.Set(i, Napi::Number::New(env, v[i]));
    return a;
  }
  Napi::Value Mean(const Napi::CallbackInfo& info) { return vec(info.Env(), live()->mean); }
  Napi::Value Std(const Napi::CallbackInfo& info) { return vec(info.Env(), live()->std); }
  Napi::Value Count(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), live()->n); }
  Napi::Value MaxLabel(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(live()->maxLabel));
  }
  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    data_.reset();
    return info.Env().Undefined();
  }
  std::shared_ptr<Data> live() {
    if (!data_) throw codedError(Env(), "ERR_ENGINE_DISPOSED", "dataset used after dispose()");
    return data_;
  }

  std::shared_ptr<Data> data_;
};

Napi::FunctionReference* datasetCtor = nullptr;

std::shared_ptr<Data> unwrapData(Napi::Env env, const Napi::Value& v) {
  if (!v.IsObject() || !v.As<Napi::Object>().InstanceOf(datasetCtor->Value()))
    throw codedError(env, "ERR_ENGINE_INPUT", "expected a Dataset");
  auto d = DatasetWrap::Unwrap(v.As<Napi::Object>())->data();
  if (!d) throw codedError(env, "ERR_ENGINE_DISPOSED", "dataset used after dispose()");
  return d;
}

// ---------------------------------------------------------------- engine thread

// Every native run executes on one long-lived thread per process. libtorch's
// OpenMP team belongs to the thread that starts a parallel region; runs spread
// over libuv's pool made several teams that stalled each other (ResNet-20
// trained at 460 instead of 680 images/s on 2 cores). One thread also keeps
// the per-thread settings (threads, autocast) in one place.
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
// it produced. The engine thread fills `produce`; `settle` runs on the JS thread.
struct Run {
  Napi::Promise::Deferred deferred;
  Napi::ThreadSafeFunction tsfn;
  std::shared_ptr<int> active;
  std::string error, code = "ERR_ENGINE_NATIVE";
  std::function<Napi::Value(Napi::Env)> settle;  // set by the work, called on the JS thread
  explicit Run(Napi::Env env) : deferred(Napi::Promise::Deferred::New(env)) {}
};

using ProgressSink = std::function<void(const Progress&)>;

// Posts `work` to the engine thread. `work` returns the JS-side conversion of
// its result; `onProgress` (optional) receives Progress objects.
Napi::Promise schedule(Napi::Env env, std::shared_ptr<int> active, Napi::Value onProgress,
                       std::function<std::function<Napi::Value(Napi::Env)>(const ProgressSink&)> work) {
  auto* run = new Run(env);
  run->active = active;
  Napi::Function cb = onProgress.IsFunction() ? onProgress.As<Napi::Function>()
                                              : Napi::Function::New(env, [](const Napi::CallbackInfo&) {});
  run->tsfn = Napi::ThreadSafeFunction::New(env, cb, "evonas.run", 0, 1);
  ++*active;
  Napi::Promise promise = run->deferred.Promise();
  EngineThread::get().post([run, work = std::move(work)] {
    ProgressSink sink = [run](const Progress& p) {
      run->tsfn.NonBlockingCall(new Progress(p), [](Napi::Env env, Napi::Function js, Progress* data) {
        std::unique_ptr<Progress> own(data);
        auto o = Napi::Object::New(env);
        o.Set("step", Napi::Number::New(env, static_cast<double>(data->step)));
        o.Set("loss", Napi::Number::New(env, data->loss));
        o.Set("accuracy", Napi::Number::New(env, data->accuracy));
        js.Call({o});
      });
    };
    try {
      run->settle = work(sink);
    } catch (const std::out_of_range& e) {
      run->code = "ERR_ENGINE_RANGE";
      run->error = describe(e);
    } catch (const std::invalid_argument& e) {
      run->code = "ERR_ENGINE_INPUT";
      run->error = describe(e);
    } catch (const std::exception& e) {
      run->error = describe(e);
    } catch (...) {
      run->error = "unknown native error";
    }
    // Copy the handle first: once queued, the JS thread may free `run` at any moment.
    Napi::ThreadSafeFunction tsfn = run->tsfn;
    tsfn.NonBlockingCall(run, [](Napi::Env env, Napi::Function, Run* r) {
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
    tsfn.Release();
  });
  return promise;
}

// ---------------------------------------------------------------- Net

class NetWrap : public Napi::ObjectWrap<NetWrap> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Net",
                       {InstanceMethod<&NetWrap::Train>("train"), InstanceMethod<&NetWrap::Evaluate>("evaluate"),
                        InstanceMethod<&NetWrap::Predict>("predict"), InstanceMethod<&NetWrap::Gradients>("gradients"),
                        InstanceMethod<&NetWrap::Weights>("weights"),
                        InstanceMethod<&NetWrap::SetWeights>("setWeights"), InstanceMethod<&NetWrap::Cancel>("cancel"),
                        InstanceMethod<&NetWrap::Dispose>("dispose"), InstanceAccessor<&NetWrap::Active>("active")});
  }

  // new Net(spec, options): spec = {input: {c,h,w}, classes, nodes: [...]} from src/engine.
  explicit NetWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NetWrap>(info) {
    Napi::Env env = info.Env();
    guarded(env, [&] {
      if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsObject())
        throw std::invalid_argument("Net(spec, options)");
      auto spec = info[0].As<Napi::Object>();
      auto opts = info[1].As<Napi::Object>();
      auto input = spec.Get("input").As<Napi::Object>();
      const int64_t c = integer(input, "c"), h = integer(input, "h"), w = integer(input, "w");
      const int64_t classes = integer(spec, "classes");
      if (c <= 0 || h <= 0 || w <= 0 || classes <= 0) throw std::invalid_argument("bad input shape or classes");
      auto arr = spec.Get("nodes").As<Napi::Array>();
      std::vector<Node> nodes;
      for (uint32_t i = 0; i < arr.Length(); ++i) {
        auto o = arr.Get(i).As<Napi::Object>();
        Node n;
        n.id = str(o, "id");
        n.op = parseOp(str(o, "op"));
        auto ins = field(o, "inputs").As<Napi::Array>();
        for (uint32_t k = 0; k < ins.Length(); ++k) n.inputs.push_back(ins.Get(k).As<Napi::Number>().Int32Value());
        n.c = integer(o, "c");
        n.h = integer(o, "h");
        n.w = integer(o, "w");
        readOpFields(o, n);
        nodes.push_back(std::move(n));
      }
      Options o;
      o.threads = static_cast<int>(integer(opts, "threads"));
      const std::string precision = str(opts, "precision");
      if (precision != "fp32" && precision != "bf16" && precision != "fp64")
        throw std::invalid_argument("unknown precision " + precision);
      o.bf16 = precision == "bf16";
      o.fp64 = precision == "fp64";
      o.channelsLast = flag(opts, "channelsLast");
      o.seed = static_cast<uint64_t>(num(opts, "seed"));
      const std::string device = str(opts, "device");
      if (device != "cpu") o.device = checkedDevice(device);
      model_ = std::make_shared<Model>(std::move(nodes), c, h, w, classes, o);
      return 0;
    });
  }

 private:
  std::shared_ptr<Model> live() {
    if (!model_) throw codedError(Env(), "ERR_ENGINE_DISPOSED", "net used after dispose()");
    return model_;
  }
  void idle() {
    if (*active_ > 0) throw codedError(Env(), "ERR_ENGINE_BUSY", "net is busy with another run; await it first");
  }

  Napi::Value Train(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return guarded(env, [&]() -> Napi::Value {
      auto model = live();
      idle();
      auto data = unwrapData(env, info[0]);
      auto o = info[1].As<Napi::Object>();
      TrainSpec s;
      s.steps = integer(o, "steps");
      s.batchSize = integer(o, "batchSize");
      s.learningRate = num(o, "learningRate");
      s.momentum = num(o, "momentum");
      s.weightDecay = num(o, "weightDecay");
      s.augment = flag(o, "augment");
      s.pad = integer(o, "pad");
      s.seed = static_cast<uint64_t>(num(o, "seed"));
      s.startStep = integer(o, "startStep");
      s.progressEvery = integer(o, "progressEvery");
      if (s.steps < 0 || s.batchSize <= 0 || s.startStep < 0)
        throw std::invalid_argument("steps and startStep must be >= 0 and batchSize > 0");
      model->cancel = false;  // here, not on the engine thread: a cancel() right after train() must stick
      return schedule(env, active_, info[2], [model, data, s](const ProgressSink& sink) {
        TrainResult r = model->train(*data, s, sink);
        return std::function<Napi::Value(Napi::Env)>([r](Napi::Env env) -> Napi::Value {
          auto o = Napi::Object::New(env);
          o.Set("ok", r.ok);
          if (!r.ok) o.Set("failure", r.failure);
          o.Set("steps", Napi::Number::New(env, static_cast<double>(r.steps)));
          o.Set("loss", r.loss);
          o.Set("accuracy", r.accuracy);
          o.Set("seconds", r.seconds);
          o.Set("cancelled", r.cancelled);
          return o;
        });
      });
    });
  }

  Napi::Value runEval(const Napi::CallbackInfo& info, bool logits) {
    Napi::Env env = info.Env();
    return guarded(env, [&]() -> Napi::Value {
      auto model = live();
      idle();
      auto data = unwrapData(env, info[0]);
      if (info.Length() < 2 || !info[1].IsNumber()) throw std::invalid_argument("batchSize (a number) is required");
      const int64_t batch = info[1].As<Napi::Number>().Int64Value();
      if (batch <= 0) throw std::invalid_argument("batchSize must be > 0");
      if (logits) {
        return schedule(env, active_, env.Undefined(), [model, data, batch](const ProgressSink&) {
          auto out = std::make_shared<torch::Tensor>(model->predict(*data, batch));
          return std::function<Napi::Value(Napi::Env)>([out](Napi::Env env) -> Napi::Value {
            auto arr = Napi::Float32Array::New(env, out->numel());
            std::memcpy(arr.Data(), out->data_ptr<float>(), out->numel() * sizeof(float));
            return arr;
          });
        });
      }
      return schedule(env, active_, env.Undefined(), [model, data, batch](const ProgressSink&) {
        EvalResult r = model->evaluate(*data, batch);
        return std::function<Napi::Value(Napi::Env)>([r](Napi::Env env) -> Napi::Value {
          auto o = Napi::Object::New(env);
          o.Set("count", Napi::Number::New(env, static_cast<double>(r.count)));
          o.Set("correct", Napi::Number::New(env, static_cast<double>(r.correct)));
          o.Set("lossSum", r.lossSum);
          return o;
        });
      });
    });
  }
  Napi::Value Evaluate(const Napi::CallbackInfo& info) { return runEval(info, false); }
  Napi::Value Predict(const Napi::CallbackInfo& info) { return runEval(info, true); }

  static Napi::Value toTyped(Napi::Env env, const torch::Tensor& t) {
    if (t.scalar_type() == torch::kDouble) {
      auto a = Napi::Float64Array::New(env, t.numel());
      std::memcpy(a.Data(), t.data_ptr<double>(), t.numel() * sizeof(double));
      return a;
    }
    auto f = t.to(torch::kFloat).contiguous();
    auto a = Napi::Float32Array::New(env, f.numel());
    std::memcpy(a.Data(), f.data_ptr<float>(), f.numel() * sizeof(float));
    return a;
  }
  static Napi::Array shapeOf(Napi::Env env, const torch::Tensor& t) {
    auto s = Napi::Array::New(env, t.dim());
    for (int64_t d = 0; d < t.dim(); ++d) s.Set(static_cast<uint32_t>(d), Napi::Number::New(env, t.size(d)));
    return s;
  }

  Napi::Value Gradients(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return guarded(env, [&]() -> Napi::Value {
      auto model = live();
      idle();
      auto data = unwrapData(env, info[0]);
      if (info.Length() < 2 || !info[1].IsNumber()) throw std::invalid_argument("seed (a number) is required");
      const uint64_t seed = info[1].As<Napi::Number>().Int64Value();
      auto [loss, grads] = model->gradients(*data, seed);
      auto o = Napi::Object::New(env);
      o.Set("loss", loss);
      auto g = Napi::Object::New(env);
      for (auto& [name, t] : grads) g.Set(name, toTyped(env, t));
      o.Set("grads", g);
      return o;
    });
  }

  Napi::Value Weights(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return guarded(env, [&]() -> Napi::Value {
      auto model = live();
      idle();
      auto list = model->namedTensors();
      auto arr = Napi::Array::New(env, list.size());
      for (size_t i = 0; i < list.size(); ++i) {
        auto o = Napi::Object::New(env);
        o.Set("name", list[i].first);
        o.Set("shape", shapeOf(env, list[i].second));
        o.Set("data", toTyped(env, list[i].second));
        arr.Set(static_cast<uint32_t>(i), o);
      }
      return arr;
    });
  }

  // setWeights([{name, shape, data: Float32Array|Float64Array}]) -> {loaded: [...], skipped: [{name, reason}]}
  Napi::Value SetWeights(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return guarded(env, [&]() -> Napi::Value {
      auto model = live();
      idle();
      auto arr = info[0].As<Napi::Array>();
      auto loaded = Napi::Array::New(env);
      auto skipped = Napi::Array::New(env);
      for (uint32_t i = 0; i < arr.Length(); ++i) {
        auto o = arr.Get(i).As<Napi::Object>();
        const std::string name = str(o, "name");
        auto shapeArr = o.Get("shape").As<Napi::Array>();
        std::vector<int64_t> shape;
        int64_t numel = 1;
        for (uint32_t k = 0; k < shapeArr.Length(); ++k) {
          shape.push_back(shapeArr.Get(k).As<Napi::Number>().Int64Value());
          numel *= shape.back();
        }
        auto data = o.Get("data");
        torch::Tensor t;
        if (data.IsTypedArray() && data.As<Napi::TypedArray>().TypedArrayType() == napi_float64_array) {
          auto a = data.As<Napi::Float64Array>();
          if (static_cast<int64_t>(a.ElementLength()) != numel)
            throw std::invalid_argument(name + ": data length does not match shape");
          t = torch::from_blob(a.Data(), shape, torch::kDouble).clone();
        } else if (data.IsTypedArray() && data.As<Napi::TypedArray>().TypedArrayType() == napi_float32_array) {
          auto a = data.As<Napi::Float32Array>();
          if (static_cast<int64_t>(a.ElementLength()) != numel)
            throw std::invalid_argument(name + ": data length does not match shape");
          t = torch::from_blob(a.Data(), shape, torch::kFloat).clone();
        } else {
          throw std::invalid_argument(name + ": data must be a Float32Array or Float64Array");
        }
        const std::string why = model->setTensor(name, t);
        if (why.empty()) {
          loaded.Set(loaded.Length(), name);
        } else {
          auto s = Napi::Object::New(env);
          s.Set("name", name);
          s.Set("reason", why);
          skipped.Set(skipped.Length(), s);
        }
      }
      auto out = Napi::Object::New(env);
      out.Set("loaded", loaded);
      out.Set("skipped", skipped);
      return out;
    });
  }

  Napi::Value Cancel(const Napi::CallbackInfo& info) {
    if (model_) model_->cancel = true;
    return info.Env().Undefined();
  }
  // Frees the network; a run in flight keeps its own reference until it ends.
  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    if (model_) model_->cancel = true;
    model_.reset();
    return info.Env().Undefined();
  }
  Napi::Value Active(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), *active_); }

  std::shared_ptr<Model> model_;
  std::shared_ptr<int> active_ = std::make_shared<int>(0);
};

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto o = Napi::Object::New(env);
  o.Set("torchVersion", TORCH_VERSION);
  o.Set("libtorchPath", libtorchPath());
  o.Set("cudaBuilt", EVONAS_CUDA != 0);
  o.Set("cuda", torch::cuda::is_available());
  o.Set("cudaDevices", Napi::Number::New(env, torch::cuda::is_available() ? torch::cuda::device_count() : 0));
  const auto& hooks = at::detail::getCUDAHooks();
  if (hooks.hasCUDART()) o.Set("cudaRuntime", Napi::Number::New(env, static_cast<double>(hooks.versionCUDART())));
  if (hooks.compiledWithCuDNN()) o.Set("cudnn", Napi::Number::New(env, static_cast<double>(hooks.versionCuDNN())));
  o.Set("parallel", at::get_parallel_info());
  const CpuFeatures f = cpuFeatures();
  auto cpu = Napi::Object::New(env);
  cpu.Set("avx2", f.avx2);
  cpu.Set("fma", f.fma);
  cpu.Set("avx512", f.avx512);
  cpu.Set("avx512bf16", f.avx512bf16);
  cpu.Set("amxbf16", f.amxbf16);
  o.Set("cpu", cpu);
  o.Set("kernelIsa", isaName(kernelIsa()));
  o.Set("bf16Native", bf16Native());
  o.Set("bf16Missing", bf16Missing());
  return o;
}

// timeFusedKernels(isa, channels, rows, iterations) -> seconds, for bench/kernels.
Napi::Value TimeKernels(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string name = info[0].ToString().Utf8Value();
  const Isa isa = name == "avx512" ? Isa::Avx512 : name == "avx2" ? Isa::Avx2 : Isa::Baseline;
  if (isa > kernelIsa()) throw codedError(env, "ERR_ENGINE_INPUT", "kernels for " + name + " cannot run on this CPU");
  return guarded(env, [&] {
    return Napi::Number::New(env, timeFusedKernels(isa, info[1].ToNumber().Int64Value(),
                                                   info[2].ToNumber().Int64Value(), info[3].ToNumber().Int64Value()));
  });
}

// The JavaScript thread builds weights and copies tensors. Were it to run
// them in parallel, it would start a second OpenMP team beside the engine
// thread's; with more OpenMP threads than cores libgomp stops spinning at
// barriers and sleeps instead, and training ran 35% slower. So this thread
// computes serially: first let libtorch do its lazy per-thread setup here (a
// TensorIterator op large enough to ask for threads), then pin it to one.
void serialOnThisThread() {
  auto t = torch::ones({1 << 17});
  t.add_(1);
  omp_set_num_threads(1);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  installCachingAllocator();
  serialOnThisThread();
  auto ds = DatasetWrap::Init(env);
  datasetCtor = new Napi::FunctionReference(Napi::Persistent(ds));
  exports.Set("Dataset", ds);
  exports.Set("Net", NetWrap::Init(env));
  exports.Set("info", Napi::Function::New(env, Info));
  exports.Set("timeKernels", Napi::Function::New(env, TimeKernels));
  return exports;
}

}  // namespace
}  // namespace evonas

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return evonas::Init(env, exports); }

NODE_API_MODULE(evonas_native, InitModule)
