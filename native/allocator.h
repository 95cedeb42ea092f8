// A caching CPU allocator for libtorch. A training step frees and reallocates
// the same activation buffers every step; on a non-main thread glibc hands
// large blocks back to the system and page-faults them in again, which cost
// 13-19% of a ResNet-20 step. Freed blocks are kept by size and reused.
#pragma once

#include <cstddef>

namespace evonas {

// Installs the allocator for kCPU (once per process).
void installCachingAllocator();
// Frees every cached block; called at the end of each run so the cache never
// holds more than one run's working set.
void releaseCachedBlocks();
// Bytes held in the cache now.
size_t cachedBytes();

}  // namespace evonas
