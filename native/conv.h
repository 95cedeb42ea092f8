// Convolution as one matrix product over the whole batch, for the small
// convolutions that evolution grows.
#pragma once

#include <torch/torch.h>

namespace evonas {

struct ConvShape {
  int64_t kh, kw, sh, sw, ph, pw;
};

// Which implementation runs a convolution.
enum class ConvPath { Library, Gemm };

// How this process chooses (EVONAS_CONV=auto|library|gemm, read when a
// network is compiled): auto by the rule in conv.cc, or always one path.
enum class ConvChoice { Auto, Library, Gemm };
ConvChoice convChoiceFromEnv();

// The path `choice` gives this convolution. The GEMM path takes only what it
// can run (a CPU float or double tensor in channels-last layout, autocast off);
// anything else goes to the library (ATen's at::conv2d: oneDNN on the CPU).
ConvPath convPath(ConvChoice choice, const torch::Tensor& x, const ConvShape& s);

// The GEMM path: im2col in channels-last order, one matrix product with the
// weights (MKL's, through ATen), and for the gradients two more products and
// a col2im; differentiable in x, weight and bias (bias may be undefined).
torch::Tensor conv2dGemm(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                         const ConvShape& s);

// Seconds per forward and backward pass (input and weight gradients) of a
// convolution of [n, c, h, h] channels-last fp32 into k channels, square
// kernel, padding kernel/2, on `path` with `threads` threads: for bench/conv.
double timeConvolution(ConvPath path, int64_t n, int64_t c, int64_t h, int64_t k, int64_t kernel, int64_t stride,
                       int threads, int64_t iterations);

}  // namespace evonas
