#include <stdexcept>
#include <string>

#include "backend/vision.h"

namespace ms4 {

VisionLayout visionLayout(const VisionInputs& in) {
    auto fail = [](const std::string& why) { throw std::runtime_error("vision pass: " + why); };
    if (in.numImages < 1) fail("no images");
    if (in.patchRows == nullptr || in.patchCols == nullptr) fail("the patch grids are missing");
    if (in.channels < 1 || in.patchSize < 1 || in.merge < 1) fail("channels, patch size and merge must be positive");
    VisionLayout l;
    l.channels = in.channels;
    l.patchSize = in.patchSize;
    l.merge = in.merge;
    l.imageStart.push_back(0);
    l.tokenStart.push_back(0);
    int64_t patches = 0, tokens = 0;
    for (int i = 0; i < in.numImages; ++i) {
        const int r = in.patchRows[i], c = in.patchCols[i];
        if (r < 1 || c < 1) fail("image " + std::to_string(i) + " has an empty patch grid");
        if (r % in.merge != 0 || c % in.merge != 0) {
            fail("image " + std::to_string(i) + ": its " + std::to_string(r) + " x " + std::to_string(c) +
                 " patch grid is not divisible by the merge size " + std::to_string(in.merge));
        }
        patches += static_cast<int64_t>(r) * c;
        tokens += static_cast<int64_t>(r / in.merge) * (c / in.merge);
        if (patches > (1 << 24)) fail("more than 2^24 patches in one pass");
        l.rows.push_back(r);
        l.cols.push_back(c);
        l.imageStart.push_back(static_cast<int>(patches));
        l.tokenStart.push_back(static_cast<int>(tokens));
    }
    return l;
}

}  // namespace ms4
