// What every Node-API entry point shares: C++ exceptions turned into coded
// JavaScript errors, and readers of the fields TypeScript sends. TypeScript
// (src/engine, the op table) owns every default and sends every field; a
// missing, mistyped or out-of-range one is a bug there, refused here.
#pragma once

#include <napi.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace evonas {

inline std::string describe(const std::exception& e) {
  if (auto* c = dynamic_cast<const c10::Error*>(&e)) return c->what_without_backtrace();
  return e.what();
}

inline Napi::Error codedError(Napi::Env env, const std::string& code, const std::string& message) {
  auto err = Napi::Error::New(env, message);
  err.Set("code", Napi::String::New(env, code));
  return err;
}

// The code of a C++ exception, as JavaScript sees it.
inline const char* errorCode(const std::exception& e) {
  if (dynamic_cast<const std::out_of_range*>(&e)) return "ERR_ENGINE_RANGE";
  if (dynamic_cast<const std::invalid_argument*>(&e)) return "ERR_ENGINE_INPUT";
  return "ERR_ENGINE_NATIVE";
}

// Runs `fn`, turning C++ exceptions into JavaScript errors with a code.
template <typename F>
auto guarded(Napi::Env env, F&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::exception& e) {
    throw codedError(env, errorCode(e), describe(e));
  }
}

inline Napi::Value field(const Napi::Object& o, const char* key) {
  auto v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) throw std::invalid_argument(std::string("field ") + key + " is required");
  return v;
}

inline double num(const Napi::Object& o, const char* key) {
  auto v = field(o, key);
  if (!v.IsNumber()) throw std::invalid_argument(std::string("field ") + key + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d)) throw std::invalid_argument(std::string("field ") + key + " must be finite");
  return d;
}

// A whole number from `min` to `max` (by default any JavaScript can hold exactly): NaN, fractions and out-of-range
// values are refused rather than cast.
constexpr int64_t kMaxSafe = (int64_t{1} << 53) - 1;
inline int64_t wholeNumber(double d, const std::string& what, int64_t min = -kMaxSafe, int64_t max = kMaxSafe) {
  if (!std::isfinite(d) || d != std::floor(d) || d < static_cast<double>(min) || d > static_cast<double>(max))
    throw std::invalid_argument(what + " must be a whole number from " + std::to_string(min) + " to " +
                                std::to_string(max) + " (found " + std::to_string(d) + ")");
  return static_cast<int64_t>(d);
}

inline int64_t integer(const Napi::Object& o, const char* key, int64_t min = -kMaxSafe, int64_t max = kMaxSafe) {
  auto v = field(o, key);
  if (!v.IsNumber()) throw std::invalid_argument(std::string("field ") + key + " must be a number");
  return wholeNumber(v.As<Napi::Number>().DoubleValue(), std::string("field ") + key, min, max);
}

inline int64_t integerAt(const Napi::Value& v, const std::string& what, int64_t min = -kMaxSafe,
                         int64_t max = kMaxSafe) {
  if (!v.IsNumber()) throw std::invalid_argument(what + " must be a number");
  return wholeNumber(v.As<Napi::Number>().DoubleValue(), what, min, max);
}

inline bool flag(const Napi::Object& o, const char* key) {
  auto v = field(o, key);
  if (!v.IsBoolean()) throw std::invalid_argument(std::string("field ") + key + " must be true or false");
  return v.As<Napi::Boolean>().Value();
}

inline std::string str(const Napi::Object& o, const char* key) {
  auto v = field(o, key);
  if (!v.IsString()) throw std::invalid_argument(std::string("field ") + key + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

}  // namespace evonas
