// The Node-API module: its classes (Dataset in dataset-wrap.cc, Net in
// net-wrap.cc), info() and timeKernels(). TypeScript validates everything
// first (src/engine); the checks in C++ are a second line of defence. Long
// work runs on the engine thread (engine-thread.h says what runs where).
#include <napi.h>

#include <ATen/Parallel.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <dlfcn.h>
#include <omp.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include "allocator.h"
#include "conv.h"
#include "cpu.h"
#include "fused.h"
#include "napi-util.h"
#include "wraps.h"

#ifndef EVONAS_CUDA
#define EVONAS_CUDA 0  // set by the build (scripts/libtorch.mjs) when the libtorch has CUDA
#endif

namespace evonas {
namespace {

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

// timeConvolution(path, n, c, h, k, kernel, stride, threads, iterations) -> seconds, for bench/conv.
Napi::Value TimeConvolution(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string name = info[0].ToString().Utf8Value();
  if (name != "gemm" && name != "library") throw codedError(env, "ERR_ENGINE_INPUT", "path: expected gemm or library");
  auto i64 = [&](int k) { return info[k].ToNumber().Int64Value(); };
  return guarded(env, [&] {
    return Napi::Number::New(env, timeConvolution(name == "gemm" ? ConvPath::Gemm : ConvPath::Library, i64(1), i64(2),
                                                  i64(3), i64(4), i64(5), i64(6), static_cast<int>(i64(7)), i64(8)));
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
  auto* data = new AddonData();
  env.SetInstanceData(data);  // freed with the environment
  // Runs before Node frees the environment's thread-safe functions: from here on the engine thread leaves them alone.
  env.AddCleanupHook([guard = data->guard] {
    std::lock_guard<std::mutex> lock(guard->mutex);
    guard->closed = true;
  });
  exports.Set("Dataset", initDataset(env));
  exports.Set("Net", initNet(env));
  exports.Set("info", Napi::Function::New(env, Info));
  exports.Set("timeKernels", Napi::Function::New(env, TimeKernels));
  exports.Set("timeConvolution", Napi::Function::New(env, TimeConvolution));
  return exports;
}

}  // namespace

std::string libtorchPath() {
  Dl_info dl;
  if (dladdr(reinterpret_cast<void*>(&at::get_num_threads), &dl) && dl.dli_fname) return dl.dli_fname;
  return "unknown";
}

}  // namespace evonas

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return evonas::Init(env, exports); }

NODE_API_MODULE(evonas_native, InitModule)
