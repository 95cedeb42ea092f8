// The network a NetIR describes, built on libtorch, with its parameters named
// from node ids so that weights can move between networks by name and shape.
#pragma once

#include <torch/torch.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "conv.h"

namespace evonas {

enum class Op { Conv, BatchNorm, Relu, Add, MaxPool, AvgPool, GlobalAvgPool, Dense, Dropout, Zero };

// One node, already validated and shape-inferred by TypeScript. Value index 0 is
// the image input; node k produces value k + 1.
struct Node {
  std::string id;
  Op op = Op::Relu;
  std::vector<int> inputs;
  int64_t c = 0, h = 0, w = 0;  // output shape; h = w = 0 for a flat output
  // Set from JavaScript for the ops that have them (src/net/ops.ts owns the defaults); neutral otherwise.
  int64_t kh = 1, kw = 1, sh = 1, sw = 1, ph = 0, pw = 0;
  int64_t inFeatures = 0;  // dense: flattened input size
  bool bias = false;
  double eps = 0, momentum = 0, rate = 0;
};

struct Options {
  int threads = 1;
  bool bf16 = false;  // CPU autocast to bfloat16
  bool fp64 = false;  // double precision, for gradient checks
  bool channelsLast = true;
  uint64_t seed = 0;
  torch::Device device = torch::kCPU;
};

// A dataset held once in native memory: uint8 images [N,H,W,C] and int64 labels.
struct Data {
  torch::Tensor images;
  torch::Tensor labels;
  int64_t n = 0, h = 0, w = 0, c = 0;
  int64_t maxLabel = -1;
  std::vector<double> mean, std;  // per channel, in units of pixel/255

  // Images and labels on `device`, copied there once, on first use: a GPU
  // samples and augments its batches from its own copy (the CPU's is this one).
  struct OnDevice {
    torch::Tensor images, labels;
  };
  const OnDevice& on(const torch::Device& device) const;

 private:
  mutable std::mutex mutex_;
  mutable std::map<std::string, OnDevice> copies_;
};

// Every field is set from JavaScript (src/engine/net.ts owns the defaults).
struct TrainSpec {
  int64_t steps = 0;
  int64_t batchSize = 0;
  double learningRate = 0;
  double momentum = 0;
  double weightDecay = 0;
  bool augment = false;
  int64_t pad = 0;
  uint64_t seed = 0;
  // Steps of the same schedule (same seed and batch size) already run: the
  // batch order resumes there. Each epoch is one permutation of the data,
  // drawn from the seed and the epoch's number, so a run split into chunks
  // sees every image once per epoch, as one long run does.
  int64_t startStep = 0;
  int64_t progressEvery = 0;
};

struct TrainResult {
  bool ok = true;
  std::string failure;
  int64_t steps = 0;
  double loss = 0;      // mean over the last progress window
  double accuracy = 0;  // training-batch accuracy over the last window
  double seconds = 0;
  bool cancelled = false;
};

struct Progress {
  int64_t step = 0;
  double loss = 0;
  double accuracy = 0;
};

struct EvalResult {
  int64_t count = 0;
  int64_t correct = 0;
  double lossSum = 0;
};

class Model {
 public:
  Model(std::vector<Node> nodes, int64_t inC, int64_t inH, int64_t inW, int64_t classes, Options options);

  // Runs the network; `gen` drives dropout masks in training mode.
  torch::Tensor forward(const torch::Tensor& input, bool train, at::Generator* gen);

  // Standardized (and, when asked, augmented) float batch from uint8 images,
  // on the run's device, with its labels there (undefined when not asked for).
  struct Batch {
    torch::Tensor x, y;
  };
  Batch makeBatch(const Data& data, const std::vector<int64_t>& index, bool augment, int64_t pad, std::mt19937_64* rng,
                  bool labels) const;

  TrainResult train(const Data& data, const TrainSpec& spec, const std::function<void(const Progress&)>& onProgress);
  EvalResult evaluate(const Data& data, int64_t batchSize);
  torch::Tensor predict(const Data& data, int64_t batchSize);
  // Loss and gradients on the whole dataset, unaugmented, in training mode.
  std::pair<double, std::vector<std::pair<std::string, torch::Tensor>>> gradients(const Data& data, uint64_t seed);

  // Parameters then buffers, in node order, as contiguous CPU tensors.
  std::vector<std::pair<std::string, torch::Tensor>> namedTensors() const;
  // Copies `value` into the tensor called `name`; "" when done, else why not ("missing" or "shape").
  std::string setTensor(const std::string& name, const torch::Tensor& value);

  const Options& options() const { return options_; }
  int64_t classes() const { return classes_; }
  int64_t inputChannels() const { return inC_; }
  int64_t inputHeight() const { return inH_; }
  int64_t inputWidth() const { return inW_; }

  std::atomic<bool> cancel{false};

 private:
  void addParam(const std::string& name, torch::Tensor t, bool trainable);
  void createTensors(size_t i, int64_t inputChannels);
  void planFusion(const std::vector<int>& uses);
  void sgdStep(double lr, double momentum, double weightDecay);
  void checkData(const Data& data, bool needLabels) const;
  // The same batch two ways: a parallel loop over host memory (the CPU's
  // path), or tensor ops on the device's copy of the data (a GPU's path;
  // EVONAS_DEVICE_BATCHES=1 takes it on the CPU, for tests). Both read the
  // shifts and flips drawn here, so they give the same numbers.
  torch::Tensor hostBatch(const Data& data, const std::vector<int64_t>& index, const std::vector<int64_t>& dy,
                          const std::vector<int64_t>& dx, const std::vector<char>& flip) const;
  torch::Tensor deviceBatch(const Data& data, const torch::Tensor& index, const std::vector<int64_t>& dy,
                            const std::vector<int64_t>& dx, const std::vector<char>& flip, int64_t pad) const;
  torch::Tensor resolve(torch::Tensor t, const Node& add) const;

  std::vector<Node> nodes_;
  int64_t inC_, inH_, inW_, classes_;
  Options options_;
  ConvChoice convChoice_ = convChoiceFromEnv();                 // EVONAS_CONV, read when the network is built
  std::vector<std::pair<std::string, torch::Tensor>> params_;   // trainable
  std::vector<std::pair<std::string, torch::Tensor>> buffers_;  // batch-norm running statistics
  std::unordered_map<std::string, torch::Tensor> byName_;
  std::vector<torch::Tensor> momentum_;
  // Per node: its trainable weight/bias and running stats (undefined when absent).
  std::vector<torch::Tensor> weight_, bias_, runMean_, runVar_;
  std::vector<int> lastUse_;  // last node index that reads each value
  std::vector<bool> inplaceRelu_;
  std::vector<bool> reluAfter_;      // batch norm whose only reader is a ReLU: fusable
  std::vector<bool> addReluAfter_;   // batch norm read only as the primary of an add read only by a ReLU
  std::vector<bool> inplaceAdd_;     // add that may accumulate into its primary input
  std::vector<bool> reluAfterPool_;  // ReLU read only by a max-pool: applied after the pool instead
  bool deviceBatches_ = false;       // batches made by tensor ops on the device (always on a GPU)
};

// A 64-bit mix (splitmix64's finalizer), for deriving seeds.
uint64_t splitmix(uint64_t x);
// A CPU generator for `seed`.
at::Generator makeGenerator(uint64_t seed);

// RAII: thread count and autocast are per-thread settings, so every native run
// sets them on the thread that runs it and restores them afterwards.
class RunScope {
 public:
  explicit RunScope(const Options& o);
  ~RunScope();

 private:
  bool autocast_;
  torch::Device device_;
};

}  // namespace evonas
