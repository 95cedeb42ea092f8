#include "allocator.h"

#include <c10/core/Allocator.h>
#include <c10/core/impl/alloc_cpu.h>

#include <cstdlib>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace evonas {
namespace {

// Rounds up to a multiple of 1/8 of the size's power of two: at most 12.5% waste.
size_t bucket(size_t n) {
  if (n <= 512) return 512;
  size_t p = 1;
  while (p < n) p <<= 1;
  const size_t step = p / 8;
  return (n + step - 1) / step * step;
}

class CachingAllocator final : public c10::Allocator {
 public:
  c10::DataPtr allocate(size_t n) override {
    const size_t size = bucket(n);
    void* p = nullptr;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = free_.find(size);
      if (it != free_.end() && !it->second.empty()) {
        p = it->second.back();
        it->second.pop_back();
        cached_ -= size;
      }
    }
    if (!p) p = c10::alloc_cpu(size);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      live_[p] = size;
    }
    return {p, p, &CachingAllocator::release, c10::Device(c10::DeviceType::CPU)};
  }

  c10::DeleterFnPtr raw_deleter() const override { return &CachingAllocator::release; }

  // Tensor::clone() of a CPU tensor copies through its allocator (libtorch 2).
  void copy_data(void* dest, const void* src, std::size_t count) const override { default_copy_data(dest, src, count); }

  static CachingAllocator& instance() {
    static CachingAllocator* a = new CachingAllocator();  // never destroyed: tensors may die after statics
    return *a;
  }

  void clear() {
    std::vector<void*> drop;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (auto& [size, list] : free_) drop.insert(drop.end(), list.begin(), list.end());
      free_.clear();
      cached_ = 0;
    }
    for (void* p : drop) c10::free_cpu(p);
  }

  size_t cached() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return cached_;
  }

 private:
  static void release(void* p) {
    if (!p) return;
    auto& self = instance();
    std::lock_guard<std::mutex> lock(self.mutex_);
    auto it = self.live_.find(p);
    if (it == self.live_.end()) {  // not ours (cannot happen for our DataPtrs); free it plainly
      c10::free_cpu(p);
      return;
    }
    const size_t size = it->second;
    self.live_.erase(it);
    self.free_[size].push_back(p);
    self.cached_ += size;
  }

  mutable std::mutex mutex_;
  std::unordered_map<size_t, std::vector<void*>> free_;
  std::unordered_map<void*, size_t> live_;
  size_t cached_ = 0;
};

}  // namespace

void installCachingAllocator() {
  static bool done = false;
  if (done) return;
  done = true;
  const char* v = std::getenv("EVONAS_CACHING_ALLOCATOR");  // =0 keeps libtorch's own, for comparisons
  if (v && std::string(v) == "0") return;
  c10::SetAllocator(c10::DeviceType::CPU, &CachingAllocator::instance(), /*priority=*/1);
}

void releaseCachedBlocks() { CachingAllocator::instance().clear(); }

size_t cachedBytes() { return CachingAllocator::instance().cached(); }

}  // namespace evonas
