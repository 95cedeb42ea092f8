// Fused kernels that ATen lacks on CPU.
#pragma once

#include <torch/torch.h>

#include "cpu.h"

namespace evonas {

// True when batchNormReluTrain can take x: a 4-d channels-last float or double CPU tensor.
bool canFuseBatchNormRelu(const torch::Tensor& x, const torch::Tensor& gamma);

// relu(batch_norm(x) + residual) in training mode (residual may be undefined),
// differentiable in x, residual, gamma and beta; updates the running
// statistics as at::batch_norm does (unbiased variance).
torch::Tensor batchNormReluTrain(const torch::Tensor& x, const torch::Tensor& residual, const torch::Tensor& gamma,
                                 const torch::Tensor& beta, torch::Tensor runMean, torch::Tensor runVar,
                                 double momentum, double eps);

// Mean over height and width; its gradient has the input's memory format.
torch::Tensor globalAvgPool(const torch::Tensor& x);

// Mean softmax cross-entropy of [N, K] logits, differentiable in the logits:
// one fused op for contiguous CPU float or double logits, ATen's otherwise.
torch::Tensor crossEntropy(const torch::Tensor& logits, const torch::Tensor& labels);

// How many rows' largest logit (the first, where several are equal) is the label.
int64_t countCorrect(const torch::Tensor& logits, const torch::Tensor& labels);

// One SGD step (momentum > 0, PyTorch's rule) on a dense CPU parameter whose
// gradient and momentum buffer share its strides; false (nothing done) otherwise.
bool sgdUpdate(torch::Tensor& param, const torch::Tensor& grad, torch::Tensor& buf, double lr, double momentum,
               double weightDecay);

// Seconds for `iterations` fused batch norm + residual + ReLU forward and
// backward passes over a [rows, channels] fp32 tensor, with `isa`'s kernels
// (for bench/kernels: the same work on each vector unit).
double timeFusedKernels(Isa isa, int64_t channels, int64_t rows, int64_t iterations);

}  // namespace evonas
