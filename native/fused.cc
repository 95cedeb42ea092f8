// Batch norm followed by ReLU, fused for training on channels-last CPU
// tensors. ATen runs them as four passes forward (statistics, normalize,
// relu) and backward (threshold_backward, two batch-norm passes); here the
// forward makes two passes and the backward two, each reading the data once.
#include "fused.h"

#include "cpu.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

namespace evonas {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// The kernels walk a channels-last tensor as rows of C values. A tile of K
// rows (K*C around 1024 values) is one flat loop with per-channel constants
// repeated K times, so every hot loop is long, unit-stride and vectorizes
// whatever C is.
struct Tile {
  int64_t C, K, L;  // channels, rows per tile, values per tile (K*C)
  explicit Tile(int64_t c) : C(c), K(std::max<int64_t>(1, 1024 / c)), L(K * c) {}
  template <typename T>
  std::vector<T> repeat(const T* perChannel) const {
    std::vector<T> v(L);
    for (int64_t i = 0; i < L; ++i) v[i] = perChannel[i % C];
    return v;
  }
};

// One copy of the kernels per instruction set (kernels.inc), chosen at run time.
#define EVONAS_TARGET
namespace baseline {
#include "kernels.inc"
}
#undef EVONAS_TARGET
#define EVONAS_TARGET __attribute__((target("avx2,fma")))
namespace avx2 {
#include "kernels.inc"
}
#undef EVONAS_TARGET
#define EVONAS_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")))
namespace avx512 {
#include "kernels.inc"
}
#undef EVONAS_TARGET

template <typename T>
struct Kernels {
  void (*accumulateSq)(const T*, int64_t, T*, T*);
  void (*scaleShiftAddRelu)(const T*, const T*, T*, int64_t, const T*, const T*);
  void (*scaleShiftRelu)(const T*, T*, int64_t, const T*, const T*);
  void (*accumulateGrad)(const T*, const T*, const T*, int64_t, const T*, T*, T*);
  void (*gradInput)(const T*, const T*, const T*, T*, int64_t, const T*, const T*, const T*, const T*);
  void (*gradInputRes)(const T*, const T*, const T*, T*, T*, int64_t, const T*, const T*, const T*, const T*);
  void (*sgd)(T*, const T*, T*, int64_t, T, T, T, bool);
};

#define EVONAS_KERNELS(NS)                                                                           \
  Kernels<T> {                                                                                       \
    &NS::accumulateSq<T>, &NS::scaleShiftAddRelu<T>, &NS::scaleShiftRelu<T>, &NS::accumulateGrad<T>, \
        &NS::gradInput<T>, &NS::gradInputRes<T>, &NS::sgdKernel<T>                                   \
  }

template <typename T>
Kernels<T> kernelsFor(Isa isa) {
  switch (isa) {
    case Isa::Avx512:
      return EVONAS_KERNELS(avx512);
    case Isa::Avx2:
      return EVONAS_KERNELS(avx2);
    default:
      return EVONAS_KERNELS(baseline);
  }
}

// The kernels of `isa` when given (benchmarks), else of this CPU (kernelIsa()).
template <typename T>
const Kernels<T>& kernels(Isa isa) {
  static const Kernels<T> table[] = {kernelsFor<T>(Isa::Baseline), kernelsFor<T>(Isa::Avx2),
                                     kernelsFor<T>(Isa::Avx512)};
  return table[static_cast<int>(isa)];
}

// Runs `tileFn(offset, values)` over rows [begin, end) in whole tiles, then the tail.
template <typename F>
void overTiles(const Tile& t, int64_t begin, int64_t end, F&& tileFn) {
  int64_t r = begin;
  for (; r + t.K <= end; r += t.K) tileFn(r * t.C, t.L);
  if (r < end) tileFn(r * t.C, (end - r) * t.C);
}

// Folds a tile-shaped accumulator (L values) into per-channel doubles.
template <typename T>
void fold(const Tile& t, const T* acc, double* out) {
  for (int64_t i = 0; i < t.L; ++i) out[i % t.C] += acc[i];
}

// Splits rows among the intra-op threads, one partial-sum slot per thread.
template <typename F>
void perThread(int64_t rows, int64_t C, std::vector<double>& a, std::vector<double>& b, F&& body) {
  const int64_t T = std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), rows / 1024 + 1));
  std::vector<double> pa(T * C, 0.0), pb(T * C, 0.0);
  at::parallel_for(0, T, 1, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t begin = rows * t / T, end = rows * (t + 1) / T;
      body(begin, end, pa.data() + t * C, pb.data() + t * C);
    }
  });
  a.assign(C, 0.0);
  b.assign(C, 0.0);
  for (int64_t t = 0; t < T; ++t) {
    for (int64_t c = 0; c < C; ++c) {
      a[c] += pa[t * C + c];
      b[c] += pb[t * C + c];
    }
  }
}

// Two per-channel sums over all rows. `accumulate(offset, values, acc1, acc2)`
// adds a tile's contributions into tile-shaped accumulators in T, which are
// folded into doubles every 64 tiles so that long sums stay accurate.
template <typename T, typename F>
void reduceTiles(const Tile& tile, int64_t rows, std::vector<double>& a, std::vector<double>& b, F&& accumulate) {
  perThread(rows, tile.C, a, b, [&](int64_t begin, int64_t end, double* s1, double* s2) {
    std::vector<T> a1(tile.L), a2(tile.L);
    auto flush = [&] {
      fold(tile, a1.data(), s1);
      fold(tile, a2.data(), s2);
      std::fill(a1.begin(), a1.end(), T(0));
      std::fill(a2.begin(), a2.end(), T(0));
    };
    int64_t tiles = 0;
    overTiles(tile, begin, end, [&](int64_t off, int64_t n) {
      accumulate(off, n, a1.data(), a2.data());
      if (++tiles % 64 == 0) flush();
    });
    flush();
  });
}

template <typename F>
void rowsParallel(int64_t rows, F&& body) {
  at::parallel_for(0, rows, 2048, [&](int64_t b, int64_t e) { body(b, e); });
}

template <typename T>
std::vector<torch::Tensor> forwardImpl(const torch::Tensor& x, const torch::Tensor& res, const torch::Tensor& gamma,
                                       const torch::Tensor& beta, torch::Tensor& runMean, torch::Tensor& runVar,
                                       double momentum, double eps, Isa isa) {
  const Kernels<T>& K = kernels<T>(isa);
  const int64_t C = x.size(1);
  const int64_t M = x.numel() / C;
  const T* xp = x.data_ptr<T>();
  const Tile tile(C);
  std::vector<double> sum, sq;
  reduceTiles<T>(tile, M, sum, sq, [&](int64_t off, int64_t n, T* a1, T* a2) { K.accumulateSq(xp + off, n, a1, a2); });
  auto opts = torch::TensorOptions().dtype(x.dtype());
  auto mean = torch::empty({C}, opts), invstd = torch::empty({C}, opts);
  auto scale = torch::empty({C}, opts), shift = torch::empty({C}, opts);
  const T* g = gamma.data_ptr<T>();
  const T* bt = beta.data_ptr<T>();
  T* rm = runMean.data_ptr<T>();
  T* rv = runVar.data_ptr<T>();
  for (int64_t c = 0; c < C; ++c) {
    const double m = sum[c] / M;
    const double var = std::max(0.0, sq[c] / M - m * m);
    const double is = 1.0 / std::sqrt(var + eps);
    mean.data_ptr<T>()[c] = static_cast<T>(m);
    invstd.data_ptr<T>()[c] = static_cast<T>(is);
    scale.data_ptr<T>()[c] = static_cast<T>(g[c] * is);
    shift.data_ptr<T>()[c] = static_cast<T>(bt[c] - m * g[c] * is);
    rm[c] = static_cast<T>((1 - momentum) * rm[c] + momentum * m);
    rv[c] = static_cast<T>((1 - momentum) * rv[c] + momentum * var * M / std::max<int64_t>(1, M - 1));
  }
  auto y = torch::empty_like(x, x.options(), at::MemoryFormat::ChannelsLast);
  T* yp = y.data_ptr<T>();
  const auto sc = tile.repeat(scale.data_ptr<T>());
  const auto sh = tile.repeat(shift.data_ptr<T>());
  const T* rp = res.defined() ? res.data_ptr<T>() : nullptr;
  rowsParallel(M, [&](int64_t b, int64_t e) {
    overTiles(tile, b, e, [&](int64_t off, int64_t n) {
      if (rp)
        K.scaleShiftAddRelu(xp + off, rp + off, yp + off, n, sc.data(), sh.data());
      else
        K.scaleShiftRelu(xp + off, yp + off, n, sc.data(), sh.data());
    });
  });
  return {y, mean, invstd};
}

template <typename T>
std::vector<torch::Tensor> backwardImpl(const torch::Tensor& gradIn, const torch::Tensor& x, const torch::Tensor& y,
                                        const torch::Tensor& gamma, const torch::Tensor& mean,
                                        const torch::Tensor& invstd, bool withResidual, Isa isa) {
  const Kernels<T>& K = kernels<T>(isa);
  const torch::Tensor g = gradIn.contiguous(at::MemoryFormat::ChannelsLast);
  const int64_t C = x.size(1);
  const int64_t M = x.numel() / C;
  const T *gp = g.data_ptr<T>(), *xp = x.data_ptr<T>(), *yp = y.data_ptr<T>(), *mp = mean.data_ptr<T>();
  const Tile tile(C);
  const auto meanT = tile.repeat(mp);
  std::vector<double> sumG, sumGX;
  reduceTiles<T>(tile, M, sumG, sumGX, [&](int64_t off, int64_t n, T* a1, T* a2) {
    K.accumulateGrad(gp + off, xp + off, yp + off, n, meanT.data(), a1, a2);
  });
  auto opts = torch::TensorOptions().dtype(x.dtype());
  auto dgamma = torch::empty({C}, opts), dbeta = torch::empty({C}, opts);
  std::vector<T> k(C), proj(C), meanG(C);
  const T* is = invstd.data_ptr<T>();
  const T* ga = gamma.data_ptr<T>();
  for (int64_t c = 0; c < C; ++c) {
    dgamma.data_ptr<T>()[c] = static_cast<T>(sumGX[c] * is[c]);
    dbeta.data_ptr<T>()[c] = static_cast<T>(sumG[c]);
    k[c] = ga[c] * is[c];
    proj[c] = static_cast<T>(static_cast<double>(is[c]) * is[c] * sumGX[c] / M);
    meanG[c] = static_cast<T>(sumG[c] / M);
  }
  auto dx = torch::empty_like(x, x.options(), at::MemoryFormat::ChannelsLast);
  T* dp = dx.data_ptr<T>();
  torch::Tensor dres;
  if (withResidual) dres = torch::empty_like(x, x.options(), at::MemoryFormat::ChannelsLast);
  T* drp = withResidual ? dres.data_ptr<T>() : nullptr;
  const auto kT = tile.repeat(k.data()), projT = tile.repeat(proj.data()), meanGT = tile.repeat(meanG.data());
  rowsParallel(M, [&](int64_t b, int64_t e) {
    overTiles(tile, b, e, [&](int64_t off, int64_t n) {
      if (drp) {
        K.gradInputRes(gp + off, xp + off, yp + off, dp + off, drp + off, n, meanT.data(), kT.data(), projT.data(),
                       meanGT.data());
      } else {
        K.gradInput(gp + off, xp + off, yp + off, dp + off, n, meanT.data(), kT.data(), projT.data(), meanGT.data());
      }
    });
  });
  return {dx, dgamma, dbeta, dres};
}

std::vector<torch::Tensor> runForward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& res,
                                      const torch::Tensor& gamma, const torch::Tensor& beta, torch::Tensor runMean,
                                      torch::Tensor runVar, double momentum, double eps) {
  const Isa isa = kernelIsa();
  auto out = x.scalar_type() == torch::kDouble
                 ? forwardImpl<double>(x, res, gamma, beta, runMean, runVar, momentum, eps, isa)
                 : forwardImpl<float>(x, res, gamma, beta, runMean, runVar, momentum, eps, isa);
  ctx->save_for_backward({x, out[0], gamma, out[1], out[2]});
  return out;
}

std::vector<torch::Tensor> runBackward(AutogradContext* ctx, const torch::Tensor& grad, bool res) {
  auto s = ctx->get_saved_variables();
  const Isa isa = kernelIsa();
  return s[0].scalar_type() == torch::kDouble ? backwardImpl<double>(grad, s[0], s[1], s[2], s[3], s[4], res, isa)
                                              : backwardImpl<float>(grad, s[0], s[1], s[2], s[3], s[4], res, isa);
}

// relu(batch_norm(x))
struct BatchNormRelu : public torch::autograd::Function<BatchNormRelu> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& gamma,
                               const torch::Tensor& beta, torch::Tensor runMean, torch::Tensor runVar, double momentum,
                               double eps) {
    return runForward(ctx, x, {}, gamma, beta, runMean, runVar, momentum, eps)[0];
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto r = runBackward(ctx, grads[0], false);
    return {r[0], r[1], r[2], torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

// relu(batch_norm(x) + res): the end of a residual block
struct BatchNormAddRelu : public torch::autograd::Function<BatchNormAddRelu> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& res,
                               const torch::Tensor& gamma, const torch::Tensor& beta, torch::Tensor runMean,
                               torch::Tensor runVar, double momentum, double eps) {
    return runForward(ctx, x, res.contiguous(at::MemoryFormat::ChannelsLast), gamma, beta, runMean, runVar, momentum,
                      eps)[0];
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto r = runBackward(ctx, grads[0], true);
    return {r[0], r[3], r[1], r[2], torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

// Global average pooling whose gradient keeps the input's memory format
// (mean()'s backward materializes an NCHW tensor, and every layer below then
// converts layouts).
struct GlobalAvgPool : public torch::autograd::Function<GlobalAvgPool> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x) {
    ctx->saved_data["shape"] = x.sizes();
    ctx->saved_data["channelsLast"] = x.is_contiguous(at::MemoryFormat::ChannelsLast) && !x.is_contiguous();
    return x.mean({2, 3});
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto shape = ctx->saved_data["shape"].toIntVector();
    const auto fmt =
        ctx->saved_data["channelsLast"].toBool() ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
    const double area = static_cast<double>(shape[2] * shape[3]);
    auto g = (grads[0] / area).view({shape[0], shape[1], 1, 1}).expand(shape).contiguous(fmt);
    return {g};
  }
};

// Mean softmax cross-entropy of [N, K] logits against int64 labels, in one
// pass forward and one backward (ATen runs log_softmax and nll_loss as four
// ops and two autograd nodes: on a small network a third of a step's time).
// Each row's sums are in double; the loss is rounded once to the logits' type.
struct SoftmaxCrossEntropy : public torch::autograd::Function<SoftmaxCrossEntropy> {
  template <typename T>
  static double run(const torch::Tensor& logits, const torch::Tensor& labels, torch::Tensor& probs) {
    const int64_t N = logits.size(0), K = logits.size(1);
    const T* x = logits.data_ptr<T>();
    const int64_t* y = labels.data_ptr<int64_t>();
    T* p = probs.data_ptr<T>();
    double total = 0;
    for (int64_t i = 0; i < N; ++i) {
      const T* row = x + i * K;
      const T top = *std::max_element(row, row + K);
      double sum = 0;
      for (int64_t k = 0; k < K; ++k) sum += std::exp(static_cast<double>(row[k] - top));
      for (int64_t k = 0; k < K; ++k) p[i * K + k] = static_cast<T>(std::exp(static_cast<double>(row[k] - top)) / sum);
      total += std::log(sum) - static_cast<double>(row[y[i]] - top);
    }
    return total / static_cast<double>(N);
  }

  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& logits, const torch::Tensor& labels) {
    auto probs = torch::empty_like(logits);
    const double loss =
        logits.scalar_type() == torch::kDouble ? run<double>(logits, labels, probs) : run<float>(logits, labels, probs);
    ctx->save_for_backward({probs, labels});
    return torch::scalar_tensor(loss, logits.options());
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    torch::Tensor g = saved[0].clone();
    const int64_t N = g.size(0), K = g.size(1);
    const int64_t* y = saved[1].data_ptr<int64_t>();
    const double scale = grads[0].item<double>() / static_cast<double>(N);
    auto apply = [&](auto* d) {
      using T = std::remove_pointer_t<decltype(d)>;
      for (int64_t i = 0; i < N; ++i) d[i * K + y[i]] -= T(1);
      for (int64_t i = 0; i < N * K; ++i) d[i] = static_cast<T>(d[i] * scale);
    };
    if (g.scalar_type() == torch::kDouble)
      apply(g.data_ptr<double>());
    else
      apply(g.data_ptr<float>());
    return {g, torch::Tensor()};
  }
};

}  // namespace

torch::Tensor globalAvgPool(const torch::Tensor& x) { return GlobalAvgPool::apply(x); }

torch::Tensor crossEntropy(const torch::Tensor& logits, const torch::Tensor& labels) {
  const bool own = logits.device().is_cpu() && logits.dim() == 2 && logits.is_contiguous() &&
                   (logits.scalar_type() == torch::kFloat || logits.scalar_type() == torch::kDouble) &&
                   labels.device().is_cpu() && labels.is_contiguous() && labels.scalar_type() == torch::kLong;
  return own ? SoftmaxCrossEntropy::apply(logits, labels) : at::cross_entropy_loss(logits, labels);
}

int64_t countCorrect(const torch::Tensor& logits, const torch::Tensor& labels) {
  if (!logits.device().is_cpu() || logits.dim() != 2 || !logits.is_contiguous() ||
      logits.scalar_type() != torch::kFloat || !labels.is_contiguous() || !labels.device().is_cpu())
    return logits.argmax(1).eq(labels).sum().item<int64_t>();
  const int64_t N = logits.size(0), K = logits.size(1);
  const float* x = logits.data_ptr<float>();
  const int64_t* y = labels.data_ptr<int64_t>();
  int64_t correct = 0;
  for (int64_t i = 0; i < N; ++i) {
    const float* row = x + i * K;
    correct += (std::max_element(row, row + K) - row) == y[i];  // the first of equal maxima, as argmax
  }
  return correct;
}

bool sgdUpdate(torch::Tensor& param, const torch::Tensor& grad, torch::Tensor& buf, double lr, double momentum,
               double weightDecay) {
  // Element i of grad and buf must be element i of param in memory.
  if (!param.device().is_cpu() || momentum == 0 || !param.is_non_overlapping_and_dense() ||
      grad.strides() != param.strides() || grad.scalar_type() != param.scalar_type() ||
      (buf.defined() && buf.strides() != param.strides()))
    return false;
  const bool first = !buf.defined();
  if (first) buf = torch::empty_like(param);
  const int64_t n = param.numel();
  if (param.scalar_type() == torch::kDouble) {
    kernels<double>(kernelIsa())
        .sgd(param.data_ptr<double>(), grad.data_ptr<double>(), buf.data_ptr<double>(), n, lr, momentum, weightDecay,
             first);
  } else if (param.scalar_type() == torch::kFloat) {
    kernels<float>(kernelIsa())
        .sgd(param.data_ptr<float>(), grad.data_ptr<float>(), buf.data_ptr<float>(), n, static_cast<float>(lr),
             static_cast<float>(momentum), static_cast<float>(weightDecay), first);
  } else {
    return false;
  }
  return true;
}

double timeFusedKernels(Isa isa, int64_t channels, int64_t rows, int64_t iterations) {
  torch::NoGradGuard noGrad;
  auto opts = torch::TensorOptions().dtype(torch::kFloat);
  auto x = torch::randn({rows, channels, 1, 1}, opts).contiguous(at::MemoryFormat::ChannelsLast);
  auto g = torch::randn_like(x).contiguous(at::MemoryFormat::ChannelsLast);
  auto gamma = torch::rand({channels}, opts) + 0.5, beta = torch::randn({channels}, opts);
  auto runMean = torch::zeros({channels}, opts), runVar = torch::ones({channels}, opts);
  const auto start = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < iterations; ++i) {
    auto out = forwardImpl<float>(x, x, gamma, beta, runMean, runVar, 0.1, 1e-5, isa);
    backwardImpl<float>(g, x, out[0], gamma, out[1], out[2], true, isa);
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

bool canFuseBatchNormRelu(const torch::Tensor& x, const torch::Tensor& gamma) {
  static const bool enabled = [] {
    const char* v = std::getenv("EVONAS_FUSE");  // EVONAS_FUSE=0 turns fusion off, for comparisons
    return !(v && std::string(v) == "0");
  }();
  return enabled && x.device().is_cpu() && x.dim() == 4 && x.is_contiguous(at::MemoryFormat::ChannelsLast) &&
         (x.scalar_type() == torch::kFloat || x.scalar_type() == torch::kDouble) &&
         gamma.scalar_type() == x.scalar_type() && x.numel() > 0;
}

torch::Tensor batchNormReluTrain(const torch::Tensor& x, const torch::Tensor& residual, const torch::Tensor& gamma,
                                 const torch::Tensor& beta, torch::Tensor runMean, torch::Tensor runVar,
                                 double momentum, double eps) {
  if (residual.defined()) return BatchNormAddRelu::apply(x, residual, gamma, beta, runMean, runVar, momentum, eps);
  return BatchNormRelu::apply(x, gamma, beta, runMean, runVar, momentum, eps);
}

}  // namespace evonas
