// Image grids drawn as pixels: test samples with true and predicted classes (wrong ones framed in
// red), the highest-loss test images, and dataset samples for `dltrain show`. Internal to the
// report module.
#pragma once

#include <string>
#include <vector>

#include "dltrain/train.hpp"
#include "report/figure.hpp"

namespace dltrain::report {

// grid x grid test images spread evenly over the evaluated set.
Raster samples_grid(const TestEvaluation& ev, const std::vector<std::string>& labels, int64_t grid, const Font& font);
// The `n` test images whose true class got the lowest probability.
Raster worst_grid(const TestEvaluation& ev, const std::vector<std::string>& labels, int64_t n, const Font& font);

// Tile geometry, shared with tests: each tile is tile_w x tile_h pixels, the image in its top
// image_px x image_px, the caption lines below it.
constexpr int tile_w = 120, image_px = 96, caption_line = 15, tile_pad = 6;
inline int tile_h(int lines) { return tile_pad + image_px + 4 + caption_line * lines + tile_pad; }

}  // namespace dltrain::report
