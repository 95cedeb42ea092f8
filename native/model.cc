#include "model.h"

#include "fused.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/version.h>

#if TORCH_VERSION_MAJOR < 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR < 4)
#error "evonas needs libtorch 2.4 or later (scripts/setup.sh installs PyTorch 2.13); see the README"
#endif

#include <algorithm>
#include <chrono>
#include <cmath>
#include <sstream>
#include <stdexcept>

namespace evonas {

uint64_t splitmix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

at::Generator makeGenerator(uint64_t seed) { return at::make_generator<at::CPUGeneratorImpl>(seed); }

// bf16 autocast on the run's device (libtorch >= 2.4's per-device-type API).
void setAutocast(const torch::Device& device, bool on) {
  const auto type = device.is_cuda() ? at::kCUDA : at::kCPU;
  at::autocast::set_autocast_enabled(type, on);
  if (on) at::autocast::set_autocast_dtype(type, at::kBFloat16);
}

RunScope::RunScope(const Options& o) : autocast_(o.bf16), device_(o.device) {
  // set_num_threads also rebuilds libtorch's pthreadpool and clears oneDNN's
  // primitive cache, so it is called only when the count changes.
  const int threads = std::max(1, o.threads);
  if (at::get_num_threads() != threads) at::set_num_threads(threads);
  if (autocast_) setAutocast(device_, true);
}

RunScope::~RunScope() {
  if (autocast_) {
    at::autocast::clear_cache();
    setAutocast(device_, false);
  }
}

Model::Model(std::vector<Node> nodes, int64_t inC, int64_t inH, int64_t inW, int64_t classes, Options options)
    : nodes_(std::move(nodes)), inC_(inC), inH_(inH), inW_(inW), classes_(classes), options_(options) {
  torch::NoGradGuard noGrad;
  const auto n = nodes_.size();
  weight_.resize(n);
  bias_.resize(n);
  runMean_.resize(n);
  runVar_.resize(n);
  lastUse_.assign(n + 1, -1);
  std::vector<int> uses(n + 1, 0);
  std::vector<int64_t> channels(n + 1, 0);
  channels[0] = inC_;
  for (size_t i = 0; i < n; ++i) {
    const Node& node = nodes_[i];
    if (node.inputs.empty()) throw std::invalid_argument("node " + node.id + " has no inputs");
    for (int v : node.inputs) {
      if (v < 0 || static_cast<size_t>(v) > i) throw std::invalid_argument("node " + node.id + " reads a later value");
      lastUse_[v] = static_cast<int>(i);
      uses[v]++;
    }
    channels[i + 1] = node.c;
    createTensors(i, channels[node.inputs[0]]);
  }
  planFusion(uses);
  if (options_.channelsLast) {
    for (size_t i = 0; i < n; ++i) {
      if (nodes_[i].op == Op::Conv) weight_[i].set_data(weight_[i].contiguous(at::MemoryFormat::ChannelsLast));
    }
  }
  if (options_.device != torch::kCPU) {
    for (auto& [name, t] : params_) t.set_data(t.to(options_.device));
    for (auto& [name, t] : buffers_) t.set_data(t.to(options_.device));
  }
  for (auto& [name, t] : params_) t.set_requires_grad(true);
  momentum_.resize(params_.size());
  const char* tensorBatches = std::getenv("EVONAS_DEVICE_BATCHES");
  deviceBatches_ = !options_.device.is_cpu() || (tensorBatches && std::string(tensorBatches) == "1");
}

// Which nodes may work in place or fuse with a neighbour, from who reads what
// (`uses[v]`: how many nodes read value v; value 0 is the input).
void Model::planFusion(const std::vector<int>& uses) {
  const auto n = nodes_.size();
  inplaceRelu_.assign(n, false);
  reluAfter_.assign(n, false);
  addReluAfter_.assign(n, false);
  inplaceAdd_.assign(n, false);
  reluAfterPool_.assign(n, false);
  // ReLU may overwrite its input when nothing else reads it and the producer's
  // backward does not need its own output (ReLU's does).
  for (size_t i = 0; i < n; ++i) {
    const Node& node = nodes_[i];
    if (node.op != Op::Relu) continue;
    const int v = node.inputs[0];
    if (v == 0 || uses[v] != 1) continue;
    const Op producer = nodes_[v - 1].op;
    inplaceRelu_[i] = producer == Op::Conv || producer == Op::BatchNorm || producer == Op::Add;
    if (producer == Op::BatchNorm) reluAfter_[v - 1] = true;
  }
  // An add may sum into its primary input when nothing else reads it and its
  // producer's backward does not need it (conv and batch norm keep their inputs;
  // a fused batch norm + ReLU keeps its output, so a ReLU producer is excluded).
  for (size_t i = 0; i < n; ++i) {
    const Node& node = nodes_[i];
    if (node.op != Op::Add) continue;
    const int v = node.inputs[0];
    if (v == 0 || uses[v] != 1) continue;
    const Op producer = nodes_[v - 1].op;
    inplaceAdd_[i] = producer == Op::Conv || producer == Op::Add || (producer == Op::BatchNorm && !reluAfter_[v - 1]);
  }
  // maxpool(relu(x)) == relu(maxpool(x)) exactly (max and ReLU are both
  // monotone), and the right side applies ReLU to the pooled, smaller tensor.
  std::vector<int> reader(n + 1, -1);
  for (size_t i = 0; i < n; ++i) {
    for (int v : nodes_[i].inputs) reader[v] = static_cast<int>(i);
  }
  for (size_t i = 0; i < n; ++i) {
    if (nodes_[i].op != Op::Relu || uses[i + 1] != 1 || reader[i + 1] < 0) continue;
    const int v = nodes_[i].inputs[0];
    const bool fusedWithBatchNorm = v > 0 && nodes_[v - 1].op == Op::BatchNorm && reluAfter_[v - 1];
    if (nodes_[reader[i + 1]].op == Op::MaxPool && !fusedWithBatchNorm) reluAfterPool_[i] = true;
  }
  // batch norm -> add (as its primary) -> ReLU, each read only by the next: one fused op (a residual block's end).
  for (size_t i = 0; i < n; ++i) {
    const Node& node = nodes_[i];
    if (node.op != Op::Relu || node.inputs[0] == 0 || uses[node.inputs[0]] != 1) continue;
    const Node& add = nodes_[node.inputs[0] - 1];
    if (add.op != Op::Add || add.inputs[0] == 0 || uses[add.inputs[0]] != 1) continue;
    if (nodes_[add.inputs[0] - 1].op == Op::BatchNorm) addReluAfter_[add.inputs[0] - 1] = true;
  }
}

void Model::addParam(const std::string& name, torch::Tensor t, bool trainable) {
  if (byName_.count(name)) throw std::invalid_argument("duplicate tensor name " + name);
  byName_[name] = t;
  (trainable ? params_ : buffers_).emplace_back(name, t);
}

torch::Tensor Model::resolve(torch::Tensor t, const Node& add) const {
  if (t.size(2) != add.h || t.size(3) != add.w) t = at::upsample_nearest2d(t, {add.h, add.w});
  const int64_t c = t.size(1);
  if (c > add.c) t = t.narrow(1, 0, add.c);
  if (c < add.c) t = at::constant_pad_nd(t, {0, 0, 0, 0, 0, add.c - c});
  return t;
}

const Data::OnDevice& Data::on(const torch::Device& device) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = copies_.find(device.str());
  if (it == copies_.end()) {
    OnDevice d{device.is_cpu() ? images : images.to(device), device.is_cpu() ? labels : labels.to(device)};
    it = copies_.emplace(device.str(), std::move(d)).first;
  }
  return it->second;
}

Model::Batch Model::makeBatch(const Data& data, const std::vector<int64_t>& index, bool augment, int64_t pad,
                              std::mt19937_64* rng, bool labels) const {
  const int64_t n = static_cast<int64_t>(index.size());
  std::vector<int64_t> dy(n, 0), dx(n, 0);
  std::vector<char> flip(n, 0);
  if (augment) {
    std::uniform_int_distribution<int64_t> shift(-pad, pad);
    std::bernoulli_distribution coin(0.5);
    for (int64_t b = 0; b < n; ++b) {
      dy[b] = shift(*rng);
      dx[b] = shift(*rng);
      flip[b] = coin(*rng);
    }
  }
  auto host = torch::from_blob(const_cast<int64_t*>(index.data()), {n}, torch::kLong);
  Batch batch;
  if (!deviceBatches_) {
    batch.x = hostBatch(data, index, dy, dx, flip);
    if (labels) batch.y = data.labels.index_select(0, host);
    return batch;
  }
  const auto idx = host.to(options_.device);  // a synchronous copy: `index` may change after this returns
  batch.x = deviceBatch(data, idx, dy, dx, flip, augment ? pad : 0);
  if (labels) batch.y = data.on(options_.device).labels.index_select(0, idx);
  return batch;
}

torch::Tensor Model::hostBatch(const Data& data, const std::vector<int64_t>& index, const std::vector<int64_t>& dy,
                               const std::vector<int64_t>& dx, const std::vector<char>& flip) const {
  const int64_t n = static_cast<int64_t>(index.size()), H = data.h, W = data.w, C = data.c;
  const auto fmt = options_.channelsLast ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
  auto out =
      torch::empty({n, C, H, W}, torch::dtype(options_.fp64 ? torch::kDouble : torch::kFloat).memory_format(fmt));
  std::vector<double> scale(C), offset(C);
  for (int64_t c = 0; c < C; ++c) {
    scale[c] = 1.0 / (255.0 * data.std[c]);
    offset[c] = -data.mean[c] / data.std[c];
  }
  const uint8_t* src = data.images.data_ptr<uint8_t>();
  // Strides of the output in memory, whichever layout it has.
  const int64_t sN = out.stride(0), sC = out.stride(1), sH = out.stride(2), sW = out.stride(3);
  auto fill = [&](auto* dst) {
    using T = std::remove_pointer_t<decltype(dst)>;
    at::parallel_for(0, n, 1, [&](int64_t begin, int64_t end) {
      for (int64_t b = begin; b < end; ++b) {
        const uint8_t* img = src + index[b] * H * W * C;
        T* o = dst + b * sN;
        for (int64_t y = 0; y < H; ++y) {
          const int64_t sy = y + dy[b];
          for (int64_t x = 0; x < W; ++x) {
            const int64_t sx = (flip[b] ? W - 1 - x : x) + dx[b];
            T* p = o + y * sH + x * sW;
            if (sy < 0 || sy >= H || sx < 0 || sx >= W) {  // zero padding, in standardized units
              for (int64_t c = 0; c < C; ++c) p[c * sC] = T(0);
            } else {
              const uint8_t* s = img + (sy * W + sx) * C;
              for (int64_t c = 0; c < C; ++c) p[c * sC] = static_cast<T>(s[c] * scale[c] + offset[c]);
            }
          }
        }
      }
    });
  };
  if (options_.fp64)
    fill(out.data_ptr<double>());
  else
    fill(out.data_ptr<float>());
  return out;
}

torch::Tensor Model::deviceBatch(const Data& data, const torch::Tensor& index, const std::vector<int64_t>& dy,
                                 const std::vector<int64_t>& dx, const std::vector<char>& flip, int64_t pad) const {
  const int64_t n = index.size(0), H = data.h, W = data.w, C = data.c;
  const auto device = index.device();
  const auto longs = torch::TensorOptions().dtype(torch::kLong).device(device);
  std::vector<double> scale(C), offset(C);
  for (int64_t c = 0; c < C; ++c) {
    scale[c] = 1.0 / (255.0 * data.std[c]);
    offset[c] = -data.mean[c] / data.std[c];
  }
  auto perChannel = [&](std::vector<double>& v) { return torch::tensor(v, torch::kDouble).to(device); };
  // [n,H,W,C], standardized in double and rounded once, as hostBatch does.
  auto x = data.on(device)
               .images.index_select(0, index)
               .to(torch::kDouble)
               .mul_(perChannel(scale))
               .add_(perChannel(offset))
               .to(options_.fp64 ? torch::kDouble : torch::kFloat);
  if (pad > 0) {
    // Output pixel (y, x) of image b reads padded pixel (y + dy + pad, x' + dx + pad), x' flipped or not.
    x = at::constant_pad_nd(x, {0, 0, pad, pad, pad, pad});  // zero, in standardized units
    std::vector<int64_t> rows(n * H), cols(n * W);
    for (int64_t b = 0; b < n; ++b) {
      for (int64_t y = 0; y < H; ++y) rows[b * H + y] = y + dy[b] + pad;
      for (int64_t i = 0; i < W; ++i) cols[b * W + i] = (flip[b] ? W - 1 - i : i) + dx[b] + pad;
    }
    auto r = torch::tensor(rows, torch::kLong).to(device).view({n, H, 1});
    auto c = torch::tensor(cols, torch::kLong).to(device).view({n, 1, W});
    x = x.index({torch::arange(n, longs).view({n, 1, 1}), r, c});
  }
  x = x.permute({0, 3, 1, 2});  // NCHW sizes over channels-last memory
  return options_.channelsLast ? x.contiguous(at::MemoryFormat::ChannelsLast) : x.contiguous();
}

void Model::checkData(const Data& data, bool needLabels) const {
  if (data.c != inC_ || data.h != inH_ || data.w != inW_) {
    std::ostringstream m;
    m << "Expected images of " << inH_ << "x" << inW_ << "x" << inC_ << " for this network but received " << data.h
      << "x" << data.w << "x" << data.c;
    throw std::invalid_argument(m.str());
  }
  if (needLabels && data.maxLabel >= classes_) {
    std::ostringstream m;
    m << "Expected labels below " << classes_ << " for this network but the dataset holds label " << data.maxLabel;
    throw std::out_of_range(m.str());
  }
}

void Model::sgdStep(double lr, double momentum, double weightDecay) {
  // PyTorch's SGD: d = g + wd*p; buf = m*buf + d (buf = d at first); p -= lr*buf.
  torch::NoGradGuard noGrad;
  for (size_t k = 0; k < params_.size(); ++k) {
    torch::Tensor& p = params_[k].second;
    torch::Tensor g = p.grad();
    if (!g.defined()) continue;
    if (sgdUpdate(p, g, momentum_[k], lr, momentum, weightDecay)) continue;
    if (weightDecay != 0) g = g.add(p, weightDecay);
    if (momentum != 0) {
      if (!momentum_[k].defined())
        momentum_[k] = g.clone();
      else
        momentum_[k].mul_(momentum).add_(g);
      g = momentum_[k];
    }
    p.add_(g, -lr);
  }
}

TrainResult Model::train(const Data& data, const TrainSpec& spec,
                         const std::function<void(const Progress&)>& onProgress) {
  checkData(data, true);
  if (data.n == 0) throw std::invalid_argument("cannot train on an empty dataset");
  const auto start = std::chrono::steady_clock::now();
  RunScope scope(options_);
  const int64_t batch = std::min<int64_t>(spec.batchSize, data.n);
  // Augmentation and dropout draw from streams of their own, per chunk.
  std::mt19937_64 rng(splitmix(spec.seed ^ splitmix(static_cast<uint64_t>(spec.startStep))));
  at::Generator dropoutGen = makeGenerator(splitmix(spec.seed ^ 0x5eedULL ^ static_cast<uint64_t>(spec.startStep)));
  std::vector<int64_t> order(data.n);
  auto permute = [&](int64_t epoch) {  // epoch e's order: a function of the seed and e alone
    for (int64_t i = 0; i < data.n; ++i) order[i] = i;
    std::mt19937_64 r(splitmix(spec.seed ^ splitmix(0xe90c4ULL + static_cast<uint64_t>(epoch))));
    std::shuffle(order.begin(), order.end(), r);
  };
  const int64_t drawn = spec.startStep * batch;  // images the earlier chunks took
  int64_t epoch = drawn / data.n;
  int64_t cursor = drawn % data.n;
  permute(epoch);
  std::vector<int64_t> index(batch);
  TrainResult result;
  double windowLoss = 0, windowCorrect = 0;
  int64_t windowSteps = 0;
  // EVONAS_PROFILE=<file.json>: a Chrome trace of this run's operators, for performance work.
  std::unique_ptr<torch::autograd::profiler::RecordProfile> profile;
  if (const char* path = std::getenv("EVONAS_PROFILE"))
    profile = std::make_unique<torch::autograd::profiler::RecordProfile>(path);
  for (int64_t step = 0; step < spec.steps; ++step) {
    if (cancel.load()) {
      result.cancelled = true;
      break;
    }
    for (int64_t b = 0; b < batch; ++b) {
      if (cursor == data.n) {  // a new epoch: its own permutation
        permute(++epoch);
        cursor = 0;
      }
      index[b] = order[cursor++];
    }
    auto [x, y] = makeBatch(data, index, spec.augment, spec.pad, &rng, true);
    auto logits = forward(x, true, &dropoutGen);
    logits = logits.to(logits.dtype() == torch::kDouble ? torch::kDouble : torch::kFloat);
    auto loss = crossEntropy(logits, y);
    for (auto& [name, p] : params_) p.mutable_grad().reset();
    loss.backward();
    if (options_.bf16) at::autocast::clear_cache();
    const double lv = loss.item<double>();
    if (!std::isfinite(lv)) {
      result.ok = false;
      std::ostringstream m;
      m << "non-finite loss (" << lv << ") at step " << step + 1;
      result.failure = m.str();
      result.steps = step;
      break;
    }
    sgdStep(spec.learningRate, spec.momentum, spec.weightDecay);
    windowLoss += lv;
    windowCorrect += static_cast<double>(countCorrect(logits.detach(), y)) / static_cast<double>(batch);
    windowSteps++;
    result.steps = step + 1;
    const bool last = step + 1 == spec.steps;
    if ((spec.progressEvery > 0 && (step + 1) % spec.progressEvery == 0) || last) {
      result.loss = windowLoss / windowSteps;
      result.accuracy = windowCorrect / windowSteps;
      if (onProgress) onProgress(Progress{step + 1, result.loss, result.accuracy});
      if (!last) windowLoss = windowCorrect = 0, windowSteps = 0;
    }
  }
  if (windowSteps > 0 && result.ok) {
    result.loss = windowLoss / windowSteps;
    result.accuracy = windowCorrect / windowSteps;
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

EvalResult Model::evaluate(const Data& data, int64_t batchSize) {
  checkData(data, true);
  RunScope scope(options_);
  c10::InferenceMode inference;
  EvalResult r;
  std::vector<int64_t> index;
  for (int64_t begin = 0; begin < data.n; begin += batchSize) {
    const int64_t end = std::min(data.n, begin + batchSize);
    index.resize(end - begin);
    for (int64_t i = begin; i < end; ++i) index[i - begin] = i;
    auto [x, y] = makeBatch(data, index, false, 0, nullptr, true);
    auto logits = forward(x, false, nullptr).to(options_.fp64 ? torch::kDouble : torch::kFloat);
    if (options_.bf16) at::autocast::clear_cache();
    r.lossSum += at::cross_entropy_loss(logits, y, {}, at::Reduction::Sum).item<double>();
    r.correct += countCorrect(logits, y);
    r.count += end - begin;
  }
  return r;
}

torch::Tensor Model::predict(const Data& data, int64_t batchSize) {
  checkData(data, false);
  RunScope scope(options_);
  c10::InferenceMode inference;
  auto out = torch::empty({data.n, classes_}, torch::kFloat);
  std::vector<int64_t> index;
  for (int64_t begin = 0; begin < data.n; begin += batchSize) {
    const int64_t end = std::min(data.n, begin + batchSize);
    index.resize(end - begin);
    for (int64_t i = begin; i < end; ++i) index[i - begin] = i;
    auto logits = forward(makeBatch(data, index, false, 0, nullptr, false).x, false, nullptr);
    if (options_.bf16) at::autocast::clear_cache();
    out.slice(0, begin, end).copy_(logits.to(torch::kCPU, torch::kFloat));
  }
  return out;
}

std::pair<double, std::vector<std::pair<std::string, torch::Tensor>>> Model::gradients(const Data& data,
                                                                                       uint64_t seed) {
  checkData(data, true);
  RunScope scope(options_);
  std::vector<int64_t> index(data.n);
  for (int64_t i = 0; i < data.n; ++i) index[i] = i;
  at::Generator gen = makeGenerator(splitmix(seed));
  // Batch-norm running statistics are left as they were: a gradient query is not training.
  std::vector<torch::Tensor> saved;
  for (auto& [name, b] : buffers_) saved.push_back(b.clone());
  auto [x, y] = makeBatch(data, index, false, 0, nullptr, true);
  auto logits = forward(x, true, &gen);
  auto loss = crossEntropy(logits, y);
  for (auto& [name, p] : params_) p.mutable_grad().reset();
  loss.backward();
  {
    torch::NoGradGuard noGrad;
    for (size_t k = 0; k < buffers_.size(); ++k) buffers_[k].second.copy_(saved[k]);
  }
  std::vector<std::pair<std::string, torch::Tensor>> grads;
  for (auto& [name, p] : params_) {
    auto g = p.grad();
    grads.emplace_back(name, g.defined() ? g.to(torch::kCPU).contiguous() : torch::zeros_like(p).contiguous());
  }
  return {loss.item<double>(), grads};
}

std::vector<std::pair<std::string, torch::Tensor>> Model::namedTensors() const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto* list : {&params_, &buffers_}) {
    for (const auto& [name, t] : *list) out.emplace_back(name, t.detach().to(torch::kCPU).contiguous());
  }
  return out;
}

std::string Model::setTensor(const std::string& name, const torch::Tensor& value) {
  auto it = byName_.find(name);
  if (it == byName_.end()) return "missing";
  if (it->second.sizes() != value.sizes()) return "shape";
  torch::NoGradGuard noGrad;
  it->second.copy_(value);
  // Momentum belongs to the old weights; a loaded tensor starts afresh.
  for (size_t k = 0; k < params_.size(); ++k) {
    if (params_[k].first == name) momentum_[k] = torch::Tensor();
  }
  return "";
}

}  // namespace evonas
