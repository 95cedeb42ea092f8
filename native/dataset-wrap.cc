// Dataset: images and labels copied once into native memory, with the
// per-channel statistics batches are standardized by.
#include "wraps.h"

#include <cstring>
#include <sstream>
#include <vector>

#include "napi-util.h"

namespace evonas {
namespace {

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
      d->n = integerAt(info[2], "n", 0);
      d->h = integerAt(info[3], "h", 1);
      d->w = integerAt(info[4], "w", 1);
      d->c = integerAt(info[5], "c", 1);
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

}  // namespace

Napi::Function initDataset(Napi::Env env) {
  auto ctor = DatasetWrap::Init(env);
  env.GetInstanceData<AddonData>()->datasetCtor = Napi::Persistent(ctor);
  return ctor;
}

std::shared_ptr<Data> unwrapData(Napi::Env env, const Napi::Value& v) {
  const auto* addon = env.GetInstanceData<AddonData>();
  if (!v.IsObject() || !v.As<Napi::Object>().InstanceOf(addon->datasetCtor.Value()))
    throw codedError(env, "ERR_ENGINE_INPUT", "expected a Dataset");
  auto d = DatasetWrap::Unwrap(v.As<Napi::Object>())->data();
  if (!d) throw codedError(env, "ERR_ENGINE_DISPOSED", "dataset used after dispose()");
  return d;
}

}  // namespace evonas
