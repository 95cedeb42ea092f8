// Convolution as one matrix product over the whole batch (see conv.h).
//
// Why: oneDNN 3 (PyTorch 2's) sets up each convolution call afresh (its brgemm
// kernels' descriptors, weight reorders), tens to hundreds of microseconds
// whatever the size. On the small, deep, strided networks that evolution
// grows, that setup is most of a training step: one such network trained 36%
// slower on PyTorch 2.13 than on Debian's 1.13 (bench/conv.ts). A matrix
// product has no such setup, and in channels-last layout im2col is a copy of
// whole pixel rows.
#include "conv.h"

#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

namespace evonas {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct Geometry {
  int64_t N, C, H, W, OH, OW, KK;  // KK = kh * kw * C, one row of the column matrix
};

// For an input of `size` [N, C, H, W].
Geometry geometryOf(c10::IntArrayRef size, const ConvShape& s) {
  const int64_t N = size[0], C = size[1], H = size[2], W = size[3];
  return {N, C, H, W, (H + 2 * s.ph - s.kh) / s.sh + 1, (W + 2 * s.pw - s.kw) / s.sw + 1, s.kh * s.kw * C};
}

// cols[(n, oh, ow), (dy, dx, c)] = x[n, oh*sh - ph + dy, ow*sw - pw + dx, c], zero outside; x in NHWC order.
template <typename T>
void im2col(const T* x, T* cols, const Geometry& g, const ConvShape& s) {
  const int64_t rows = g.N * g.OH * g.OW;
  at::parallel_for(0, rows, 64, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const int64_t ow = r % g.OW, oh = (r / g.OW) % g.OH, n = r / (g.OW * g.OH);
      T* dst = cols + r * g.KK;
      for (int64_t dy = 0; dy < s.kh; ++dy) {
        const int64_t ih = oh * s.sh - s.ph + dy;
        const int64_t iw0 = ow * s.sw - s.pw;
        if (ih < 0 || ih >= g.H) {
          std::memset(dst, 0, sizeof(T) * s.kw * g.C);
          dst += s.kw * g.C;
          continue;
        }
        const T* src = x + ((n * g.H + ih) * g.W) * g.C;
        if (iw0 >= 0 && iw0 + s.kw <= g.W) {  // the window's row lies inside: one copy
          std::memcpy(dst, src + iw0 * g.C, sizeof(T) * s.kw * g.C);
          dst += s.kw * g.C;
          continue;
        }
        for (int64_t dx = 0; dx < s.kw; ++dx, dst += g.C) {
          const int64_t iw = iw0 + dx;
          if (iw < 0 || iw >= g.W)
            std::memset(dst, 0, sizeof(T) * g.C);
          else
            std::memcpy(dst, src + iw * g.C, sizeof(T) * g.C);
        }
      }
    }
  });
}

// The adjoint of im2col: dx[n, ih, iw, c] += cols[(n, oh, ow), (dy, dx, c)]. One
// image per task, so no two threads add into the same pixel, and every sum
// runs in the same order whatever the thread count.
template <typename T>
void col2im(const T* cols, T* dx, const Geometry& g, const ConvShape& s) {
  at::parallel_for(0, g.N, 1, [&](int64_t begin, int64_t end) {
    for (int64_t n = begin; n < end; ++n) {
      for (int64_t oh = 0; oh < g.OH; ++oh) {
        for (int64_t ow = 0; ow < g.OW; ++ow) {
          const T* src = cols + ((n * g.OH + oh) * g.OW + ow) * g.KK;
          for (int64_t dy = 0; dy < s.kh; ++dy) {
            const int64_t ih = oh * s.sh - s.ph + dy;
            for (int64_t dxi = 0; dxi < s.kw; ++dxi, src += g.C) {
              const int64_t iw = ow * s.sw - s.pw + dxi;
              if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) continue;
              T* __restrict d = dx + ((n * g.H + ih) * g.W + iw) * g.C;
              const T* __restrict v = src;
              for (int64_t c = 0; c < g.C; ++c) d[c] += v[c];
            }
          }
        }
      }
    }
  });
}

ConvShape shapeFrom(const c10::IValue& v) {
  const auto a = v.toIntVector();
  return {a[0], a[1], a[2], a[3], a[4], a[5]};
}

// [K, C, kh, kw] weights as the [K, kh*kw*C] matrix that multiplies a column
// row: a view for channels-last weights (the model keeps them so), else a copy.
torch::Tensor weightMatrix(const torch::Tensor& weight) {
  return weight.permute({0, 2, 3, 1}).reshape({weight.size(0), -1});
}

class ConvGemm : public torch::autograd::Function<ConvGemm> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& weight,
                               const torch::Tensor& bias, std::vector<int64_t> shape) {
    const ConvShape s{shape[0], shape[1], shape[2], shape[3], shape[4], shape[5]};
    const Geometry g = geometryOf(x.sizes(), s);
    const int64_t K = weight.size(0);
    auto cols = torch::empty({g.N * g.OH * g.OW, g.KK}, x.options());
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "im2col",
                               [&] { im2col<scalar_t>(x.data_ptr<scalar_t>(), cols.data_ptr<scalar_t>(), g, s); });
    // The output is allocated channels-last and the product written into its
    // [N*OH*OW, K] view, so what is returned is no view (later ops may write it in place).
    auto y = torch::empty({g.N, K, g.OH, g.OW}, x.options().memory_format(at::MemoryFormat::ChannelsLast));
    auto y2 = y.permute({0, 2, 3, 1}).view({-1, K});
    const auto wm = weightMatrix(weight);
    const bool withBias = bias.numel() > 0;
    if (withBias)
      at::addmm_out(y2, bias, cols, wm.t());
    else
      at::mm_out(y2, cols, wm.t());
    ctx->save_for_backward({cols, weight});
    ctx->saved_data["shape"] = shape;
    ctx->saved_data["input"] = std::vector<int64_t>{g.N, g.C, g.H, g.W};
    ctx->saved_data["bias"] = withBias;
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor& cols = saved[0];
    const torch::Tensor& weight = saved[1];
    const ConvShape s = shapeFrom(ctx->saved_data["shape"]);
    const auto in = ctx->saved_data["input"].toIntVector();
    const int64_t K = weight.size(0);
    const auto g2 = grads[0].contiguous(at::MemoryFormat::ChannelsLast).permute({0, 2, 3, 1}).reshape({-1, K});
    torch::Tensor gx, gw, gb;
    if (ctx->needs_input_grad(1)) {
      gw = at::mm(g2.t(), cols)
               .view({K, s.kh, s.kw, in[1]})
               .permute({0, 3, 1, 2})
               .contiguous(weight.suggest_memory_format());
    }
    if (ctx->saved_data["bias"].toBool() && ctx->needs_input_grad(2)) gb = g2.sum(0);
    if (ctx->needs_input_grad(0)) {
      const auto gcols = at::mm(g2, weightMatrix(weight));
      // (zeros() would drop the memory format: empty() keeps it)
      gx = torch::empty({in[0], in[1], in[2], in[3]}, cols.options().memory_format(at::MemoryFormat::ChannelsLast))
               .zero_();
      const Geometry g = geometryOf(in, s);
      AT_DISPATCH_FLOATING_TYPES(gx.scalar_type(), "col2im",
                                 [&] { col2im<scalar_t>(gcols.data_ptr<scalar_t>(), gx.data_ptr<scalar_t>(), g, s); });
    }
    return {gx, gw, gb, torch::Tensor()};
  }
};

// The GEMM path runs convolutions of at most this many output pixels per
// image. Below it oneDNN's per-call setup dominates: on an AMD EPYC (Zen 3)
// the GEMM path took 0.42 of oneDNN's time in geometric mean (forward and
// backward, batch 50, 1 and 2 threads, 16 to 128 channels, 1x1 and 3x3), at
// worst 1.15 times it (4x4, 64 channels); above it oneDNN's kernels win, by up
// to 1.7 times at 16x16 (bench/conv.ts prints the table for the CPU at hand).
// Near the limit the two are within about 15% of each other, so where another
// CPU's crossover lies elsewhere, little is lost.
constexpr int64_t kGemmMaxPixels = 16;

}  // namespace

ConvChoice convChoiceFromEnv() {
  const char* v = std::getenv("EVONAS_CONV");
  const std::string s = v ? v : "";
  if (s.empty() || s == "auto") return ConvChoice::Auto;
  if (s == "library") return ConvChoice::Library;
  if (s == "gemm") return ConvChoice::Gemm;
  throw std::invalid_argument("EVONAS_CONV: expected auto, library or gemm but found \"" + s + "\"");
}

ConvPath convPath(ConvChoice choice, const torch::Tensor& x, const ConvShape& s) {
  if (choice == ConvChoice::Library) return ConvPath::Library;
  const bool runnable = x.device().is_cpu() && x.dim() == 4 &&
                        (x.scalar_type() == torch::kFloat || x.scalar_type() == torch::kDouble) &&
                        x.is_contiguous(at::MemoryFormat::ChannelsLast) && !at::autocast::is_autocast_enabled(at::kCPU);
  if (!runnable) return ConvPath::Library;
  if (choice == ConvChoice::Gemm) return ConvPath::Gemm;
  const Geometry g = geometryOf(x.sizes(), s);
  return g.OH * g.OW <= kGemmMaxPixels ? ConvPath::Gemm : ConvPath::Library;
}

torch::Tensor conv2dGemm(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                         const ConvShape& s) {
  // No bias is an empty tensor: libtorch's custom functions take no undefined inputs.
  return ConvGemm::apply(x, weight, bias.defined() ? bias : torch::empty({0}, weight.options()),
                         std::vector<int64_t>{s.kh, s.kw, s.sh, s.sw, s.ph, s.pw});
}

}  // namespace evonas

namespace evonas {

double timeConvolution(ConvPath path, int64_t n, int64_t c, int64_t h, int64_t k, int64_t kernel, int64_t stride,
                       int threads, int64_t iterations) {
  const int before = at::get_num_threads();
  at::set_num_threads(threads);
  torch::AutoGradMode grad(true);
  const ConvShape s{kernel, kernel, stride, stride, kernel / 2, kernel / 2};
  auto x = torch::randn({n, c, h, h}).contiguous(at::MemoryFormat::ChannelsLast).requires_grad_();
  auto w = (torch::randn({k, c, kernel, kernel}) * 0.1).contiguous(at::MemoryFormat::ChannelsLast).requires_grad_();
  auto once = [&] {
    auto y = path == ConvPath::Gemm ? conv2dGemm(x, w, {}, s) : at::conv2d(x, w, {}, {s.sh, s.sw}, {s.ph, s.pw});
    y.backward(torch::ones_like(y));
    x.mutable_grad().reset();
    w.mutable_grad().reset();
  };
  for (int i = 0; i < 3; ++i) once();
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < iterations; ++i) once();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  at::set_num_threads(before);
  return seconds / static_cast<double>(iterations);
}

}  // namespace evonas
