// The paged MLA latent cache: per layer, numBlocks blocks of blockSize slots, each slot holding the normalised
// latent (L values) followed by the roped key (R values). Slot s of the pool is block s / blockSize, offset
// s % blockSize. Backends own the memory.
#pragma once
#include <cstddef>
#include <cstdint>

namespace ms4 {

enum class KvDtype : int { F32 = 0, BF16 = 1 };

struct KvCacheShape {
    int layers = 0;
    int numBlocks = 0;
    int blockSize = 0;
    int latent = 0;  // L
    int rope = 0;    // R
    KvDtype dtype = KvDtype::BF16;

    int width() const { return latent + rope; }
    size_t bytesPerValue() const { return dtype == KvDtype::F32 ? 4 : 2; }
    size_t bytes() const { return static_cast<size_t>(layers) * numBlocks * blockSize * width() * bytesPerValue(); }
};

class KvCache {
   public:
    explicit KvCache(const KvCacheShape& s) : shape(s) {}
    virtual ~KvCache() = default;
    const KvCacheShape shape;
};

}  // namespace ms4
