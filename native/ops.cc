// Everything per op (see ops.h): names, fields, tensors, forward pass.
#include "ops.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <functional>
#include <set>
#include <stdexcept>

#include "conv.h"
#include "fused.h"

namespace evonas {
namespace {

// A node's fields as sent, read by name: each read is checked and recorded, and
// a field no read asked for is refused (the two sides disagree on the op).
class Fields {
 public:
  Fields(const Node& node, const std::map<std::string, FieldValue>& values) : node_(node), values_(values) {}
  double real(const char* name) {
    const FieldValue& v = get(name);
    if (v.boolean) throw std::invalid_argument(where(name) + " must be a number");
    if (!std::isfinite(v.value)) throw std::invalid_argument(where(name) + " must be finite");
    return v.value;
  }
  int64_t whole(const char* name, int64_t min) {
    const double v = real(name);
    if (!std::isfinite(v) || v != std::floor(v) || v < static_cast<double>(min) || v > 9007199254740991.0)
      throw std::invalid_argument(where(name) + " must be a whole number >= " + std::to_string(min) + " (found " +
                                  std::to_string(v) + ")");
    return static_cast<int64_t>(v);
  }
  bool flag(const char* name) {
    const FieldValue& v = get(name);
    if (!v.boolean) throw std::invalid_argument(where(name) + " must be true or false");
    return v.value != 0;
  }
  void noOthers() const {
    for (const auto& [name, _] : values_)
      if (!read_.count(name)) throw std::invalid_argument(where(name.c_str()) + " is not a field of this op");
  }

 private:
  const FieldValue& get(const char* name) {
    auto it = values_.find(name);
    if (it == values_.end()) throw std::invalid_argument(where(name) + " is required");
    read_.insert(name);
    return it->second;
  }
  std::string where(const char* name) const { return "node " + node_.id + ": field " + name; }
  const Node& node_;
  const std::map<std::string, FieldValue>& values_;
  std::set<std::string> read_;
};

void window(Node& n, Fields& f) {
  n.kh = f.whole("kh", 1);
  n.kw = f.whole("kw", 1);
  n.sh = f.whole("sh", 1);
  n.sw = f.whole("sw", 1);
  n.ph = f.whole("ph", 0);
  n.pw = f.whole("pw", 0);
}

struct OpEntry {
  const char* name;
  Op op;
  std::function<void(Node&, Fields&)> bind;  // the fields src/net/ops.ts's native() sends for it
};

const OpEntry kOps[] = {
    {"conv2d", Op::Conv,
     [](Node& n, Fields& f) {
       window(n, f);
       n.bias = f.flag("bias");
     }},
    {"batchnorm", Op::BatchNorm,
     [](Node& n, Fields& f) {
       n.eps = f.real("eps");
       n.momentum = f.real("momentum");
     }},
    {"relu", Op::Relu, [](Node&, Fields&) {}},
    {"add", Op::Add, [](Node&, Fields&) {}},
    {"maxpool", Op::MaxPool, window},
    {"avgpool", Op::AvgPool, window},
    {"globalavgpool", Op::GlobalAvgPool, [](Node&, Fields&) {}},
    {"dense", Op::Dense,
     [](Node& n, Fields& f) {
       n.inFeatures = f.whole("inFeatures", 1);
       n.bias = f.flag("bias");
     }},
    {"dropout", Op::Dropout,
     [](Node& n, Fields& f) {
       n.rate = f.real("rate");
       if (!(n.rate >= 0 && n.rate < 1)) throw std::invalid_argument("node " + n.id + ": rate must be in [0, 1)");
     }},
    {"zero", Op::Zero, [](Node&, Fields&) {}},
};

const OpEntry& entryOf(Op op) {
  for (const auto& e : kOps)
    if (e.op == op) return e;
  throw std::logic_error("an op without an entry in ops.cc");
}

// A tensor's initial values depend only on the seed and its name, never on the
// order in which tensors are created: the same DNA gives the same network.
uint64_t nameSeed(uint64_t seed, const std::string& name) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char ch : name) h = (h ^ ch) * 1099511628211ULL;
  return splitmix(seed ^ h);
}

// A 1x1 convolution with stride s reads every s-th pixel of its (padded)
// input, so it equals a stride-1 convolution of that subsampled input.
// libtorch corrupts the heap computing the weight gradient of a strided 1x1
// convolution in channels-last memory with 2 to 7 input channels (plain
// PyTorch too: seen in 1.13 and again in 2.13, where 40 such steps abort with
// "free(): invalid next size"; test/engine-train.test.ts); the stride-1 form
// avoids it.
torch::Tensor subsample(const torch::Tensor& x, const Node& node) {
  torch::Tensor t = x;
  if (node.ph > 0 || node.pw > 0) t = at::constant_pad_nd(t, {node.pw, node.pw, node.ph, node.ph});
  t = t.slice(2, 0, t.size(2), node.sh).slice(3, 0, t.size(3), node.sw);
  return t.contiguous(x.suggest_memory_format());
}

}  // namespace

Op opNamed(const std::string& name) {
  for (const auto& e : kOps)
    if (name == e.name) return e.op;
  throw std::invalid_argument("unknown op " + name);
}

void bindFields(Node& node, const std::map<std::string, FieldValue>& values) {
  Fields f(node, values);
  entryOf(node.op).bind(node, f);
  f.noOthers();
}

// Node i's parameters and buffers, initialised from the seed and their names.
void Model::createTensors(size_t i, int64_t cin) {
  const Node& node = nodes_[i];
  const auto dtype = options_.fp64 ? torch::kDouble : torch::kFloat;
  auto gen = [&](const std::string& name) { return makeGenerator(nameSeed(options_.seed, name)); };
  auto withBias = [&] {
    if (!node.bias) return;
    addParam(node.id + ".bias", torch::zeros({node.c}, torch::dtype(dtype)), true);
    bias_[i] = byName_[node.id + ".bias"];
  };
  switch (node.op) {
    case Op::Conv: {
      const std::string wn = node.id + ".weight";
      auto g = gen(wn);
      const double fanIn = static_cast<double>(cin * node.kh * node.kw);
      auto w = torch::empty({node.c, cin, node.kh, node.kw}, torch::dtype(dtype));
      w.normal_(0.0, std::sqrt(2.0 / fanIn), g);  // He et al. initialisation for ReLU networks
      addParam(wn, w, true);
      weight_[i] = byName_[wn];
      withBias();
      break;
    }
    case Op::Dense: {
      const std::string wn = node.id + ".weight";
      auto g = gen(wn);
      const double bound = 1.0 / std::sqrt(static_cast<double>(node.inFeatures));
      auto w = torch::empty({node.c, node.inFeatures}, torch::dtype(dtype));
      w.uniform_(-bound, bound, g);
      addParam(wn, w, true);
      weight_[i] = byName_[wn];
      withBias();
      break;
    }
    case Op::BatchNorm:
      addParam(node.id + ".weight", torch::ones({node.c}, torch::dtype(dtype)), true);
      addParam(node.id + ".bias", torch::zeros({node.c}, torch::dtype(dtype)), true);
      addParam(node.id + ".running_mean", torch::zeros({node.c}, torch::dtype(dtype)), false);
      addParam(node.id + ".running_var", torch::ones({node.c}, torch::dtype(dtype)), false);
      weight_[i] = byName_[node.id + ".weight"];
      bias_[i] = byName_[node.id + ".bias"];
      runMean_[i] = byName_[node.id + ".running_mean"];
      runVar_[i] = byName_[node.id + ".running_var"];
      break;
    default:
      break;
  }
}

torch::Tensor Model::forward(const torch::Tensor& input, bool train, at::Generator* gen) {
  std::vector<torch::Tensor> vals(nodes_.size() + 1);
  std::vector<char> fused(nodes_.size(), 0);           // nodes whose output already went through the next ReLU
  std::vector<torch::Tensor> deferred(nodes_.size());  // batch-norm inputs waiting for their add
  vals[0] = input;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const Node& node = nodes_[i];
    const torch::Tensor& x = vals[node.inputs[0]];
    torch::Tensor y;
    switch (node.op) {
      case Op::Conv: {
        const ConvShape s{node.kh, node.kw, node.sh, node.sw, node.ph, node.pw};
        if (convPath(convChoice_, x, s) == ConvPath::Gemm) {
          y = conv2dGemm(x, weight_[i], bias_[i], s);
        } else if (node.kh == 1 && node.kw == 1 && (node.sh > 1 || node.sw > 1)) {
          y = at::conv2d(subsample(x, node), weight_[i], bias_[i]);
        } else {
          y = at::conv2d(x, weight_[i], bias_[i], {node.sh, node.sw}, {node.ph, node.pw});
        }
        break;
      }
      case Op::BatchNorm:
        if (train && reluAfter_[i] && canFuseBatchNormRelu(x, weight_[i])) {
          y = batchNormReluTrain(x, {}, weight_[i], bias_[i], runMean_[i], runVar_[i], node.momentum, node.eps);
          fused[i] = 1;
        } else if (train && addReluAfter_[i] && canFuseBatchNormRelu(x, weight_[i])) {
          deferred[i] = x;  // computed by the add, with the shortcut and the ReLU
        } else {
          y = at::batch_norm(x, weight_[i], bias_[i], runMean_[i], runVar_[i], train, node.momentum, node.eps, true);
        }
        break;
      case Op::Relu:
        if (reluAfterPool_[i] || (node.inputs[0] > 0 && fused[node.inputs[0] - 1]))
          y = x;
        else
          y = inplaceRelu_[i] ? at::relu_(vals[node.inputs[0]]) : at::relu(x);
        break;
      case Op::Add: {
        const int p = node.inputs[0];
        if (p > 0 && deferred[p - 1].defined()) {
          const Node& bn = nodes_[p - 1];
          const torch::Tensor& bx = deferred[p - 1];
          torch::Tensor r;
          for (size_t k = 1; k < node.inputs.size(); ++k) {
            torch::Tensor t = resolve(vals[node.inputs[k]], node);
            r = r.defined() ? r + t : t;
          }
          if (r.scalar_type() == bx.scalar_type()) {
            y = batchNormReluTrain(bx, r, weight_[p - 1], bias_[p - 1], runMean_[p - 1], runVar_[p - 1], bn.momentum,
                                   bn.eps);
            fused[i] = 1;
            deferred[p - 1].reset();
            break;
          }
          vals[p] = at::batch_norm(bx, weight_[p - 1], bias_[p - 1], runMean_[p - 1], runVar_[p - 1], true, bn.momentum,
                                   bn.eps, true);
          deferred[p - 1].reset();
        }
        y = vals[p];
        bool inplace = inplaceAdd_[i];
        for (size_t k = 1; k < node.inputs.size(); ++k) {
          torch::Tensor t = resolve(vals[node.inputs[k]], node);
          if (inplace && t.scalar_type() == y.scalar_type()) {
            y = vals[node.inputs[0]].add_(t);
          } else {
            y = y + t;
          }
          inplace = false;  // after the first term y is our own tensor; keep later sums plain
        }
        break;
      }
      case Op::MaxPool:
        y = at::max_pool2d(x, {node.kh, node.kw}, {node.sh, node.sw}, {node.ph, node.pw});
        if (node.inputs[0] > 0 && reluAfterPool_[node.inputs[0] - 1]) y = at::relu_(y);  // the deferred ReLU
        break;
      case Op::AvgPool:
        y = at::avg_pool2d(x, {node.kh, node.kw}, {node.sh, node.sw}, {node.ph, node.pw}, false, false);
        break;
      case Op::GlobalAvgPool:
        y = train ? globalAvgPool(x) : x.mean({2, 3});
        break;
      case Op::Dense:
        y = at::linear(x.dim() > 2 ? x.flatten(1) : x, weight_[i], bias_[i]);
        break;
      case Op::Zero:
        y = at::zeros_like(x);
        break;
      case Op::Dropout:
        if (train && node.rate > 0) {
          // The mask is drawn on the CPU from the run's generator, also for a GPU: the same seed gives the same mask.
          auto mask = at::empty_like(x, x.options().device(torch::kCPU)).bernoulli_(1.0 - node.rate, *gen);
          if (!x.device().is_cpu()) mask = mask.to(x.device());
          y = x * mask.div_(1.0 - node.rate);
        } else {
          y = x;
        }
        break;
    }
    vals[i + 1] = y;
    for (int v : node.inputs) {
      if (lastUse_[v] == static_cast<int>(i) && v != 0) vals[v].reset();
    }
  }
  return vals.back();
}

}  // namespace evonas
