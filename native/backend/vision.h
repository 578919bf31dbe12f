// One pass of the Pixtral vision encoder as the backend sees it (docs/model.md#vision-tower): the images' patch
// grids. The encoder (model/pixtral.cc) hands VisionInputs to Backend::beginVision once per pass; the vision ops then
// take the VisionContext it returns, which knows where each image's patches start and each patch's grid row and
// column (a GPU backend would upload them once).
#pragma once
#include <cstdint>
#include <vector>

namespace ms4 {

// Host arrays of one pass, owned by the caller. Image i has patchRows[i] × patchCols[i] patches of
// patchSize × patchSize pixels; the pass holds the images' patches one image after another, row-major within an
// image. Patches of different images never attend to each other. `merge` is the patch merger's block side (1 when
// there is none): it must divide every image's rows and columns.
struct VisionInputs {
    int numImages = 0;
    const int32_t* patchRows = nullptr;  // [numImages]
    const int32_t* patchCols = nullptr;  // [numImages]
    int channels = 0;
    int patchSize = 0;
    int merge = 1;
};

// A pass's images in the backend's own form; the encoder reads the counts.
class VisionContext {
   public:
    VisionContext(int numImages, int numPatches, int numTokens, int channels, int patchSize, int merge)
        : numImages(numImages),
          numPatches(numPatches),
          numTokens(numTokens),
          channels(channels),
          patchSize(patchSize),
          merge(merge) {}
    virtual ~VisionContext() = default;
    VisionContext(const VisionContext&) = delete;
    VisionContext& operator=(const VisionContext&) = delete;

    const int numImages;
    const int numPatches;  // Σ rows · cols
    const int numTokens;   // Σ (rows / merge) · (cols / merge): the merged features
    const int channels;
    const int patchSize;
    const int merge;
};

// 2-D RoPE of the vision attention (docs/model.md#2-d-rope): pair i of a head rotates by row · rowFreq[i] for
// i < rowFreq.size(), then by col · colFreq[i − rowFreq.size()].
struct Rope2dParams {
    std::vector<double> rowFreq;
    std::vector<double> colFreq;
};

// The patch grid of every image and where its patches and merged tokens start, derived from VisionInputs: what
// reference ops and backends index by.
struct VisionLayout {
    int channels = 0, patchSize = 0, merge = 1;
    std::vector<int> rows, cols;  // [numImages] patch grid of each image
    std::vector<int> imageStart;  // [numImages + 1] first patch of each image, then the total
    std::vector<int> tokenStart;  // [numImages + 1] first merged token of each image, then the total
    int numImages() const { return static_cast<int>(rows.size()); }
    int numPatches() const { return imageStart.back(); }
    int numTokens() const { return tokenStart.back(); }
};

// Checks `in` (at least one image, positive sizes, merge dividing every side, totals within int) and lays it out;
// throws std::runtime_error naming what is wrong.
VisionLayout visionLayout(const VisionInputs& in);

}  // namespace ms4
