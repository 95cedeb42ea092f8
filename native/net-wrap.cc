// Net: a compiled network. Builds the Model from the spec TypeScript sends
// (src/engine/net.ts), and runs its train, evaluate and predict on the engine
// thread; weights(), setWeights() and gradients() run on the JavaScript
// thread (engine-thread.h says why).
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <torch/cuda.h>

#include "engine-thread.h"
#include "napi-util.h"
#include "ops.h"
#include "wraps.h"

#ifndef EVONAS_CUDA
#define EVONAS_CUDA 0  // set by the build (scripts/libtorch.mjs) when the libtorch has CUDA
#endif

namespace evonas {
namespace {

Napi::Object object(const Napi::Value& v, const std::string& what) {
  if (!v.IsObject()) throw std::invalid_argument(what + " must be an object");
  return v.As<Napi::Object>();
}

// One node of the spec: {id, op, inputs, c, h, w, fields}, its fields read
// generically (numbers and booleans by name) and bound by its op (ops.cc).
Node readNode(const Napi::Value& v, uint32_t index) {
  auto o = object(v, "node " + std::to_string(index));
  Node n;
  n.id = str(o, "id");
  n.op = opNamed(str(o, "op"));
  auto ins = field(o, "inputs");
  if (!ins.IsArray()) throw std::invalid_argument("node " + n.id + ": inputs must be an array");
  auto arr = ins.As<Napi::Array>();
  for (uint32_t k = 0; k < arr.Length(); ++k)
    n.inputs.push_back(static_cast<int>(integerAt(arr.Get(k), "node " + n.id + ": input", 0, index)));
  n.c = integer(o, "c", 1);
  n.h = integer(o, "h", 0);
  n.w = integer(o, "w", 0);
  auto fields = object(field(o, "fields"), "node " + n.id + ": fields");
  std::map<std::string, FieldValue> values;
  auto names = fields.GetPropertyNames();
  for (uint32_t k = 0; k < names.Length(); ++k) {
    const std::string name = names.Get(k).As<Napi::String>().Utf8Value();
    auto x = fields.Get(name);
    if (x.IsBoolean())
      values[name] = {x.As<Napi::Boolean>().Value() ? 1.0 : 0.0, true};
    else if (x.IsNumber())
      values[name] = {x.As<Napi::Number>().DoubleValue(), false};
    else
      throw std::invalid_argument("node " + n.id + ": field " + name + " must be a number or a boolean");
  }
  bindFields(n, values);
  return n;
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
      auto input = object(field(spec, "input"), "input");
      const int64_t c = integer(input, "c", 1), h = integer(input, "h", 1), w = integer(input, "w", 1);
      const int64_t classes = integer(spec, "classes", 1);
      auto nodesValue = field(spec, "nodes");
      if (!nodesValue.IsArray()) throw std::invalid_argument("field nodes must be an array");
      auto arr = nodesValue.As<Napi::Array>();
      std::vector<Node> nodes;
      for (uint32_t i = 0; i < arr.Length(); ++i) nodes.push_back(readNode(arr.Get(i), i));
      Options o;
      o.threads = static_cast<int>(integer(opts, "threads", 1, 4096));
      const std::string precision = str(opts, "precision");
      if (precision != "fp32" && precision != "bf16" && precision != "fp64")
        throw std::invalid_argument("unknown precision " + precision);
      o.bf16 = precision == "bf16";
      o.fp64 = precision == "fp64";
      o.channelsLast = flag(opts, "channelsLast");
      o.seed = static_cast<uint64_t>(integer(opts, "seed", 0));
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
      auto o = object(info[1], "train options");
      TrainSpec s;
      s.steps = integer(o, "steps", 0);
      s.batchSize = integer(o, "batchSize", 1);
      s.learningRate = num(o, "learningRate");
      s.momentum = num(o, "momentum");
      s.weightDecay = num(o, "weightDecay");
      s.augment = flag(o, "augment");
      s.pad = integer(o, "pad", 0);
      s.seed = static_cast<uint64_t>(integer(o, "seed", 0));
      s.startStep = integer(o, "startStep", 0);
      s.progressEvery = integer(o, "progressEvery", 0);
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
      const int64_t batch = integerAt(info[1], "batchSize", 1);
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
      const uint64_t seed = static_cast<uint64_t>(integerAt(info[1], "seed", 0));
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
      if (!info[0].IsArray()) throw std::invalid_argument("setWeights takes an array of {name, shape, data}");
      auto arr = info[0].As<Napi::Array>();
      auto loaded = Napi::Array::New(env);
      auto skipped = Napi::Array::New(env);
      for (uint32_t i = 0; i < arr.Length(); ++i) {
        auto o = object(arr.Get(i), "a weight");
        const std::string name = str(o, "name");
        auto shapeValue = field(o, "shape");
        if (!shapeValue.IsArray()) throw std::invalid_argument(name + ": shape must be an array");
        auto shapeArr = shapeValue.As<Napi::Array>();
        std::vector<int64_t> shape;
        int64_t numel = 1;
        for (uint32_t k = 0; k < shapeArr.Length(); ++k) {
          shape.push_back(integerAt(shapeArr.Get(k), name + ": shape[" + std::to_string(k) + "]", 0, int64_t{1} << 40));
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

}  // namespace

Napi::Function initNet(Napi::Env env) { return NetWrap::Init(env); }

}  // namespace evonas
